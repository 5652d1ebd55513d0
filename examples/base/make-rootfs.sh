#!/bin/sh
# Assembles the local platform's base root filesystem from BusyBox: the
# smallest Linux userland that runs the example provisioners in a chroot.
# Usage: make-rootfs.sh DIR
set -eu
out=${1:?usage: make-rootfs.sh DIR}
busybox=/bin/busybox
# The static build: the chroot has no libraries for it to link against.
if ! dpkg -s busybox-static >/dev/null 2>&1; then
	echo "make-rootfs: installing Debian's busybox-static" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null
fi
umask 022
tmp="$out.tmp.$$"
trap 'rm -rf "$tmp"' EXIT
rm -rf "$tmp"
mkdir -p "$tmp"
for d in bin sbin usr/bin usr/sbin etc root tmp var/log var/tmp proc dev sys run home opt; do
	mkdir -p "$tmp/$d"
done
chmod 1777 "$tmp/tmp" "$tmp/var/tmp"
chmod 0700 "$tmp/root"
cp "$busybox" "$tmp/bin/busybox"
for applet in $("$busybox" --list); do
	[ "$applet" = busybox ] || ln -s busybox "$tmp/bin/$applet"
done
cat >"$tmp/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >"$tmp/etc/group" <<'GROUP'
root:x:0:
nogroup:x:65534:
GROUP
echo "root:*:19000:0:99999:7:::" >"$tmp/etc/shadow"
chmod 0640 "$tmp/etc/shadow"
echo "imgraph-base" >"$tmp/etc/hostname"
printf 'NAME="BusyBox"\nID=busybox\nVERSION_ID=%s\n' "$("$busybox" | head -1 | awk '{print $2}')" >"$tmp/etc/os-release"
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
echo "make-rootfs: $out ($("$busybox" --list | wc -l) applets)"
