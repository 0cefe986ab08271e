#!/bin/sh
# Loader benchmark: calls per order and minutely budget use, against exact-fake, the real
# broker and PostgreSQL. Usage: tests/bench/loader-bench.sh [BUILD_DIR]
# Knobs: BENCH_ORDERS, BENCH_TENANTS, BENCH_MINUTE_S, BENCH_MINUTELY_LIMIT, BENCH_WARMUP.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
exec python3 "$root/tests/harness/services.py" run -- \
        env TEST_BUILD_DIR="$build" python3 "$here/loader_bench.py"
