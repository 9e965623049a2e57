#!/bin/sh
# config.sh - mited's command line and mited.conf checking, and mitectl's
# help: every error one clear line, configuration errors as file:line.
. "$(dirname "$0")/lib.sh"

check "mited --version" sh -c "\"$MITED\" --version | grep -q '^mited [0-9]'"
check "mited --help" sh -c "\"$MITED\" --help | grep -q -- '--check-config'"
"$MITED" --frobnicate 2>/dev/null
check "mited: a bad option is exit 2" [ $? -eq 2 ]
"$MITED" --socket relative.sock 2>/dev/null
check "mited: a relative --socket is exit 2" [ $? -eq 2 ]

write_conf
check "--check-config accepts a good file" sh -c "\"$MITED\" --check-config --config '$CONF' | grep -q ': ok'"
check "--check-config accepts the sample mited.conf" \
	sh -c "\"$MITED\" --check-config --config '$top_srcdir/conf/mited.conf' | grep -q ': ok'"
bad() { # bad NAME CONTENT PATTERN
	printf '%b' "$2" >"$T/$1.conf"
	"$MITED" --check-config --config "$T/$1.conf" 2>"$T/err" >/dev/null
	local rc=$?
	check "--check-config: $1 -> exit 1" [ $rc -eq 1 ]
	check "--check-config: $1 -> $3" grep -q -- "$3" "$T/err"
}
bad syntax 'runners = 2;\nthis is not libconfig\n' "$T/syntax.conf:2: syntax error"
bad unknown 'runners = 2;\nrunerz = 3;\n' "$T/unknown.conf:2: unknown key 'runerz' (allowed there: socket, "
bad type 'runners = "many";\n' "$T/type.conf:1: 'runners' must be an integer"
bad range 'runners = 100000;\n' "$T/range.conf:1: 'runners' must be between 0 and 1024, not 100000"
bad level 'log_level = "loud";\n' "$T/level.conf:1: 'log_level' must be \"err\", \"error\", \"warning\", \"notice\", \"info\" or \"debug\", not \"loud\""
bad mode 'socket_mode = "0999";\n' "$T/mode.conf:1: 'socket_mode' must be an octal mode"
bad limits 'limits = { max_runz = 1; };\n' "$T/limits.conf:1: unknown key 'max_runz' in limits (allowed there: max_runs, max_instances, max_clients)"
bad plugindirs 'plugin_dirs = [ "relative/dir" ];\n' "$T/plugindirs.conf:1: plugin_dirs entries must be absolute paths, not \"relative/dir\""
bad endpoint 'runner_endpoint = "http://x";\n' "$T/endpoint.conf:1: 'runner_endpoint' must start with"
bad stderr_key 'runner_stderr = { lines = 5; };\n' "$T/stderr_key.conf:1: unknown key 'lines' in runner_stderr (allowed there: lines_per_second"
bad stderr_bytes 'runner_stderr = { bytes_per_second = "12Q"; };\n' "$T/stderr_bytes.conf:1: 'bytes_per_second' must be bytes"
bad stderr_small 'runner_stderr = { bytes_per_second = 10; };\n' "$T/stderr_small.conf:1: 'bytes_per_second' must be between 1024 and 1000000000 bytes, not 10"
bad stderr_rate 'runner_stderr = {\n lines_per_second = 0;\n};\n' "$T/stderr_rate.conf:2: 'lines_per_second' must be between 1 and 1e+06, not 0"
bad memory_small 'runner_limits = { memory = "1M"; };\n' "$T/memory_small.conf:1: 'memory' must be 0 (no limit) or at least 64 MiB"
bad memory_share 'runner_limits = { memory = "150%"; };\n' "$T/memory_share.conf:1: 'memory' must be a share from 1% to 100%, not 150%"
bad memory_word 'runner_limits = { memory = "lots"; };\n' "$T/memory_word.conf:1: 'memory' must be bytes or a size like .*, or a share of the memory like .*, not \"lots\""
bad files_small 'runner_limits = { open_files = 10; };\n' "$T/files_small.conf:1: 'open_files' must be 0 (as mited's own) or at least 64"
bad limits_key 'runner_limits = { cpu = 1; };\n' "$T/limits_key.conf:1: unknown key 'cpu' in runner_limits (allowed there: memory, address_space, open_files)"
bad as_small 'runner_limits = { address_space = "10M"; };\n' "$T/as_small.conf:1: 'address_space' must be 0 (no limit) or at least 64 MiB"
bad as_share 'runner_limits = { address_space = "50%"; };\n' "$T/as_share.conf:1: 'address_space' must be bytes or a size like .*, not \"50%\""
bad stderr_big 'runner_stderr = { bytes_per_second = "16GiB"; };\n' "$T/stderr_big.conf:1: 'bytes_per_second' must be between 1024 and 1000000000 bytes, not \"16GiB\""
bad empty 'state_dir = "";\n' "$T/empty.conf:1: 'state_dir' must not be empty"
bad group 'limits = 3;\n' "$T/group.conf:1: 'limits' must be a group { ... }, not an integer"
bad wrap 'runner_limits = { memory = 8589934592; };\n' "$T/wrap.conf:1: the integer 8589934592 is over 32 bits: write it 8589934592L"
printf '\n\nkeep_runs = "x";\n' >"$T/part.inc"
bad include 'runners = 2;\n@include "part.inc"\n' "$T/part.inc:3: 'keep_runs' must be an integer, not a string"
printf 'runner_stderr = { lines_per_second = 50; bytes_per_second = "1M"; burst_seconds = 2.5; };\nrunner_limits = { memory = "8G"; address_space = "16G"; open_files = 4096; };\n' >"$T/good2.conf"
check "--check-config accepts runner_stderr and runner_limits" \
	sh -c "\"$MITED\" --check-config --config '$T/good2.conf' | grep -q ': ok'"
"$MITED" --check-config --config "$T/missing.conf" 2>"$T/err"
check "--check-config: a missing file names it" sh -c "[ $? -eq 1 ] && grep -q 'missing.conf: cannot read' '$T/err'"

# Startup failures: one line, exit 1.
LONG=$T/$(printf 'x%.0s' $(seq 1 120)).sock
"$MITED" --config "$CONF" --socket "$LONG" --state-dir "$STATE" 2>"$T/err"
check "a socket path over 107 bytes: exit 1" [ $? -eq 1 ]
check "... saying so" grep -q 'too long' "$T/err"
start_mited || finish
"$MITED" --config "$CONF" --socket "$SOCK" --state-dir "$T/other" 2>"$T/err"
check "a second mited on a live socket: exit 1" [ $? -eq 1 ]
check "... saying another is there" grep -q 'already listening' "$T/err"
check "the first one is unharmed" ctl ping
stop_mited TERM

# mitectl's help, for every command.
check "mitectl --help" sh -c "\"$MITECTL\" --help | grep -q 'scale RUN PERCENT'"
for c in start status list stop pause resume scale results version ping journey scenario help; do
	check "mitectl $c --help" sh -c "\"$MITECTL\" $c --help | grep -q '^usage: mitectl $c'"
done
check "mitectl help scale" sh -c "\"$MITECTL\" help scale | grep -q PERCENT"
"$MITECTL" scale onlyone 2>/dev/null
check "mitectl: missing arguments are exit 2" [ $? -eq 2 ]
"$MITECTL" start 2>/dev/null
check "mitectl start without a file: exit 2" [ $? -eq 2 ]
finish
