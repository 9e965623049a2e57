#!/usr/bin/env bash
# quickstart.sh - set up a Debian 12 machine, build mite, and run the demo
# or the whole test suite. Run as root (or with sudo) from the checkout:
#
#   ./quickstart.sh demo   # build, then a real HTTP scenario against a local target
#   ./quickstart.sh test   # build, then every test (normal and ASan+UBSan builds) and a fuzz smoke
#
# It installs only the Debian packages that are missing. The demo exits
# with mitectl's status and always ends the mite-target it started (after
# a good run, a failure, Ctrl-C or TERM). DEMO_SECONDS sets its length,
# QUICKSTART_BUILD the build folder it uses (default build/).
set -euo pipefail

cd "$(dirname "$0")"
top=$(pwd)
jobs=$(nproc 2>/dev/null || echo 2)
# The demo's build folder; QUICKSTART_BUILD reuses another one (the tests
# point it at theirs).
build_dir=${QUICKSTART_BUILD:-build}

packages=(build-essential autoconf automake pkg-config
	libuv1-dev libcurl4-openssl-dev libssl-dev libnghttp2-dev libconfig-dev libcjson-dev libzmq3-dev
	libmicrohttpd-dev libcriterion-dev valgrind clang python3 procps
	python3-yaml # tests/deploy/kubernetes.sh parses the Kubernetes manifests
	iproute2 # tests/e2e/netns*.sh: network namespaces as hosts
	libclang-rt-14-dev # clang's sanitizer and libFuzzer runtimes (only recommended by clang)
	nginx-light # tests/e2e/https.sh and tests/valgrind-http.sh: an HTTPS server
	chromium) # chromium: tests/e2e/report.sh renders the HTML report headless
# WebSocket journeys: wslay frames the messages, libcrypto (libssl-dev) hashes
# the handshake key
packages+=(libwslay-dev libssl-dev)

install_missing() {
	local missing=()
	for p in "${packages[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		echo "quickstart: installing ${missing[*]}"
		if [ "$(id -u)" -ne 0 ]; then
			echo "quickstart: missing packages and not root: run as root or install them yourself" >&2
			exit 1
		fi
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends "${missing[@]}"
	fi
}

# build DIR [configure args...]: an out-of-tree build in DIR.
build() {
	local dir=$1
	shift
	[ -x configure ] || autoreconf -fi
	mkdir -p "$dir"
	(cd "$dir" && { [ -f Makefile ] || "$top/configure" --quiet "$@"; } && make -j"$jobs" --no-print-directory)
}

# The Criterion "Synthesis" lines of every test log, and the logs of any
# test that failed, so CI output says what ran.
show_results() {
	local dir=$1 rc=$2
	echo "== test results ($dir) =="
	grep -h "Synthesis" "$dir"/tests/*.log 2>/dev/null | sed 's/\x1b\[[0-9;]*m//g' || true
	grep -h "^# \(TOTAL\|PASS\|FAIL\|ERROR\|SKIP\|XFAIL\|XPASS\)" "$dir"/test-suite.log 2>/dev/null || true
	if [ "$rc" -ne 0 ]; then
		local trs log
		for trs in $(find "$dir/tests" -name '*.trs' | sort); do
			log=${trs%.trs}.log
			if ! grep -q "^:test-result: \(PASS\|SKIP\|XFAIL\)" "$trs"; then
				echo "---- $log"
				tail -n 60 "$log"
			fi
		done
	fi
}

run_checks() {
	local dir=$1 rc=0
	shift
	build "$dir" "$@"
	(cd "$dir" && make -j"$jobs" --no-print-directory check >/dev/null 2>&1) || rc=$?
	show_results "$dir" "$rc"
	return "$rc"
}

# Every fuzz target a few seconds from its committed corpus
# (docs/fuzzing.md): a parser that now crashes fails the tests.
fuzz_smoke() {
	local dir=$1 rc=0
	echo "== fuzz smoke ($dir) =="
	(cd "$dir" && make --no-print-directory fuzz-smoke) || rc=$?
	[ "$rc" -eq 0 ] || echo "quickstart: fuzz smoke FAILED" >&2
	return "$rc"
}

# The demo's target and its output file: globals, since the EXIT trap runs
# after demo() has returned.
demo_target_pid=
demo_port_file=

# Ends the demo's target (bounded: TERM, then KILL) and removes its file.
# The EXIT trap: after a good run, a failure, Ctrl-C or a TERM alike.
demo_cleanup() {
	local pid=${demo_target_pid:-} i=0
	demo_target_pid=
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	if [ -n "${demo_port_file:-}" ]; then
		rm -f "$demo_port_file"
	fi
	demo_port_file=
}

demo() {
	local port= pdeath=()
	build "$build_dir"
	trap demo_cleanup EXIT
	trap 'exit 143' TERM
	demo_port_file=$(mktemp)
	# The target runs in a session of its own, so that Ctrl-C reaches
	# mitectl (which then stops the run gracefully) and not the target the
	# run's last iterations still talk to; the trap ends it. It also ends
	# with this script when that is killed outright (SIGKILL runs no trap).
	if command -v setpriv >/dev/null && setpriv --pdeathsig TERM true 2>/dev/null; then
		pdeath=(setpriv --pdeathsig TERM)
	fi
	if command -v setsid >/dev/null; then
		pdeath+=(setsid)
	fi
	"${pdeath[@]}" "$build_dir/tools/mite-target" --port 0 >"$demo_port_file" &
	demo_target_pid=$!
	for _ in $(seq 50); do
		grep -q listening "$demo_port_file" && break
		kill -0 "$demo_target_pid" 2>/dev/null || break
		sleep 0.1
	done
	port=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$demo_port_file")
	if [ -z "$port" ]; then
		echo "quickstart: the demo target did not start" >&2
		return 1
	fi
	echo "quickstart: demo target listening on 127.0.0.1:$port"
	MITE_PLUGIN_PATH="$build_dir/plugins" "$build_dir/mitectl" scenario test conf/http-flow.conf \
		--set base_url="http://127.0.0.1:$port" --duration "${DEMO_SECONDS:-10}"
}

case "${1:-}" in
demo)
	install_missing
	demo
	;;
test)
	install_missing
	rc=0
	run_checks build || rc=1
	if [ "${MITE_SKIP_FUZZ:-0}" != 1 ]; then
		fuzz_smoke build || rc=1
	fi
	if [ "${MITE_SKIP_SANITIZERS:-0}" != 1 ]; then
		run_checks build-san --enable-sanitizers CC=clang || rc=1
	fi
	if [ $rc -eq 0 ]; then echo "quickstart: all tests passed"; else echo "quickstart: tests FAILED" >&2; fi
	exit $rc
	;;
*)
	echo "usage: $0 demo|test" >&2
	exit 2
	;;
esac
