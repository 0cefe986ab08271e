#!/bin/sh
# A virtual environment in the cache (default ~/.cache/ccv-exact-connector/venv) holding the
# pinned packages of tests/requirements.txt; Debian's python3 refuses pip installs of its own.
# It sees the system's packages too. Prints its bin directory, for PATH.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${CX_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ccv-exact-connector}
venv="$cache/venv"
stamp="$venv/requirements.txt"
if [ ! -x "$venv/bin/python3" ]; then
    python3 -m venv --system-site-packages "$venv" >&2
fi
if ! cmp -s "$here/requirements.txt" "$stamp"; then
    "$venv/bin/python3" -m pip install --quiet -r "$here/requirements.txt" >&2
    cp "$here/requirements.txt" "$stamp"
fi
"$venv/bin/python3" -c 'import stdnum, yaml' ||
    { echo "python-tools: the packages do not import" >&2; exit 1; }
echo "$venv/bin"
