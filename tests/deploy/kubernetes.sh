#!/bin/sh
# kubernetes.sh - contrib/kubernetes/'s manifests parsed and checked
# (tests/deploy/kubernetes.py says what); no cluster is needed.
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
command -v python3 >/dev/null || { echo "FAIL: kubernetes: python3 is needed (quickstart.sh installs it)"; exit 1; }
exec python3 "$top_srcdir/tests/deploy/kubernetes.py" "$top_srcdir"
