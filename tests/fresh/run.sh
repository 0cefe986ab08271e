#!/usr/bin/env bash
# CI's fresh-machine check: in a chroot made from a pristine Debian bookworm (debootstrap
# --variant=minbase, cached by tests/harness/bookworm-base.sh) that has nothing but git, a
# clone of this repository runs `./run.sh setup`: the install step, the tool checks (a fuzzer
# links and runs, Chromium starts under the pinned playwright-core on Debian's own Node.js)
# and the build of the fuzz targets. It proves run.sh installs everything it uses.
#   tests/fresh/run.sh [REPO]   (default: this checkout's HEAD)
# Downloaded packages are cached (apt archives, the Maven repository) so a rerun is quicker;
# the root file system itself is new every time.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
repo=${1:-$here}
[ "$(id -u)" -eq 0 ] || { echo "tests/fresh/run.sh: needs root (chroot, mounts)" >&2; exit 1; }
command -v debootstrap >/dev/null || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap; }
cache=${CX_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ccv-exact-connector}
tarball=$("$here/tests/harness/bookworm-base.sh")
root=$(mktemp -d /tmp/cx-fresh-root.XXXXXX)
mounts=()
cleanup() {
    local i
    for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount -R "${mounts[$i]}" 2>/dev/null ||
        umount -l "${mounts[$i]}" 2>/dev/null || true; done
    # Never delete through a mount that is still there (the bind mounts share the disk).
    if grep -q " $root/" /proc/mounts; then
        echo "tests/fresh/run.sh: mounts remain under $root; left in place" >&2
        return
    fi
    rm -rf "$root"
}
trap cleanup EXIT
bind() {  # bind SRC DEST-inside-root
    mkdir -p "$1" "$root$2"
    mount --bind "$1" "$root$2"
    mounts+=("$root$2")
}

echo "fresh: unpacking $tarball into $root"
tar -C "$root" -xf "$tarball"
cp /etc/resolv.conf "$root/etc/resolv.conf"
mkdir -p "$root/proc" "$root/sys" "$root/dev"
mount -t proc proc "$root/proc" && mounts+=("$root/proc")
mount --rbind /dev "$root/dev" && mount --make-rslave "$root/dev" && mounts+=("$root/dev")
mount -t sysfs sys "$root/sys" && mounts+=("$root/sys")
mkdir -p "$root/dev/shm"
bind "$cache/fresh-apt-archives" /var/cache/apt/archives
bind "$cache/fresh-m2" /root/.m2
bind "$repo" /src
mount -o remount,bind,ro "$root/src"
# apt in a minbase root deletes nothing it downloaded only if told so
printf "%s\n" 'Binary::apt::APT::Keep-Downloaded-Packages "true";' 'APT::Sandbox::User "root";' > "$root/etc/apt/apt.conf.d/01keep"

# Packages install as in a container: their services are not started in the chroot.
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
chmod +x "$root/usr/sbin/policy-rc.d"

# This workplace reaches the package registries through a proxy that its own CA signs, and the
# host's CA bundle carries that CA (containers get it mounted too). Hand it to the chroot as
# local certificates, so the ca-certificates that run.sh installs trusts it, Java's included
# (pip keeps its own list unless PIP_CERT names the system's, as it does on the host).
mkdir -p "$root/usr/local/share/ca-certificates/host"
awk -v dir="$root/usr/local/share/ca-certificates/host" '
    /BEGIN CERTIFICATE/ { n++; f = sprintf("%s/host-%03d.crt", dir, n) }
    f { print > f }
    /END CERTIFICATE/ { close(f); f = "" }' /etc/ssl/certs/ca-certificates.crt

inside() { chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 CI="${CI:-}" PIP_CERT=/etc/ssl/certs/ca-certificates.crt bash -c "$1"; }
start=$(date +%s)
echo "fresh: installing git, the one thing a fresh machine has"
inside 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq git >/dev/null'
echo "fresh: git clone, then ./run.sh setup"
inside 'git config --global --add safe.directory "*" && git clone -q /src /root/connector'
inside 'cd /root/connector && ./run.sh setup'
echo "fresh: the set-up passed on a fresh bookworm in $(($(date +%s) - start)) s"
