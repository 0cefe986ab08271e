#!/bin/sh
# Fetch the Apache Kafka broker jars named in tests/kafka/pom.xml into a cache outside the
# source tree (default ~/.cache/ccv-exact-connector). A second run downloads nothing.
# Prints the directory holding the jars.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/kafka/pom.xml")
cache=${CX_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ccv-exact-connector}
libs="$cache/kafka-$version/libs"
if ! ls "$libs"/kafka_2.13-"$version".jar "$libs"/kafka-tools-"$version".jar >/dev/null 2>&1; then
    command -v mvn >/dev/null || { echo "fetch-kafka: maven (mvn) is needed" >&2; exit 1; }
    mkdir -p "$libs"
    mvn -q -B -f "$here/kafka/pom.xml" dependency:copy-dependencies \
        -DoutputDirectory="$libs" -DincludeScope=runtime >&2
fi
echo "$libs"
