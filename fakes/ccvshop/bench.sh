#!/bin/sh
# Benchmark (not a test): signed GETs per second against ccvshop-fake with wrk.
# The request is signed once with a fresh x-date (valid for 5 minutes), so the
# fake verifies and signs every request for real; rate limits are switched off.
# Usage: fakes/ccvshop/bench.sh [BUILD_DIR] [DURATION_S] [CONNECTIONS]
set -eu
BUILD=${1:-build-ccv}
DUR=${2:-10}
CONN=${3:-32}
FAKE="$BUILD/fakes/ccvshop/ccvshop-fake"
OUT=$(mktemp)
"$FAKE" --listen 127.0.0.1:0 --seed 1 --shops 2 --orders 200 --rate-limit 0 \
        --write-rate-limit 0 >"$OUT" &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -f "$OUT"' EXIT INT TERM
i=0
while [ ! -s "$OUT" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
BASE=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["listen"])' "$OUT")
python3 - "$BASE" >"$OUT.hdr" <<'PY'
import hashlib, hmac, json, sys, urllib.request
from datetime import datetime, timezone
base = sys.argv[1]
shop = json.load(urllib.request.urlopen(base + "/_fake/shops"))["shops"][0]
# a real order id: create one through the admin endpoint
req = urllib.request.Request(base + "/_fake/shops/1/orders", data=b"{}", method="POST")
oid = json.load(urllib.request.urlopen(req))["id"]
path = shop["path_prefix"] + "/api/rest/v1/orders/%d" % oid
date = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
msg = "|".join([shop["public_key"], "GET", path, "", date])
h = hmac.new(shop["secret"].encode(), msg.encode(), hashlib.sha512).hexdigest()
print(path)
print(shop["public_key"])
print(date)
print(h)
PY
P=$(sed -n 1p "$OUT.hdr")
PUB=$(sed -n 2p "$OUT.hdr")
D=$(sed -n 3p "$OUT.hdr")
H=$(sed -n 4p "$OUT.hdr")
rm -f "$OUT.hdr"
echo "GET $BASE$P (signed), ${DUR}s, $CONN connections"
wrk -t2 -c"$CONN" -d"${DUR}s" -H "x-public: $PUB" -H "x-date: $D" -H "x-hash: $H" "$BASE$P"
curl -s "$BASE/_fake/stats" | python3 -c '
import json, sys
s = json.load(sys.stdin)
c = s["by_status_class"]
print("fake stats: requests=%d 2xx=%d 4xx=%d" % (s["requests"], c["2xx"], c["4xx"]))'
