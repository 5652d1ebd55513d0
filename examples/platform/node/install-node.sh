#!/bin/sh
# Lay out Node.js in $NODE_PREFIX. The examples install a stand-in `node`
# that can only report its version and check a script exists.
set -eu
: "${NODE_VERSION:?}" "${NODE_PREFIX:?}"

# Built on //examples/base: its marker must be there.
[ -f /etc/imgraph/base-release ] || { echo "install-node: not an imgraph base image" >&2; exit 1; }

mkdir -p "$NODE_PREFIX/bin" "$NODE_PREFIX/etc" "$NODE_PREFIX/lib/node_modules"
cat >"$NODE_PREFIX/bin/node" <<LAUNCHER
#!/bin/sh
# Stand-in node ${NODE_VERSION}: answers --version and checks its script.
set -eu
case "\${1:-}" in
--version | -v) echo "v${NODE_VERSION}" ;;
"") echo "node: no REPL in this image" >&2; exit 2 ;;
*)
    [ -r "\$1" ] || { echo "node: cannot find module '\$1'" >&2; exit 1; }
    echo "node: running \$1"
    ;;
esac
LAUNCHER
chmod 0755 "$NODE_PREFIX/bin/node"
ln -sf "$NODE_PREFIX/bin/node" /usr/local/bin/node
echo "install-node: node ${NODE_VERSION} in ${NODE_PREFIX}"
