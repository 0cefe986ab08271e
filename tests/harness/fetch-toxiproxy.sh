#!/bin/sh
# Build Shopify's toxiproxy (the network fault injector of the chaos tests) from the Go module
# proxy with Debian's golang-go, into a cache outside the source tree (default
# ~/.cache/ccv-exact-connector, as fetch-kafka.sh). A second run builds nothing.
# Prints the path of toxiproxy-server.
set -eu
version=2.8.0
cache=${CX_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ccv-exact-connector}
dir="$cache/toxiproxy-$version"
server="$dir/toxiproxy-server"
if [ ! -x "$server" ]; then
    # Debian's Go (golang-go, installed by run.sh), not whatever else is first on PATH.
    go=${CX_GO:-/usr/bin/go}
    [ -x "$go" ] || { echo "fetch-toxiproxy: $go is missing (apt-get install golang-go)" >&2; exit 1; }
    mkdir -p "$dir"
    tmp=$(mktemp -d "$dir/build.XXXXXX")
    trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
    # Module cache and build cache inside the scratch directory: nothing lands in ~/go.
    env GOPATH="$tmp/gopath" GOCACHE="$tmp/gocache" GOBIN="$tmp/bin" GOFLAGS=-trimpath \
        GOTOOLCHAIN=local CGO_ENABLED=0 \
        "$go" install "github.com/Shopify/toxiproxy/v2/cmd/server@v$version" >&2
    mv "$tmp/bin/server" "$server.new"
    mv "$server.new" "$server"
fi
echo "$server"
