# netns.sh - network namespaces as hosts, for the end-to-end tests that need
# more than one machine. Sourced (after lib.sh or on its own):
#
#   . "$(dirname "$0")/netns.sh"
#   netns_require                  # SKIP (exit 77) unless this can work
#   netns_up ctl agent1 target     # one namespace per name, on one switch
#   netns_bg target "$TARGET" --bind "$(netns_addr target)" >log; TPID=$NETNS_PID
#   netns_link_down agent1; ...; netns_link_up agent1
#
# Layout: a "switch" namespace holds a bridge; every host namespace gets a
# veth pair, eth0 on its side with 198.18.0.N/24 (RFC 2544's benchmarking
# range, 198.18.0.0/15, routed nowhere), the peer a port of the bridge.
# Nothing is added to the namespace this runs in (no interface, address or
# route), so the tests' traffic cannot leave the namespaces, and two tests
# running at once do not see each other (their names carry the shell's
# PID; the same addresses on two switches never meet).
#
# Cleanup on every exit path: netns_down kills the processes left in the
# namespaces (all were started by the test) and deletes the namespaces,
# which deletes their interfaces and the bridge. It is chained in front of
# whatever EXIT trap is set when netns_up runs, and is idempotent.

NETNS_PREFIX="mite$$"
NETNS_NAMES=()
NETNS_SWITCH=
NETNS_OLD_TRAP=
NETNS_PID=

# netns_skip MESSAGE: the SKIP status of automake's test driver.
netns_skip() {
	echo "SKIP: ${E2E_NAME:-$(basename "$0" .sh)}: $*"
	exit 77
}

# netns_require: root, iproute2 with `ip netns`, and a kernel that lets us
# create namespaces, veth pairs and a bridge; otherwise SKIP, saying which.
netns_require() {
	local probe="${NETNS_PREFIX}probe"
	[ "$(id -u)" -eq 0 ] || netns_skip "network namespaces need root (run make check as root)"
	command -v ip >/dev/null || netns_skip "no ip(8) (Debian package iproute2)"
	ip netns list >/dev/null 2>&1 || netns_skip "ip netns does not work here"
	ip netns add "$probe" 2>/dev/null || netns_skip "cannot create a network namespace (a container without CAP_SYS_ADMIN?)"
	if ! ip -n "$probe" link add "${NETNS_PREFIX}pa" type veth peer name "${NETNS_PREFIX}pb" 2>/dev/null ||
		! ip -n "$probe" link add "${NETNS_PREFIX}br" type bridge 2>/dev/null; then
		ip netns del "$probe" 2>/dev/null
		netns_skip "cannot create veth pairs or a bridge (kernel modules veth, bridge)"
	fi
	ip netns del "$probe"
}

# netns_ns NAME: the namespace's full name.
netns_ns() { echo "${NETNS_PREFIX}-$1"; }

# netns_addr NAME: its address (198.18.0.N, N from its position in netns_up).
netns_addr() {
	local i
	for i in "${!NETNS_NAMES[@]}"; do
		if [ "${NETNS_NAMES[$i]}" = "$1" ]; then
			echo "198.18.0.$((i + 10))"
			return 0
		fi
	done
	echo "netns: no host $1" >&2
	return 1
}

# netns_exec NAME COMMAND...: runs COMMAND in that namespace.
netns_exec() {
	local n=$1
	shift
	ip netns exec "$(netns_ns "$n")" "$@"
}

# netns_bg NAME COMMAND...: starts COMMAND in that namespace in the
# background (redirect the call's output as the command's); its PID (the
# command's own: ip netns exec execs it) in NETNS_PID. (`netns_exec ... &`
# would give the PID of a subshell: kill -9 of it leaves the command be.)
netns_bg() {
	local n=$1
	shift
	ip netns exec "$(netns_ns "$n")" "$@" &
	NETNS_PID=$!
}

