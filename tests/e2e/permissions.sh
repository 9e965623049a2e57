#!/bin/sh
# permissions.sh - who may talk to mited: the socket's mode keeps others
# out at connect(), and SO_PEERCRED turns away any peer that is not root,
# mited's user, or in its socket group - even on a world-writable socket.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null; then
	echo "SKIP: permissions: needs root and setpriv to act as another user"
	exit 77
fi
NOBODY=65534
# The test folder must be reachable by the other user (mktemp made it 0700).
chmod 0755 "$T"
as_nobody() { setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups "$MITECTL" --socket "$SOCK" "$@"; }

# 1. The default mode 0660, group root: another user cannot even connect.
write_conf
start_mited || finish
check "socket mode is 0660" [ "$(stat -c %a "$SOCK")" = 660 ]
as_nobody ping 2>"$T/err"
check "another user: exit 77 (permission denied)" [ $? -eq 77 ]
check "... saying which socket and why" grep -q "cannot connect to $SOCK: permission denied" "$T/err"
stop_mited TERM

# 2. A world-writable socket: the peer check refuses the stranger anyway.
rm -f "$CONF"
write_conf 'socket_mode = "0666";'
start_mited || finish
check "socket mode is 0666" [ "$(stat -c %a "$SOCK")" = 666 ]
as_nobody ping 2>"$T/err"
check "SO_PEERCRED: a stranger is refused with exit 77" [ $? -eq 77 ]
check "... the daemon says whom it refused" grep -q "permission denied: uid $NOBODY" "$T/err"
check "... and logs it" log_has "refused a client: uid $NOBODY"
check "root is still welcome" ctl ping
stop_mited TERM

# 3. The socket group: its members are let in, by group, not by mode.
GROUP=$(getent group users | cut -d: -f1)
GID=$(getent group users | cut -d: -f3)
if [ -n "$GROUP" ]; then
	rm -f "$CONF"
	write_conf "socket_group = \"$GROUP\";"
	start_mited || finish
	check "the socket belongs to group $GROUP" [ "$(stat -c %G "$SOCK")" = "$GROUP" ]
	setpriv --reuid=$NOBODY --regid=$NOBODY --groups="$GID" "$MITECTL" --socket "$SOCK" ping >/dev/null 2>"$T/err"
	check "a member of the socket group is let in" [ $? -eq 0 ]
	as_nobody ping 2>/dev/null
	check "the same user without the group is not" [ $? -eq 77 ]
	stop_mited TERM
else
	echo "SKIP: permissions: no group 'users' to test socket_group with"
fi
finish
