#!/bin/sh
# The official image's start: server.properties from the KAFKA_* environment, format the log
# directory with CLUSTER_ID when it is empty, then the broker in the foreground.
set -eu
conf=/opt/kafka/config
props=$conf/server.properties
cat > "$conf/log4j.properties" <<'LOG'
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
LOG
# KAFKA_FOO_BAR=x -> foo.bar=x (not the JVM's own variables)
env | sort | while IFS= read -r line; do
    name=${line%%=*}
    case $name in
    KAFKA_HEAP_OPTS|KAFKA_OPTS|KAFKA_JVM_PERFORMANCE_OPTS|KAFKA_LOG4J_OPTS) continue ;;
    KAFKA_*) ;;
    *) continue ;;
    esac
    key=$(printf '%s' "${name#KAFKA_}" | tr 'A-Z' 'a-z' | sed -e 's/___/-/g' -e 's/__/@/g' \
        -e 's/_/./g' -e 's/@/_/g')
    printf '%s=%s\n' "$key" "${line#*=}"
done > "$props"
grep -q '^log.dirs=' "$props" || echo "log.dirs=/tmp/kraft-combined-logs" >> "$props"
logdirs=$(sed -n 's/^log.dirs=//p' "$props")
first=${logdirs%%,*}
if [ ! -f "$first/meta.properties" ]; then
    /opt/kafka/bin/run-class.sh kafka.tools.StorageTool format --ignore-formatted \
        -t "${CLUSTER_ID:?CLUSTER_ID is needed to format an empty log directory}" -c "$props"
fi
exec /opt/kafka/bin/run-class.sh kafka.Kafka "$props"
