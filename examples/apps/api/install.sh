#!/bin/sh
# Install the API jar from its artifact and write its configuration.
set -eu
: "${SERVICE:?}" "${PORT:?}" "${JVM_HEAP:?}" "${IMGRAPH_ARTIFACT_APP:?}"

# Built on //examples/platform/jre:jre17.
[ -x /opt/jre/bin/java ] || { echo "install: no JRE at /opt/jre" >&2; exit 1; }

mkdir -p /opt/api/lib /etc/api /var/log/api
cp "$IMGRAPH_ARTIFACT_APP" /opt/api/lib/api.jar
chmod 0644 /opt/api/lib/api.jar
/opt/jre/bin/java -jar /opt/api/lib/api.jar

cat >/etc/api/application.properties <<CONF
server.port=${PORT}
spring.application.name=${SERVICE}
logging.file.path=/var/log/api
CONF
printf 'JAVA_OPTS=-Xmx%s\n' "$JVM_HEAP" >/etc/api/jvm.env
chown -R "${SERVICE}:${SERVICE}" /var/log/api
