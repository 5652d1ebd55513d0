#!/bin/sh
# Create a system user with no login shell, owning USER_HOME.
# Writes the account files directly, so it runs the same on a BusyBox root
# (no shadow-utils) and on Amazon Linux (no adduser).
set -eu
: "${USER_NAME:?USER_NAME must be set}"
home="${USER_HOME:-/nonexistent}"

if grep -q "^${USER_NAME}:" /etc/passwd; then
    echo "add-user: ${USER_NAME} already exists"
    exit 0
fi

# The first id from 900 up that neither a user nor a group holds.
id=900
while cut -d: -f3 /etc/passwd /etc/group | grep -qx "$id"; do
    id=$((id + 1))
done

echo "${USER_NAME}:x:${id}:${id}:${USER_NAME} service:${home}:/sbin/nologin" >>/etc/passwd
echo "${USER_NAME}:x:${id}:" >>/etc/group
if [ -f /etc/shadow ]; then
    echo "${USER_NAME}:!:::::::" >>/etc/shadow
fi
if [ "$home" != /nonexistent ]; then
    mkdir -p "$home"
    chown "${id}:${id}" "$home"
    chmod 0750 "$home"
fi
echo "add-user: ${USER_NAME} uid=${id} home=${home}"
