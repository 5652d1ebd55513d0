#!/bin/sh
# Probe a service on this host: healthcheck PORT [PATH]. Exits non-zero when
# the service does not answer; systemd and the load balancer both call it.
set -eu
port="${1:?usage: healthcheck PORT [PATH]}"
path="${2:-/health}"
exec wget -q -T 2 -O /dev/null "http://127.0.0.1:${port}${path}"
