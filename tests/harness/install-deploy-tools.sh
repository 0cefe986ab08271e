#!/bin/sh
# Install the offline validators the 'deploy manifests' unit test runs, then check each works:
#   promtool             Debian's prometheus package (check config, check rules, test rules)
#   kubernetes-validate  PyPI, ships the Kubernetes JSON schemas (and PyYAML with it)
# Run as root (apt-get); the pip package goes to the python3 that runs the tests.
set -eu
KUBERNETES_VALIDATE_VERSION=1.37.0

if ! command -v promtool >/dev/null 2>&1; then
        apt-get install -y --no-install-recommends prometheus
fi
if ! python3 -m pip show kubernetes-validate 2>/dev/null | grep -qx "Version: $KUBERNETES_VALIDATE_VERSION"; then
        python3 -m pip install "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
fi

promtool --version >/dev/null 2>&1 || { echo "promtool does not run" >&2; exit 1; }
kubernetes-validate --version >/dev/null 2>&1 ||
        { echo "kubernetes-validate is not on PATH (pip's script directory)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: probe\ndata: {}\n' >"$tmp/ok.yaml"
kubernetes-validate --strict --quiet -k 1.30.0 "$tmp/ok.yaml" ||
        { echo "kubernetes-validate cannot validate offline" >&2; exit 1; }
python3 -c 'import yaml' || { echo "PyYAML missing for python3" >&2; exit 1; }
echo "deploy tools: $(promtool --version 2>&1 | head -1); kubernetes-validate $KUBERNETES_VALIDATE_VERSION"
