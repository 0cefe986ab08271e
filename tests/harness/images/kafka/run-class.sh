#!/bin/sh
# run-class.sh CLASS ARGS...: one JVM on the broker's class path. The command-line tools get a
# small, quick-starting JVM; the broker gets KAFKA_HEAP_OPTS (default -Xmx512m).
set -eu
class=$1
shift
if [ "$class" = kafka.Kafka ]; then
    heap=${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}
else
    heap="-Xmx128m -XX:TieredStopAtLevel=1"
fi
# shellcheck disable=SC2086 # the options are words
exec java $heap -XX:+UseSerialGC -Dlog4j.configuration=file:/opt/kafka/config/log4j.properties \
    -cp '/opt/kafka/libs/*' "$class" "$@"
