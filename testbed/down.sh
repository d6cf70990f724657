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
pids=() left=()
for f in "$run"/*.pid; do
	[ -f "$f" ] || continue
	name=$(basename "$f" .pid)
	pid=$(cat "$f")
	if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qE 'tbctl|mariadbd|fulcio|trillian|rekor|posix|timestamp-server|registry'; then
		kill -TERM "$pid" 2>/dev/null && pids+=("$pid") && say "stopping $name ($pid)"
	fi
	rm -f "$f"
done

# Trillian's signer takes about 5 s to stop; give everything 20 s.
for _ in $(seq 200); do
	left=()
	for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && left+=("$pid"); done
	[ ${#left[@]} = 0 ] && break
	sleep 0.1
done
for pid in "${left[@]}"; do
	say "killing $pid, still running after 20s"
	kill -KILL "$pid" 2>/dev/null || true
done
rm -f "$run"/*.sock "$dir/env"
say "stopped"
