#!/bin/sh
# Reuse the storefront bundle from the web image, with the admin routes on.
set -eu
: "${SERVICE:?}" "${PORT:?}" "${ADMIN_ALLOWED_CIDR:?}"

# Built on //examples/apps/web: the bundle and its unit are already there.
[ -f /opt/web/server.js ] || { echo "install: no storefront bundle in /opt/web" >&2; exit 1; }
[ -f /etc/systemd/system/web.service ] || { echo "install: web.service missing" >&2; exit 1; }
# admin.service reads /opt/web through the web group.
grep -q '^web:' /etc/group || { echo "install: no group web" >&2; exit 1; }

# This host serves only the admin console.
rm -f /etc/systemd/system/multi-user.target.wants/web.service

mkdir -p /etc/admin
cat >/etc/admin/admin.env <<CONF
ADMIN_ROUTES=1
ADMIN_ALLOWED_CIDR=${ADMIN_ALLOWED_CIDR}
CONF
chmod 0640 /etc/admin/admin.env
chown "root:${SERVICE}" /etc/admin/admin.env
