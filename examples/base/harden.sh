#!/bin/sh
# Baseline for every image: account files and directories later steps rely
# on, a locked root account, kernel hardening, and the base-release marker
# that child images check for.
set -eu

# Not hermetic on purpose: this is why base carries a salt.
if [ -x /usr/bin/dnf ]; then
    dnf -y --security update
fi

mkdir -p /etc/default /etc/profile.d /etc/sysctl.d /etc/imgraph /opt /usr/local/bin \
    /var/log /etc/systemd/system/multi-user.target.wants
mkdir -p /tmp /var/tmp
chmod 1777 /tmp /var/tmp

[ -f /etc/passwd ] || echo 'root:x:0:0:root:/root:/bin/sh' >/etc/passwd
[ -f /etc/group ] || echo 'root:x:0:' >/etc/group
[ -f /etc/shadow ] || echo 'root:!:::::::' >/etc/shadow
sed -i 's/^root:[^:]*:/root:!:/' /etc/shadow
chmod 0644 /etc/passwd /etc/group
chmod 0600 /etc/shadow

# Service users get /sbin/nologin; a BusyBox root has none.
if [ ! -x /sbin/nologin ]; then
    mkdir -p /sbin
    printf '#!/bin/sh\necho "This account is currently not available." >&2\nexit 1\n' >/sbin/nologin
    chmod 0755 /sbin/nologin
fi

cat >/etc/sysctl.d/90-harden.conf <<'CONF'
net.ipv4.conf.all.accept_redirects = 0
net.ipv4.conf.all.send_redirects = 0
net.ipv4.tcp_syncookies = 1
kernel.kptr_restrict = 2
kernel.dmesg_restrict = 1
CONF

cat >/etc/imgraph/base-release <<'CONF'
NAME="imgraph example base"
HARDENING=1
CONF
echo "harden: done"
