#!/bin/sh
# Unpack the storefront bundle into /opt/web.
set -eu
: "${SERVICE:?}" "${PORT:?}" "${NODE_ENV:?}" "${IMGRAPH_ARTIFACT_APP:?}"

# Built on //examples/platform/node:node20.
[ -x /opt/node/bin/node ] || { echo "install: no node at /opt/node" >&2; exit 1; }

mkdir -p /opt/web
tar -xzf "$IMGRAPH_ARTIFACT_APP" -C /opt/web
[ -f /opt/web/server.js ] || { echo "install: bundle has no server.js" >&2; exit 1; }
/opt/node/bin/node /opt/web/server.js

printf 'NODE_ENV=%s\n' "$NODE_ENV" >/opt/web/.env
chown -R "${SERVICE}:${SERVICE}" /opt/web
