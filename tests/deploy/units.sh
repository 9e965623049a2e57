#!/bin/bash
# units.sh - the systemd units as built (systemd/*.service from their .in):
# mite-agent.service carries every hardening setting of mited.service,
# runs as mite with its own runtime and state folders (so both may run on
# one host), and reads /etc/mite/agent.conf; `systemd-analyze verify`
# accepts both units, and `systemd-analyze security --offline` rates the
# agent no more exposed than mited.service (and under 2.0). Where
# systemd-analyze is missing those two checks say so and the rest still
# runs.
set -u
: "${top_builddir:=$(pwd)}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
NAME=units
PASSES=0
FAILS=0
pass() { echo "PASS: $NAME: $*"; PASSES=$((PASSES + 1)); }
fail() { echo "FAIL: $NAME: $*"; FAILS=$((FAILS + 1)); }
check() {
	local desc=$1
	shift
	if "$@"; then pass "$desc"; else fail "$desc"; fi
}
T=$(mktemp -d /tmp/mite-units.XXXXXX) || exit 99
trap 'rm -rf "$T"' EXIT

MITED_UNIT=$top_builddir/systemd/mited.service
AGENT_UNIT=$top_builddir/systemd/mite-agent.service
for u in "$MITED_UNIT" "$AGENT_UNIT"; do
	[ -f "$u" ] || { echo "FAIL: $NAME: $u is not built (make)"; exit 1; }
done

# setting UNIT KEY: the values of KEY= in UNIT, one a line.
setting() { sed -n "s/^$2=//p" "$1"; }

# The hardening of mited.service: every line from NoNewPrivileges= on, and
# the user; each must be in the agent's unit with the same value (but
# ProtectHome, read-only there for scenarios in home folders, and "yes",
# stricter, for the agent: checked below).
hardening() {
	sed -n '/^NoNewPrivileges=/,/^\[Install\]/p' "$1" | grep -v '^#\|^\[\|^$\|^ProtectHome='
	grep '^\(User\|Group\|UMask\)=' "$1"
}
hardening "$MITED_UNIT" | sort >"$T/mited.hard"
hardening "$AGENT_UNIT" | sort >"$T/agent.hard"
check "mited.service has hardening settings to compare ($(wc -l <"$T/mited.hard") lines)" \
	[ "$(wc -l <"$T/mited.hard")" -ge 20 ]
missing=$(comm -23 "$T/mited.hard" "$T/agent.hard")
check "mite-agent.service has every hardening setting of mited.service${missing:+ (missing: $(echo $missing))}" \
	[ -z "$missing" ]
check "... runs as mite, with no capabilities" \
	sh -c "[ '$(setting "$AGENT_UNIT" User)' = mite ] && grep -qx 'CapabilityBoundingSet=' '$AGENT_UNIT' &&
		grep -qx 'AmbientCapabilities=' '$AGENT_UNIT' && grep -qx 'NoNewPrivileges=yes' '$AGENT_UNIT'"
check "... with /home hidden and the file system read-only but its own folders" \
	sh -c "grep -qx 'ProtectSystem=strict' '$AGENT_UNIT' && grep -qx 'ProtectHome=yes' '$AGENT_UNIT'"
for k in RuntimeDirectory StateDirectory; do
	a=$(setting "$AGENT_UNIT" $k)
	m=$(setting "$MITED_UNIT" $k)
	check "... its $k ($a) is not mited.service's ($m)" sh -c "[ -n '$a' ] && [ '$a' != '$m' ]"
done
check "... reads the agent's configuration file" \
	grep -q "^ExecStart=.*/mited --config .*/mite/agent.conf\$" "$AGENT_UNIT"
check "... and does not start without one" grep -q "^ConditionPathExists=.*/mite/agent.conf\$" "$AGENT_UNIT"
check "... the install paths were substituted" sh -c "! grep -q '@[a-z]*@' '$AGENT_UNIT' '$MITED_UNIT'"
check "the sample agent.conf names the three agent settings" \
	sh -c "grep -q '^agent = \"tcp://' '$top_srcdir/conf/agent.conf' && grep -q '^key = ' '$top_srcdir/conf/agent.conf' &&
		grep -q '^server_key = ' '$top_srcdir/conf/agent.conf'"

# The sample agent.conf as mited reads it (its keys made here, its
# commented settings switched on), where this mited has runner hosts.
if "$top_builddir/mited" --help 2>&1 | grep -q -- '--agent'; then
	(cd "$T" && "$top_builddir/mitectl" keygen host >/dev/null && "$top_builddir/mitectl" keygen controller >/dev/null)
	sed -e "s|\"/etc/mite/keys/host.key\"|\"$T/host.key\"|" \
		-e "s|\"/etc/mite/keys/controller.pub\"|\"$T/controller.pub\"|" \
		-e 's/^#\([a-z_]* = \)/\1/' "$top_srcdir/conf/agent.conf" >"$T/agent.conf"
	check "mited --check-config accepts the sample agent.conf, every setting on" \
		sh -c "grep -q '^runners_per_host = ' '$T/agent.conf' && '$top_builddir/mited' --check-config --config '$T/agent.conf'"
else
	echo "NOTE: $NAME: this mited has no runner hosts (mited --agent): agent.conf not checked by mited"
fi

if command -v systemd-analyze >/dev/null; then
	# verify wants an existing ExecStart binary: the built one stands in for
	# the installed one (the units are not installed by make check).
	for u in "$MITED_UNIT" "$AGENT_UNIT"; do
		b=$(basename "$u")
		sed "s|^ExecStart=[^ ]*/mited|ExecStart=$top_builddir/mited|" "$u" >"$T/$b"
		check "systemd-analyze verify $b" sh -c "systemd-analyze verify --man=no '$T/$b' >'$T/$b.verify' 2>&1 &&
			! grep -q . '$T/$b.verify' || { cat '$T/$b.verify'; false; }"
	done
	exposure() {
		systemd-analyze security --offline=yes "$T/$1" 2>/dev/null |
			sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p'
	}
	ea=$(exposure mite-agent.service)
	em=$(exposure mited.service)
	check "systemd-analyze security: mite-agent.service $ea, mited.service $em (lower is safer)" \
		python3 -c "import sys; a, m = float('$ea'), float('$em'); sys.exit(0 if a <= m and a < 2.0 else 1)"
else
	echo "NOTE: $NAME: systemd-analyze is not installed: units not verified by systemd (Debian package systemd)"
fi

echo "$NAME: $PASSES passed, $FAILS failed"
[ "$FAILS" -eq 0 ]
