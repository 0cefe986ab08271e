#!/usr/bin/env bash
# The project's two entry points on a fresh Debian machine (see README):
#   ./run.sh demo   the local stack with the fakes, syncing generated shops into the fake Exact
#   ./run.sh test   the whole test suite: unit and integration, normal and sanitizer builds
# Both install what is missing (apt-get, maven), build, and run.
set -euo pipefail
cd "$(dirname "$0")"

APT_PACKAGES="meson ninja-build pkg-config gcc libc6-dev librdkafka-dev libcurl4-openssl-dev
libjansson-dev libpq-dev libmicrohttpd-dev libssl-dev postgresql postgresql-client maven
default-jre-headless python3 kcat docker-compose procps libsodium-dev chromium clang
libclang-rt-14-dev ca-certificates git python3-venv prometheus clang-format docker.io debootstrap tzdata golang-go"

# Step output goes to a log of its own; a failing step prints its name and the end of its log.
LOGS=${CX_LOG_DIR:-$PWD/build-logs}

# Each line carries the seconds since start, so a log shows how long every part took.
say() { printf '\033[1m==> [%4d s] %s\033[0m\n' "$SECONDS" "$*" >&2; }

step() {  # step NAME COMMAND...: run quietly into $LOGS/NAME.log, fail loudly
    local name=$1 rc=0
    shift
    mkdir -p "$LOGS"
    "$@" > "$LOGS/$name.log" 2>&1 || rc=$?
    if ((rc)); then
        echo "run.sh: step '$name' failed (exit $rc): $*" >&2
        echo "run.sh: the last lines of $LOGS/$name.log:" >&2
        tail -n 40 "$LOGS/$name.log" >&2
    fi
    return $rc
}

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

install_deps() {
    local missing=()
    for p in $APT_PACKAGES; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    # Node.js may come from elsewhere than Debian on some machines; Debian's otherwise.
    command -v npm >/dev/null || missing+=(nodejs npm)
    if ((${#missing[@]})); then
        say "installing ${missing[*]}"
        step apt-install apt_install "${missing[@]}"
    fi
    command -v java >/dev/null || { echo "run.sh: java is missing after the install" >&2; exit 1; }
    say "Kafka broker jars"
    step fetch-kafka tests/harness/fetch-kafka.sh
    # toxiproxy, the network fault injector of the chaos tests: built with Debian's Go
    say "toxiproxy (Go module proxy, Debian's golang-go)"
    step fetch-toxiproxy tests/harness/fetch-toxiproxy.sh
    # playwright-core and axe-core for the control panel's browser tests (pinned in its
    # package-lock.json; playwright-core 1.61 is the last release that runs on Debian
    # bookworm's Node.js 18; axe-core checks each page's accessibility)
    if [ ! -d tests/integration/panel/node_modules/playwright-core ] ||
        [ ! -d tests/integration/panel/node_modules/axe-core ]; then
        say "playwright-core and axe-core from npm"
        step npm-install npm --prefix tests/integration/panel ci --no-audit --no-fund
    fi
    say "Python packages of tests/requirements.txt"
    local venv_bin
    venv_bin=$(step python-tools tests/harness/python-tools.sh && tail -n 1 "$LOGS/python-tools.log")
    export PATH="$venv_bin:$PATH"
    check_tools
}

# Prove each tool works before the suite relies on it.
check_tools() {
    say "checking the tools: a fuzzer links and runs, the browser starts"
    local tmp
    tmp=$(mktemp -d)
    printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
        'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { return d && n > 1 && d[0] == 0; }' \
        > "$tmp/probe.c"
    step fuzzer-links clang -fsanitize=fuzzer,address,undefined -o "$tmp/probe" "$tmp/probe.c"
    step fuzzer-runs "$tmp/probe" -runs=100
    rm -rf "$tmp"
    step browser-starts node tests/integration/panel/browser-check.js
    step promtool-runs promtool --version
    step kubernetes-validate-runs kubernetes-validate --version
    step clang-format-runs clang-format --version
    step dockerd-runs dockerd --version
    step toxiproxy-runs "$(tests/harness/fetch-toxiproxy.sh)" -version
}

build() {  # build DIR [meson options...]
    local dir=$1
    shift
    if [ ! -f "$dir/build.ninja" ]; then
        step "setup-$dir" meson setup "$dir" "$@"
    else
        step "setup-$dir" meson configure "$dir" "$@"
    fi
    step "build-$dir" ninja -C "$dir"
}

build_fuzz() {
    [ -f build-fuzz/build.ninja ] || CC=clang step setup-build-fuzz meson setup build-fuzz \
        -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debugoptimized
    local targets
    targets=$(ninja -C build-fuzz -t targets all | sed -n 's|^\(tests/fuzz/fuzz-[a-z-]*\): .*|\1|p')
    [ -n "$targets" ] || { echo "run.sh: build-fuzz has no fuzz targets" >&2; return 1; }
    # shellcheck disable=SC2086
    step build-fuzz ninja -C build-fuzz $targets
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
    build_fuzz
    tests/fuzz/run.sh build-fuzz "${FUZZ_SECONDS:-45}" || rc=1
    # The compose-stack test runs these images; built (or found cached) as a step of its own.
    say "container images for the compose stack (private docker engine, no registry)"
    step images python3 tests/harness/images.py build
    say "integration tests (real Kafka broker and PostgreSQL, started by the harness)"
    export -f mtest tally
    # The integration suite runs once, under ASan + UBSan (which check more than the plain
    # build); the tests that exist only in the plain build (the compose stack, which builds
    # its own production images) run from build-ci. Both passes fit CI's 30 minutes.
    python3 tests/harness/services.py run -- bash -c '
        rc=0
        mtest build-ci --suite release || rc=1
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

# For CI's fresh-machine check (tests/fresh/run.sh): the install step and the fuzz build only.
cmd_setup() {
    install_deps
    say "building the fuzz targets"
    build_fuzz
    say "set-up works"
}

case "${1:-}" in
test) shift; cmd_test "$@" ;;
demo) shift; cmd_demo "$@" ;;
setup) shift; cmd_setup "$@" ;;
*) echo "usage: $0 demo|test" >&2; exit 2 ;;
esac
