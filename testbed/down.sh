#!/usr/bin/env bash
# Stops the test bed in $SIGIL_TB_DIR (default: .testbed in the repository):
# only the processes testbed/up.sh started, found by their pid files. Keys,
# logs and MariaDB's data stay for the next start.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
dir=${SIGIL_TB_DIR:-$here/../.testbed}
run=$dir/run
say() { echo "testbed: $*" >&2; }

if [ ! -d "$run" ]; then
	say "no bed in $dir"
	exit 0
fi

# A pid file may outlive its process and the pid be reused: only signal a
# process whose command line still names what the bed started.
pids=()
for f in "$run"/*.pid; do
	[ -f "$f" ] || continue
	name=$(basename "$f" .pid)
	pid=$(cat "$f")
	if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qE 'tbctl|mariadbd|fulcio|trillian|rekor|posix|timestamp-server|registry|ct_server'; then
		kill -TERM "$pid" 2>/dev/null && pids+=("$pid") && say "stopping $name ($pid)"
	fi
	rm -f "$f"
done

# MariaDB gets 20 s to shut down cleanly. The others hold no state worth a
# graceful stop (Trillian keeps its in MariaDB, transactionally), and
# Trillian's servers take 5-10 s to stop on SIGTERM: after 3 s they are
# killed.
wait_for() { # wait_for TENTHS PID...: waits until the PIDs exit or TENTHS pass; sets left.
	local tenths=$1; shift
	left=("$@")
	for _ in $(seq "$tenths"); do
		local still=()
		for pid in "${left[@]}"; do kill -0 "$pid" 2>/dev/null && still+=("$pid"); done
		left=("${still[@]}")
		[ ${#left[@]} = 0 ] && return
		sleep 0.1
	done
}
mysqld_pid=
for pid in "${pids[@]}"; do
	if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q mariadbd; then mysqld_pid=$pid; fi
done
wait_for 30 "${pids[@]}"
for pid in "${left[@]}"; do
	[ "$pid" = "$mysqld_pid" ] && continue
	kill -KILL "$pid" 2>/dev/null || true
done
if [ -n "$mysqld_pid" ]; then
	wait_for 200 "$mysqld_pid"
	for pid in "${left[@]}"; do
		say "killing mariadbd ($pid), still running after 20s"
		kill -KILL "$pid" 2>/dev/null || true
	done
fi
rm -f "$run"/*.sock "$dir/env"
say "stopped"
