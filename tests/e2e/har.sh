#!/bin/bash
# har.sh - `mitectl har convert` end to end. Each HAR fixture of tests/har/
# is converted; the journey is built with the build line the converter
# prints, against the SDK as installed (`make install` of its headers and
# mite.pc into a DESTDIR, found through pkg-config), warning-free also as
# strict C11 with gcc and clang; it is run once with `mitectl journey run`
# and again in its generated scenario with `mitectl scenario test` against
# mite-target, whose request log (--request-log) must hold the HAR's
# requests in method, target, body and order (tests/har/oracle.py). Then
# the options, the failing status check, and bad HAR files (exit 3, one
# line naming the field). Prints one PASS:/FAIL: line per check.
set -u
: "${top_builddir:=$(pwd)}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
MITECTL=$top_builddir/mitectl
TARGET=$top_builddir/tools/mite-target
HARS=$top_srcdir/tests/har
ORACLE="python3 $HARS/oracle.py"
NAME=har
T=$(mktemp -d /tmp/mite-har.XXXXXX) || exit 99
TPID=
PASSES=0
FAILS=0

cleanup() {
	[ -n "$TPID" ] && kill "$TPID" 2>/dev/null && wait "$TPID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

pass() { echo "PASS: $NAME: $*"; PASSES=$((PASSES + 1)); }
fail() { echo "FAIL: $NAME: $*"; FAILS=$((FAILS + 1)); }
check() {
	local desc=$1
	shift
	if "$@"; then pass "$desc"; else fail "$desc"; fi
}
has() { grep -qF -- "$2" "$1"; }
hasnt() { ! grep -qF -- "$2" "$1"; }

command -v python3 >/dev/null || { echo "FAIL: $NAME: python3 is needed (quickstart.sh installs it)"; exit 1; }
command -v pkg-config >/dev/null || { echo "FAIL: $NAME: pkg-config is needed"; exit 1; }

# ---- the SDK as an installed one: headers and mite.pc under a DESTDIR ----
if ! make -s -C "$top_builddir" install-miteincludeHEADERS install-pkgconfigDATA \
	DESTDIR="$T/inst" >"$T/install.out" 2>&1; then
	echo "FAIL: $NAME: installing the SDK into a DESTDIR failed"
	cat "$T/install.out"
	exit 1
fi
PC=$(find "$T/inst" -name mite.pc | head -1)
export PKG_CONFIG_PATH=${PC%/mite.pc} PKG_CONFIG_SYSROOT_DIR=$T/inst
check "pkg-config finds the installed SDK" test -f "$(pkg-config --variable=includedir mite)/mite/http.h"

"$TARGET" --port 0 --request-log "$T/req.log" >"$T/target.out" 2>&1 &
TPID=$!
for _ in $(seq 50); do grep -q listening "$T/target.out" 2>/dev/null && break; sleep 0.1; done
PORT=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$T/target.out")
[ -n "$PORT" ] || { echo "FAIL: $NAME: mite-target did not start"; cat "$T/target.out"; exit 1; }
BASE=http://127.0.0.1:$PORT

# convert NAME [options]: converts tests/har/NAME.har into $T/NAME/, keeping
# the exit status in rc and the output in $T/NAME.out.
convert() {
	local n=$1
	shift
	mkdir -p "$T/$n"
	(cd "$T/$n" && "$MITECTL" har convert "$HARS/$n.har" "$@") >"$T/$n.out" 2>&1
	rc=$?
}

# build NAME: runs the build line the converter printed (in its folder),
# warnings as errors, then compiles the file again as strict C11.
build() {
	local line
	line=$(sed -n 's/^build: //p' "$T/$1.out")
	[ -n "$line" ] || { echo "  no build line"; return 1; }
	(cd "$T/$1" && sh -c "$line -Wall -Wextra -Wshadow -Wformat=2 -Wmissing-prototypes \
		-Wstrict-prototypes -Werror") || return 1
	strict "$T/$1/$1.c"
}

# strict FILE.c: warning-free as ISO C11 (trigraphs on), pedantic, with
# gcc and clang (when installed).
strict() {
	local cc ok=0
	for cc in gcc clang; do
		command -v $cc >/dev/null || continue
		$cc -std=c11 -Wall -Wextra -Wshadow -Wpedantic -Woverlength-strings -Wtrigraphs \
			-Werror $(pkg-config --cflags mite) -fPIC -shared "$1" -o "$1.$cc.so" || ok=1
	done
	return $ok
}

# replay NAME [ORACLE OPTIONS]: one iteration, then the scenario for a second;
# each time the target must have seen the HAR's requests.
replay() {
	local n=$1
	shift
	: >"$T/req.log"
	(cd "$T/$n" && timeout 60 "$MITECTL" --no-color journey run "./$n.so:journey" \
		--set base_url="$BASE" --set think_scale=0) >"$T/$n.run.out" 2>&1
	check "$n: journey run passed" test $? -eq 0
	check "$n: the target saw the HAR's requests (method, target, body, order)" \
		$ORACLE compare "$HARS/$n.har" "$T/req.log" "$@"
	: >"$T/req.log"
	timeout 60 "$MITECTL" --no-color scenario test "$T/$n/$n.conf" --set base_url="$BASE" \
		--set think_scale=0 --duration 1 --results "$T/$n/results" >"$T/$n.scn.out" 2>&1
	check "$n: its scenario passed" test $? -eq 0
	check "$n: the scenario's iterations each sent the HAR's requests" \
		$ORACLE compare "$HARS/$n.har" "$T/req.log" --repeat "$@"
}

# txns NAME TXN...: the scenario's summary lists exactly these transactions.
txns() {
	local n=$1
	shift
	python3 - "$T/$n/results/summary.json" "$@" <<'PY'
import json, sys
s = json.load(open(sys.argv[1], encoding="utf-8"))
got = sorted({t["name"] for t in s.get("transactions", [])})
want = sorted(sys.argv[2:])
if got != want:
    print("  transactions %s, want %s" % (got, want))
sys.exit(0 if got == want else 1)
PY
}

# ---- a login -> browse -> post flow, with pages ----------------------------
convert shop-pages
check "shop-pages: converted (exit 0)" test "$rc" -eq 0
check "shop-pages: 8 requests in 3 transactions, 3 entries dropped" \
	has "$T/shop-pages.out" "8 requests in 3 transactions"
check "shop-pages: the dropped host is named" has "$T/shop-pages.out" "1 to other hosts (cdn.other.test"
check "shop-pages: it builds with the printed line and as strict C11" build shop-pages
check "shop-pages: one transaction per page, named by its title" \
	grep -q 'mite_txn_begin(ctx, "Shop \\342\\200\\224 log in");' "$T/shop-pages/shop-pages.c"
check "shop-pages: think times from the recorded pauses" has "$T/shop-pages/shop-pages.c" "think(ctx, 3.080)"
check "shop-pages: no cookie, Host, Accept-Encoding or Content-Length copied" \
	python3 -c 'import sys,re; s=open(sys.argv[1]).read(); sys.exit(1 if re.search(r"\"(Cookie|Host|Accept-Encoding|Content-Length|Connection):", s, re.I) else 0)' \
	"$T/shop-pages/shop-pages.c"
replay shop-pages
check "shop-pages: the scenario's transactions are the pages" \
	txns shop-pages "Shop — log in" "Items" "Add an item"
check "shop-pages: the recorded stale cookie never reached the target" hasnt "$T/req.log" "stale.00000000"
check "shop-pages: the session's jar sent the login's cookie" has "$T/req.log" '"Cookie: session=alice.'

# ---- the same without pages: grouped by pauses over 2 s --------------------
convert shop-nopages
check "shop-nopages: converted" test "$rc" -eq 0
check "shop-nopages: it builds" build shop-nopages
replay shop-nopages
check "shop-nopages: transactions split where the recording paused" \
	txns shop-nopages "GET /" "GET /api/items" "POST /api/items"

# ---- binary bodies, awkward bytes, non-ASCII in URLs, bodies, headers --------
convert binary
check "binary: converted" test "$rc" -eq 0
check "binary: it builds" build binary
check "binary: a binary body is a byte array with its length" \
	has "$T/binary/binary.c" ".body = body, .body_len = sizeof(body)}"
check "binary: trigraphs escaped in literals" has "$T/binary/binary.c" 'trigraph ?\?= ?\?/'
replay binary
check "binary: the non-ASCII header arrived byte for byte" has "$T/req.log" 'X-Note: naïve ☕ \"q\" \\ ??='

# ---- a redirect chain: requested once, followed by the session ----------------
convert redirects
check "redirects: converted" test "$rc" -eq 0
check "redirects: it builds" build redirects
check "redirects: 3 requests for 13 entries (the chains' hops followed)" \
	has "$T/redirects.out" "3 requests in 1 transaction"
check "redirects: a chain longer than 5 raises the session's limit" \
	has "$T/redirects/redirects.c" "mite_http_set_redirects(ctx, 1, 7);"
check "redirects: a hop not recorded is not followed" \
	has "$T/redirects/redirects.c" "MITE_HTTP_NO_REDIRECTS"
replay redirects

# ---- options ------------------------------------------------------------------
convert shop-pages -o app.c --scenario load.conf --function browse --base-url "$BASE" \
	--drop-static --drop-header 'accept-lang*' --gap 60
check "options: converted" test "$rc" -eq 0
check "options: -o and --scenario name the files" test -f "$T/shop-pages/app.c" -a -f "$T/shop-pages/load.conf"
check "options: --function names the journey" has "$T/shop-pages/load.conf" 'journey = "app.so:browse";'
check "options: --base-url is base_url's default" has "$T/shop-pages/app.c" "\"base_url\", \"$BASE\""
check "options: --drop-header drops it" hasnt "$T/shop-pages/app.c" "Accept-Language"
check "options: --drop-static drops the image" hasnt "$T/shop-pages/app.c" "/bytes/64"
(cd "$T/shop-pages" && sh -c "$(sed -n 's/^build: //p' "$T/shop-pages.out") -Werror") &&
	: >"$T/req.log" &&
	(cd "$T/shop-pages" && timeout 60 "$MITECTL" --no-color journey run ./app.so:browse) >"$T/opt.run.out" 2>&1
check "options: the journey runs against --base-url without --set" test $? -eq 0
check "options: --drop-static: the target saw the HAR's other requests" \
	$ORACLE compare "$HARS/shop-pages.har" "$T/req.log" --drop-static
convert shop-pages --keep-host '*' -o all.c
check "options: --keep-host '*' keeps the other host, as an absolute URL" \
	has "$T/shop-pages/all.c" '"https://cdn.other.test/logo.png"'
convert shop-pages --drop-host '*.test' -o none.c
check "options: nothing left to convert: exit 3" test "$rc" -eq 3
check "options: ... and says why" has "$T/shop-pages.out" "nothing to convert"
for bad in "--gap -1" "--function 2x" "--function think" "--base-url ftp://x" "--bogus"; do
	convert shop-pages $bad
	check "usage: '$bad' refused with exit 2" test "$rc" -eq 2
done

# ---- a status that differs from the recording fails its transaction -------------
(cd "$T/shop-pages" && timeout 60 "$MITECTL" --no-color journey run ./shop-pages.so:journey \
	--set base_url="$BASE/elsewhere" --set think_scale=0 -v) >"$T/wrong.out" 2>&1
check "a wrong status: exit 1 (journey errors)" test $? -eq 1
check "a wrong status: the message names the request and the recorded status" \
	grep -q "GET $BASE/elsewhere/ returned 404 (expected 200)" "$T/wrong.out"
check "a wrong status: located in the journey's source" grep -q "shop-pages.c:[0-9]" "$T/wrong.out"

# ---- bad HAR files: exit 3, one line naming the file and the field ----------------
badhar() {
	local desc=$1 json=$2 want=$3
	printf '%s' "$json" >"$T/bad.har"
	"$MITECTL" har convert "$T/bad.har" -o "$T/bad.c" >"$T/bad.out" 2>&1
	local r=$?
	if [ "$r" -eq 3 ] && grep -qF -- "$T/bad.har: $want" "$T/bad.out" && [ ! -e "$T/bad.c" ] &&
		[ "$(wc -l <"$T/bad.out")" -eq 1 ]; then
		pass "bad HAR: $desc"
	else
		fail "bad HAR: $desc (exit $r)"
		sed 's/^/  /' "$T/bad.out"
	fi
}
E='"startedDateTime":"2024-06-01T10:00:00Z","time":1,"response":{"status":200}'
badhar "not JSON" '{"log": {' "line 1: not valid JSON"
badhar "no log" '{"entries":[]}' "log: missing"
badhar "a missing URL" "{\"log\":{\"entries\":[{$E,\"request\":{\"method\":\"GET\"}}]}}" \
	"log.entries[0].request.url: missing"
badhar "a bad date" '{"log":{"entries":[{"startedDateTime":"yesterday","time":1}]}}' \
	'log.entries[0].startedDateTime: "yesterday" is not an ISO 8601 date'
badhar "a bad base64 body" "{\"log\":{\"entries\":[{$E,\"request\":{\"method\":\"POST\",\"url\":\"http://a/\",\"postData\":{\"text\":\"@@\",\"encoding\":\"base64\"}}}]}}" \
	"log.entries[0].request.postData.text: not valid base64"
"$MITECTL" har convert "$T/nonexistent.har" >"$T/bad.out" 2>&1
check "bad HAR: a missing file is exit 3, named" test $? -eq 3 -a "$(cat "$T/bad.out")" = \
	"mitectl: $T/nonexistent.har: cannot open: No such file or directory"
"$MITECTL" har convert "$HARS/redirects.har" -o "$T/no/such/dir/x.c" >"$T/bad.out" 2>&1
check "an output that cannot be written: exit 1" test $? -eq 1

echo "$NAME: $PASSES passed, $FAILS failed"
if [ "$FAILS" -ne 0 ]; then
	for f in "$T"/*.out; do echo "--- $f"; tail -25 "$f"; done
	exit 1
fi
exit 0
