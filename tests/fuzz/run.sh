#!/bin/sh
# Run every libFuzzer target of a -Dfuzz=true build for a bounded time each.
#   tests/fuzz/run.sh BUILD_DIR [SECONDS_PER_TARGET]
# New crashing inputs are left in tests/fuzz/regressions/NAME/ (crash-*): commit each one
# with its fix, and the replay tests keep it fixed.
set -eu
build=$1
seconds=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
status=0
for bin in "$build"/tests/fuzz/fuzz-*; do
    [ -f "$bin" ] && [ -x "$bin" ] || continue
    name=${bin##*/fuzz-}
    work=$(mktemp -d)
    cp -r "$here/corpus/$name/." "$work/" 2>/dev/null || true
    mkdir -p "$here/regressions/$name"
    echo "fuzzing $name for ${seconds}s"
    if ! "$bin" -max_total_time="$seconds" -rss_limit_mb=1024 -max_len=65536 -timeout=10 \
        -artifact_prefix="$here/regressions/$name/" -print_final_stats=1 "$work" \
        > "$work.log" 2>&1; then
        echo "fuzz target $name found a crash:" >&2
        tail -40 "$work.log" >&2
        status=1
    else
        grep -E "stat::number_of_executed_units|cov:" "$work.log" | tail -2
    fi
    rm -rf "$work" "$work.log"
done
exit $status
