#!/bin/sh
# What `systemctl enable` does, done by hand so it also works in a chroot
# where systemd is not running: link the unit into multi-user.target.
set -eu
: "${SERVICE:?SERVICE must be set}" "${PORT:?PORT must be set}"
unit="/etc/systemd/system/${SERVICE}.service"

[ -f "$unit" ] || { echo "enable-service: ${unit} is missing" >&2; exit 1; }
grep -q "^User=${SERVICE}\$" "$unit" || {
    echo "enable-service: ${unit} must run as User=${SERVICE}" >&2
    exit 1
}
grep -q "^${SERVICE}:" /etc/passwd || { echo "enable-service: no user ${SERVICE}" >&2; exit 1; }

mkdir -p /etc/systemd/system/multi-user.target.wants /etc/default
ln -sf "../${SERVICE}.service" "/etc/systemd/system/multi-user.target.wants/${SERVICE}.service"
printf 'PORT=%s\n' "$PORT" >"/etc/default/${SERVICE}"
echo "enable-service: ${SERVICE} enabled on port ${PORT}"
