#!/bin/sh
# private.sh - where modules may load from. A private daemon (not root, not
# systemd's, on its own socket and state folder, as README's example runs
# it) loads its own user's modules from the folder of the scenario they
# start, with no mited.conf; a system daemon stays strict (plugin_dirs
# only), and so does a private one whose mited.conf sets plugin_dirs, and
# one asked by another user of its socket group.
#
# As root the private daemon runs as nobody (setpriv); as another user it
# runs as that user, and the system daemon is the one systemd would start
# (RUNTIME_DIRECTORY set).
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -eq 0 ]; then
	command -v setpriv >/dev/null || { echo "SKIP: private: root without setpriv"; exit 77; }
	USER_ID=65534
	AS="setpriv --reuid=$USER_ID --regid=$USER_ID --clear-groups"
else
	USER_ID=$(id -u)
	AS=
fi
chmod 0755 "$T"
P=$T/p # the private daemon's socket and state folder, its user's
mkdir -p "$P" "$T/proj" "$T/other"
[ "$(id -u)" -eq 0 ] && chown "$USER_ID" "$P"
SOCK=$P/mited.sock
cp "$PLUGINS/example.so" "$T/proj/hello.so"
cp "$PLUGINS/example.so" "$T/other/elsewhere.so"
cat >"$T/proj/hello.conf" <<EOF
name = "hello";
duration = 2;
config = { test_msg = "private"; };
journeys = ( { journey = "hello.so:journey"; volume = { type = "constant"; count = 1; }; } );
EOF
cat >"$T/proj/outside.conf" <<EOF
name = "outside";
duration = 2;
journeys = ( { journey = "$T/other/elsewhere.so:journey"; volume = { type = "constant"; count = 1; }; } );
EOF
# No plugin_dirs: as without a mited.conf (a file, so that no system one
# is read instead).
printf 'runners = 1;\ngrace = 3.0;\nshutdown_grace = 5.0;\n' >"$T/plain.conf"
printf 'runners = 1;\nplugin_dirs = [ "%s" ];\n' "$PLUGINS" >"$T/dirs.conf"
chmod 0644 "$T"/*.conf "$T/proj"/* "$T/other"/*

# start_as PREFIX CONF [ENV...]: mited on $SOCK and $P/state as PREFIX's user.
start_as() {
	local prefix=$1 conf=$2
	shift 2
	rm -rf "$SOCK" "$P/state"
	env "$@" $prefix "$MITED" --config "$conf" --socket "$SOCK" --state-dir "$P/state" >>"$LOG" 2>&1 &
	MITED_PID=$!
	wait_for 10 ctl ping || { fail "mited did not come up"; finish; }
}
uctl() { $AS "$MITECTL" --socket "$SOCK" --no-color "$@"; }

# 1. A private daemon: the user's own module, next to the scenario, runs.
start_as "$AS" "$T/plain.conf"
check "the log says it is a private daemon" log_has "a private daemon (uid $USER_ID)"
timeout 30 $AS "$MITECTL" --socket "$SOCK" --no-color start "$T/proj/hello.conf" --wait >"$T/hello.out" 2>&1
check_ran "private daemon: a module in the scenario's folder runs" $? "$T/hello.out"
check "... and its journey ran" sh -c "grep -q private '$P'/state/results/*/events.jsonl"
uctl start "$T/proj/outside.conf" >/dev/null 2>"$T/err"
check "private daemon: a module elsewhere is still refused (exit 3)" [ $? -eq 3 ]
check "... naming the folders allowed, the scenario's among them" \
	grep -q "elsewhere.so.*outside the plugin folders (.*$T/proj)" "$T/err"
# Another user let in by the socket group gets plugin_dirs only: its
# scenario's folder would run its code as the daemon's user.
if [ "$(id -u)" -eq 0 ] && GID=$(getent group users | cut -d: -f3) && [ -n "$GID" ]; then
	stop_mited TERM
	printf 'runners = 1;\nsocket_group = "users";\n' >"$T/group.conf"
	chmod 0644 "$T/group.conf"
	start_as "setpriv --reuid=$USER_ID --regid=$USER_ID --groups=$GID" "$T/group.conf"
	setpriv --reuid=1 --regid=1 --groups="$GID" "$MITECTL" --socket "$SOCK" start \
		"$T/proj/hello.conf" >/dev/null 2>"$T/err"
	check "private daemon: another user of the socket group is refused the folder (exit 3)" [ $? -eq 3 ]
	check "... as outside the plugin folders" grep -q "hello.so.*outside the plugin folders" "$T/err"
fi
stop_mited TERM
check "private daemon: SIGTERM, exit 0" [ $? -eq 0 ]

# 2. A private daemon whose mited.conf sets plugin_dirs: those only.
: >"$LOG"
start_as "$AS" "$T/dirs.conf"
check "with plugin_dirs: no word of a private daemon" sh -c "! grep -q 'private daemon' '$LOG'"
uctl start "$T/proj/hello.conf" >/dev/null 2>"$T/err"
check "with plugin_dirs: the scenario's folder is refused (exit 3)" [ $? -eq 3 ]
check "... naming plugin_dirs" grep -q "outside the plugin folders ($PLUGINS)" "$T/err"
stop_mited TERM
: >"$LOG"

# 3. A system daemon: root, or started by systemd (RUNTIME_DIRECTORY).
if [ "$(id -u)" -eq 0 ]; then
	chown 0 "$P"
	start_as "" "$T/plain.conf"
	ctl start "$T/proj/hello.conf" >/dev/null 2>"$T/err"
	check "system (root): the scenario's folder is refused (exit 3)" [ $? -eq 3 ]
	check "... as outside the plugin folders" grep -q "hello.so.*outside the plugin folders" "$T/err"
	check "... and no word of a private daemon" sh -c "! grep -q 'private daemon' '$LOG'"
	stop_mited TERM
	chown "$USER_ID" "$P"
fi
start_as "$AS" "$T/plain.conf" RUNTIME_DIRECTORY="$P"
uctl start "$T/proj/hello.conf" >/dev/null 2>"$T/err"
check "system (systemd's RUNTIME_DIRECTORY): the scenario's folder is refused (exit 3)" [ $? -eq 3 ]
check "... as outside the plugin folders" grep -q "hello.so.*outside the plugin folders" "$T/err"
stop_mited TERM
finish