# netns_port NAME: the switch's port (interface name) of that host; at
# most 15 bytes (IFNAMSIZ), hence the short form.
netns_port() {
	local i
	for i in "${!NETNS_NAMES[@]}"; do
		[ "${NETNS_NAMES[$i]}" = "$1" ] && { echo "m$$p$i"; return 0; }
	done
	return 1
}

# netns_up NAME...: the switch and one namespace per NAME (at most 200),
# each with lo and eth0 up. Fails (returns 1, after cleaning up) on any
# error.
netns_up() {
	local n i=0 ns port
	[ "$#" -le 200 ] || { echo "netns: $# hosts, at most 200" >&2; return 1; }
	NETNS_OLD_TRAP=$(trap -p EXIT | sed -e "s/^trap -- '//" -e "s/' EXIT\$//")
	# shellcheck disable=SC2064
	trap "netns_down; $NETNS_OLD_TRAP" EXIT
	NETNS_SWITCH=$(netns_ns switch)
	ip netns add "$NETNS_SWITCH" || { netns_down; return 1; }
	netns_no_ipv6 "$NETNS_SWITCH" || { netns_down; return 1; }
	ip -n "$NETNS_SWITCH" link add sw0 type bridge || { netns_down; return 1; }
	ip -n "$NETNS_SWITCH" link set sw0 up || { netns_down; return 1; }
	NETNS_NAMES=("$@")
	for n in "$@"; do
		ns=$(netns_ns "$n")
		port=$(netns_port "$n")
		if ! ip netns add "$ns" ||
			! ip -n "$ns" link set lo up ||
			! netns_no_ipv6 "$ns" ||
			! ip -n "$ns" link add eth0 type veth peer name "$port" netns "$NETNS_SWITCH" ||
			! ip -n "$ns" addr add "198.18.0.$((i + 10))/24" dev eth0 ||
			! ip -n "$ns" link set eth0 up ||
			! ip -n "$NETNS_SWITCH" link set "$port" master sw0 ||
			! ip -n "$NETNS_SWITCH" link set "$port" up; then
			echo "netns: setting up host $n ($ns) failed" >&2
			netns_down
			return 1
		fi
		i=$((i + 1))
	done
	# Bounded: the bridge forwards once its ports leave the "disabled" state
	# (no STP, so at once).
	netns_wait_forwarding || { echo "netns: the switch's ports do not forward" >&2; netns_down; return 1; }
}

# netns_no_ipv6 NS: IPv6 off in NS (its router solicitations and
# multicast reports would be noise in what the tests and benchmarks count;
# the hosts talk IPv4).
netns_no_ipv6() {
	ip netns exec "$1" sh -c 'echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6 &&
		echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6' 2>/dev/null ||
		[ ! -d /proc/sys/net/ipv6 ]
}

# netns_wait_forwarding: up to 5 s for every switch port to forward.
netns_wait_forwarding() {
	local i
	for i in $(seq 25); do
		[ "$(ip -n "$NETNS_SWITCH" -d link show master sw0 | grep -c 'state forwarding')" -eq "${#NETNS_NAMES[@]}" ] &&
			return 0
		sleep 0.2
	done
	return 1
}

# netns_link_down NAME / netns_link_up NAME: the host's cable pulled out and
# plugged back in: its switch port goes down (its packets are dropped
# silently, as on a real network; its own eth0 keeps its address and route).
netns_link_down() { ip -n "$NETNS_SWITCH" link set "$(netns_port "$1")" down; }
netns_link_up() { ip -n "$NETNS_SWITCH" link set "$(netns_port "$1")" up; }

# netns_down: kills what runs in the namespaces and deletes them. Safe to
# call twice and on a half-built layout.
netns_down() {
	local ns pids
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^${NETNS_PREFIX}-"); do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		# shellcheck disable=SC2086
		if [ -n "$pids" ]; then
			kill -KILL $pids 2>/dev/null
			# Reaps those that are ours (quietly: no "Killed" lines).
			{ wait $pids; } 2>/dev/null
		fi
		ip netns del "$ns" 2>/dev/null
	done
	NETNS_NAMES=()
	NETNS_SWITCH=
}
