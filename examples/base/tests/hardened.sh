#!/bin/sh
# Runs on a fresh instance of the baked base image: the image is kept only
# if what harden.sh promises holds there.
set -eu

fail() {
    echo "not hardened: $*" >&2
    exit 1
}

grep -q '^root:!:' /etc/shadow || fail "the root account is not locked"
[ "$(stat -c %a /etc/shadow)" = 600 ] || fail "/etc/shadow is not 0600"
[ "$(stat -c %a /tmp)" = 1777 ] || fail "/tmp is not sticky"
grep -q '^kernel.kptr_restrict = 2$' /etc/sysctl.d/90-harden.conf || fail "kernel hardening is missing"
. /etc/imgraph/base-release
[ "$HARDENING" = 1 ] || fail "base-release does not say HARDENING=1"
[ -s /etc/motd ] || fail "/etc/motd is empty"
echo "hardened: ok"
