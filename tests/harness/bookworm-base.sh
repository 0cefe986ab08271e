#!/bin/sh
# A pristine Debian bookworm root file system (debootstrap --variant=minbase), made once and
# cached as a tarball outside the source tree. Two users:
#   - tests/fresh/run.sh unpacks it into a chroot to prove ./run.sh installs everything;
#   - tests/harness/images.sh imports it into docker as the Dockerfile's FROM image.
# Prints the tarball's path. A second run makes nothing.
set -eu
cache=${CX_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ccv-exact-connector}
tarball="$cache/bookworm-minbase.tar"
if [ ! -s "$tarball" ]; then
    command -v debootstrap >/dev/null || { echo "bookworm-base: debootstrap is needed" >&2; exit 1; }
    mkdir -p "$cache"
    root=$(mktemp -d "$cache/bookworm-root.XXXXXX")
    trap 'rm -rf "$root"' EXIT
    mirror=${CX_DEBIAN_MIRROR:-$(sed -n 's/^URIs: *\(http[^ ]*\).*/\1/p' \
        /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)}
    if [ -z "$mirror" ]; then
        mirror=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list \
            2>/dev/null || true)
    fi
    if ! debootstrap --variant=minbase bookworm "$root" ${mirror:+"$mirror"} \
        > "$cache/debootstrap.log" 2>&1; then
        echo "bookworm-base: debootstrap failed; the end of $cache/debootstrap.log:" >&2
        tail -20 "$cache/debootstrap.log" >&2
        exit 1
    fi
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    tar -C "$root" -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
fi
echo "$tarball"
