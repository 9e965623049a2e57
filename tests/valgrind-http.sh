#!/bin/bash
# The HTTP scenario, whole, under valgrind against mite-target: no invalid
# access, no definite leak (libcurl and libuv handles closed in order). Twice:
# with the default engine (the native HTTP/1.1 client) and with
# http_engine=curl. Then the HTTPS one against nginx with TLS
# (tests/e2e/nginx-tls.sh), with each engine: keep-alive, then a new
# connection (a handshake, resumed) per request, then HTTP/2.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
command -v valgrind >/dev/null || { echo "valgrind-http: valgrind is not installed (quickstart.sh installs it)"; exit 1; }
dir=$(mktemp -d /tmp/mite-vghttp.XXXXXX) || exit 99
. "$top_srcdir/tests/e2e/nginx-tls.sh"
"$top_builddir/tools/mite-target" --port 0 >"$dir/target.out" 2>&1 &
tpid=$!
trap 'kill $tpid 2>/dev/null; nginx_tls_stop; rm -rf "$dir"' EXIT
for _ in $(seq 50); do grep -q listening "$dir/target.out" && break; sleep 0.1; done
port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$dir/target.out")
[ -n "$port" ] || { echo "FAIL: valgrind-http: mite-target did not start"; exit 1; }
fails=0
for engine in auto curl; do
	MITE_PLUGIN_PATH="$top_builddir/plugins" \
	timeout 300 valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=9 \
		--log-file="$dir/vg-$engine.log" "$top_builddir/mitectl" scenario test --runner-timeout 120 \
		"$top_srcdir/conf/http-flow.conf" --set base_url="http://127.0.0.1:$port" \
		--set think_time=0.1 --set http_engine=$engine --duration 3 >/dev/null
	rc=$?
	cat "$dir/vg-$engine.log"
	# Under valgrind mite's loop is many times slower (so the no-yield
	# watchdog gets 120 s, not 10: a TLS handshake alone can take seconds),
	# and a run may say so (7: tainted). Memory errors are 9; anything else is a failure.
	if [ $rc -eq 7 ]; then
		echo "valgrind-http ($engine): the run was tainted (mite's loop saturated under valgrind), as it should say"
		rc=0
	fi
	if [ $rc -ne 0 ]; then
		echo "FAIL: valgrind-http ($engine): exit $rc"
		fails=$((fails + 1))
	else
		echo "PASS: valgrind-http ($engine): no errors, no definite leaks"
	fi
done
nginx_tls_start "$dir/nginx"
for engine in auto curl; do
	for run in keep-alive new-connection http2; do
		h2=1 fresh=0
		[ "$run" = http2 ] && h2=2
		[ "$run" = new-connection ] && fresh=1
		MITE_PLUGIN_PATH="$top_builddir/plugins" \
		timeout 300 valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=9 \
			--log-file="$dir/vgs-$engine-$run.log" "$top_builddir/mitectl" scenario test --runner-timeout 120 \
			"$top_srcdir/conf/http.conf" --set base_url="https://127.0.0.1:$NGINX_PORT/" \
			--set ca_file="$NGINX_CA" --set new_connection=$fresh \
			--set http_version=$h2 --set think_time=0.05 \
			--set http_engine=$engine --duration 3 >/dev/null
		rc=$?
		cat "$dir/vgs-$engine-$run.log"
		[ $rc -eq 7 ] && rc=0 # (tainted: mite's loop saturated under valgrind, as it says)
		if [ $rc -ne 0 ]; then
			echo "FAIL: valgrind-http (https, $engine, $run): exit $rc"
			fails=$((fails + 1))
		else
			echo "PASS: valgrind-http (https, $engine, $run): no errors, no definite leaks"
		fi
	done
done
[ $fails -eq 0 ]
