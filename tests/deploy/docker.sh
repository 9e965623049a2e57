#!/bin/sh
# docker.sh - the Dockerfile checked against configure.ac and the libraries
# the built programs link (tests/deploy/docker.py says what); no container
# engine is needed.
: "${top_builddir:=$(pwd)}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
command -v python3 >/dev/null || { echo "FAIL: docker: python3 is needed (quickstart.sh installs it)"; exit 1; }
for t in objdump dpkg ldconfig; do
	command -v "$t" >/dev/null || { echo "FAIL: docker: $t is needed (Debian: binutils, dpkg, libc-bin)"; exit 1; }
done
exec python3 "$top_srcdir/tests/deploy/docker.py" "$top_srcdir" "$top_builddir"
