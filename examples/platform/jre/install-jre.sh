#!/bin/sh
# Lay out a JRE in $JAVA_HOME. The examples install a stand-in `java`
# launcher instead of a real runtime, so a local bake takes seconds.
set -eu
: "${JAVA_VERSION:?}" "${JAVA_HOME:?}"

# Built on //examples/base: its marker must be there.
[ -f /etc/imgraph/base-release ] || { echo "install-jre: not an imgraph base image" >&2; exit 1; }

mkdir -p "$JAVA_HOME/bin" "$JAVA_HOME/lib/security" "$JAVA_HOME/conf"
cat >"$JAVA_HOME/release" <<CONF
JAVA_VERSION="${JAVA_VERSION}"
JAVA_RUNTIME_VERSION="${JAVA_VERSION}+7"
IMPLEMENTOR="imgraph examples"
CONF
printf 'securerandom.source=file:/dev/urandom\n' >"$JAVA_HOME/conf/security.properties"

cat >"$JAVA_HOME/bin/java" <<'LAUNCHER'
#!/bin/sh
# Stand-in java launcher: answers -version and checks -jar's file.
set -eu
. "$(dirname "$0")/../release"
case "${1:-}" in
-version | --version)
    echo "openjdk version \"${JAVA_VERSION}\"" >&2
    ;;
-jar)
    jar="${2:?java -jar: missing file}"
    [ -r "$jar" ] || { echo "Error: Unable to access jarfile $jar" >&2; exit 1; }
    echo "java: running $jar"
    ;;
*)
    echo "usage: java -version | java -jar FILE" >&2
    exit 2
    ;;
esac
LAUNCHER
chmod 0755 "$JAVA_HOME/bin/java"
ln -sf "$JAVA_HOME/bin/java" /usr/local/bin/java

"$JAVA_HOME/bin/java" -version
