#!/bin/sh
# Install the worker jar and its spool directory.
set -eu
: "${SERVICE:?}" "${PORT:?}" "${QUEUE:?}" "${CONCURRENCY:?}" "${IMGRAPH_ARTIFACT_APP:?}"

# Built on //examples/platform/jre:jre17.
[ -x /opt/jre/bin/java ] || { echo "install: no JRE at /opt/jre" >&2; exit 1; }

mkdir -p /opt/worker/lib /etc/worker /var/spool/worker
cp "$IMGRAPH_ARTIFACT_APP" /opt/worker/lib/worker.jar
chmod 0644 /opt/worker/lib/worker.jar
/opt/jre/bin/java -jar /opt/worker/lib/worker.jar

cat >/etc/worker/worker.conf <<CONF
queue=${QUEUE}
concurrency=${CONCURRENCY}
spool=/var/spool/worker
metrics.port=${PORT}
CONF
chown "${SERVICE}:${SERVICE}" /var/spool/worker
chmod 0700 /var/spool/worker
