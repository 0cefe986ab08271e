#!/usr/bin/env bash
# Benchmark of exact-fake (not a test): simple authenticated GETs with wrk.
# usage: fakes/exact/bench.sh [path-to-exact-fake] [seconds]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
exe=${1:-${EXACT_FAKE:-$here/../../build-exact/fakes/exact/exact-fake}}
secs=${2:-5}
command -v wrk >/dev/null || { echo "bench.sh: wrk is not installed" >&2; exit 1; }

out=$(mktemp)
"$exe" --listen 127.0.0.1:0 --client bench:secret --no-limits --threads 4 >"$out" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -f "$out"' EXIT
for _ in $(seq 50); do [ -s "$out" ] && break; sleep 0.1; done
base=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["listen"])' "$out")

token=$(python3 - "$base" <<'PY'
import json, sys, urllib.parse, urllib.request
base = sys.argv[1]
class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None
opener = urllib.request.build_opener(NoRedirect)
q = urllib.parse.urlencode({"client_id": "bench", "redirect_uri": "http://127.0.0.1/cb",
                            "response_type": "code", "division": "123456"})
try:
    opener.open(base + "/api/oauth2/auth?" + q)
except urllib.error.HTTPError as e:
    loc = e.headers["Location"]
code = urllib.parse.parse_qs(urllib.parse.urlparse(loc).query)["code"][0]
form = urllib.parse.urlencode({"grant_type": "authorization_code", "code": code,
                               "redirect_uri": "http://127.0.0.1/cb", "client_id": "bench",
                               "client_secret": "secret"}).encode()
print(json.load(urllib.request.urlopen(base + "/api/oauth2/token", form))["access_token"])
PY
)

url="$base/api/v1/123456/vat/VATCodes?\$top=1&\$select=Code"
echo "wrk against $url for ${secs}s"
wrk -t2 -c32 -d"${secs}s" -H "Authorization: Bearer $token" -H "Accept: application/json" "$url"
