#!/bin/sh
# Move the copied keys into place and check the sshd drop-in allows only
# the intended users.
set -eu
: "${SSH_USERS:?}"

conf=/etc/ssh/sshd_config.d/50-bastion.conf
[ -f "$conf" ] || { echo "configure: ${conf} missing" >&2; exit 1; }
grep -qx "AllowUsers ${SSH_USERS}" "$conf" || {
    echo "configure: ${conf} must say AllowUsers ${SSH_USERS}" >&2
    exit 1
}

for user in $SSH_USERS; do
    home="$(grep "^${user}:" /etc/passwd | cut -d: -f6)"
    [ -n "$home" ] || { echo "configure: no user ${user}" >&2; exit 1; }
    uid="$(grep "^${user}:" /etc/passwd | cut -d: -f3)"
    mkdir -p "$home/.ssh"
    mv "$home/authorized_keys" "$home/.ssh/authorized_keys"
    chmod 0700 "$home/.ssh"
    chmod 0600 "$home/.ssh/authorized_keys"
    chown -R "${uid}:${uid}" "$home/.ssh"
    # Key-only logins still need a shell on a jump host.
    sed -i "s#^\(${user}:.*\):/sbin/nologin\$#\1:/bin/sh#" /etc/passwd
done
echo "configure: bastion for ${SSH_USERS}"
