#!/usr/bin/env bash
# The project's two entry points on a fresh Debian machine (see README):
#   ./run.sh demo   the local stack with the fakes, syncing generated shops into the fake Exact
#   ./run.sh test   the whole test suite: unit and integration, normal and sanitizer builds
# Both install what is missing (apt-get, maven), build, and run.
set -euo pipefail
cd "$(dirname "$0")"

APT_PACKAGES="meson ninja-build pkg-config gcc libc6-dev librdkafka-dev libcurl4-openssl-dev
libjansson-dev libpq-dev libmicrohttpd-dev libssl-dev postgresql postgresql-client maven
default-jre-headless python3 kcat docker-compose procps libsodium-dev chromium clang"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

install_deps() {
    local missing=()
    for p in $APT_PACKAGES; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    if ((${#missing[@]})); then
        say "installing ${missing[*]}"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
            "${missing[@]}" >/dev/null
    fi
    command -v java >/dev/null || { echo "java is missing" >&2; exit 1; }
    # Node.js may come from elsewhere than Debian on this machine kind; only add it if absent.
    if ! command -v npm >/dev/null; then
        DEBIAN_FRONTEND=noninteractive ${sudo:-} apt-get install -y -qq nodejs npm >/dev/null
    fi
    say "Kafka broker jars: $(tests/harness/fetch-kafka.sh)"
    # playwright-core for the control panel's browser tests (pinned in its package-lock.json)
    if [ ! -d tests/integration/panel/node_modules/playwright-core ]; then
        npm --prefix tests/integration/panel install --no-audit --no-fund --silent >/dev/null
    fi
}

build() {  # build DIR [meson options...]
    local dir=$1
    shift
    if [ ! -f "$dir/build.ninja" ]; then
        meson setup "$dir" "$@" >/dev/null
    else
        meson configure "$dir" "$@" >/dev/null
    fi
    ninja -C "$dir" >/dev/null
}

# Add the results of the last `meson test` in build dir $1 to the running totals.
tally() {
    python3 - "$1/meson-logs/testlog.json" "$TALLY" <<'PY'
import json, sys
log, tally = sys.argv[1], sys.argv[2]
passed = failed = 0
for line in open(log):
    r = json.loads(line)["result"]
    if r == "OK":
        passed += 1
    else:
        failed += 1
p, f = map(int, open(tally).read().split())
open(tally, "w").write(f"{p + passed} {f + failed}\n")
PY
}

mtest() {  # mtest DIR [meson test options...]: run, tally, keep going to report all failures
    local dir=$1 rc=0
    shift
    meson test -C "$dir" --print-errorlogs --num-processes 2 "$@" || rc=$?
    tally "$dir"
    return $rc
}

cmd_test() {
    TALLY=$(mktemp)
    export TALLY
    echo "0 0" > "$TALLY"
    trap 'read -r p f < "$TALLY" || true; echo "tests: $p passed, $f failed"; rm -f "$TALLY"' EXIT
    install_deps
    say "building (warnings are errors)"
    build build-ci -Dwerror=true -Dbuildtype=debugoptimized
    say "building with AddressSanitizer + UndefinedBehaviorSanitizer"
    build build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
    say "unit tests"
    export ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1
    export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
    local rc=0
    mtest build-ci --suite unit || rc=1
    mtest build-asan --suite unit || rc=1
    say "fuzzing each libFuzzer target for ${FUZZ_SECONDS:-45}s"
    [ -f build-fuzz/build.ninja ] || CC=clang meson setup build-fuzz -Dfuzz=true \
        -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debugoptimized >/dev/null
    ninja -C build-fuzz $(ninja -C build-fuzz -t targets all | sed -n 's|^\(tests/fuzz/fuzz-[a-z-]*\): .*|\1|p') >/dev/null
    tests/fuzz/run.sh build-fuzz "${FUZZ_SECONDS:-45}" || rc=1
    say "integration tests (real Kafka broker and PostgreSQL, started by the harness)"
    export -f mtest tally
    python3 tests/harness/services.py run -- bash -c '
        rc=0
        mtest build-ci --suite integration || rc=1
        mtest build-asan --suite integration --timeout-multiplier 3 || rc=1
        exit $rc' || rc=1
    if ((rc)); then
        say "some tests failed"
        exit 1
    fi
    say "all tests passed"
}

cmd_demo() {
    install_deps
    build build -Dbuildtype=debugoptimized
    exec python3 tests/harness/demo.py --build build "$@"
}

case "${1:-}" in
test) shift; cmd_test "$@" ;;
demo) shift; cmd_demo "$@" ;;
*) echo "usage: $0 demo|test" >&2; exit 2 ;;
esac
