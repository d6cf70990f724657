#!/usr/bin/env bash
# testbed/dockerd.sh start|stop|status: a private Docker daemon for the
# tests that build and run the action image (e2e/docker, `make image`).
#
# It installs nothing: dockerd, containerd, runc and the docker client come
# from Debian's docker.io package (`testbed/packages.sh test` installs it,
# as `make test` does). It leaves the host's Docker alone: everything of
# this daemon lives in $SIGIL_TB_DIR/docker (default .testbed/docker in the
# repository) — its own data root, exec root, socket, pid file, an empty
# daemon.json and its own containerd namespace — and it creates no bridge and
# touches no iptables rules. Containers run with --network host, which sees
# the bed's services on 127.0.0.1.
#
# `start` is idempotent (a daemon that answers is reused) and writes
# $SIGIL_TB_DIR/docker/env with DOCKER_HOST and SIGIL_DOCKER, the client of
# the same package (Debian's 20.10 client speaks to its daemon with BuildKit;
# a newer client elsewhere on PATH may want a buildx plugin that is absent).
# `stop` ends only the daemon this script started, found by its pid file.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
bed=${SIGIL_TB_DIR:-$root/.testbed}
mkdir -p "$bed"
bed=$(cd "$bed" && pwd)
dir=$bed/docker
sock=$dir/docker.sock
pidfile=$dir/dockerd.pid
envfile=$dir/env
log=$dir/dockerd.log

say() { echo "dockerd.sh: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

client() {
	local c
	for c in /usr/bin/docker "$(command -v docker 2>/dev/null || true)"; do
		if [ -n "$c" ] && [ -x "$c" ]; then echo "$c"; return 0; fi
	done
	return 1
}

answers() {
	local docker
	docker=$(client) || return 1
	DOCKER_HOST=unix://$sock timeout 10 "$docker" version --format '{{.Server.Version}}' >/dev/null 2>&1
}

ours() {
	# A pid file may outlive its process and the pid be reused: only a
	# dockerd whose command line names our socket is ours.
	local pid
	[ -f "$pidfile" ] || return 1
	pid=$(cat "$pidfile")
	[ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "dockerd.*$sock"
}

start() {
	[ "$(id -u)" = 0 ] || die "dockerd needs root"
	command -v dockerd >/dev/null || die "dockerd is missing; run: apt-get install -y --no-install-recommends docker.io"
	local docker
	docker=$(client) || die "the docker client is missing; run: apt-get install -y --no-install-recommends docker.io"
	# The containerd socket under the exec root must fit a unix socket path.
	[ ${#dir} -le 70 ] || die "$dir is too long for unix sockets (use a SIGIL_TB_DIR under 60 characters)"
	mkdir -p "$dir/data" "$dir/exec"

	if ours && answers; then
		say "reusing the running daemon (DOCKER_HOST=unix://$sock)"
	else
		if ours; then
			say "the daemon in $dir does not answer: restarting it"
			stop
		fi
		echo '{}' >"$dir/daemon.json"
		setsid dockerd \
			--config-file "$dir/daemon.json" \
			--data-root "$dir/data" \
			--exec-root "$dir/exec" \
			--pidfile "$pidfile" \
			-H "unix://$sock" \
			--containerd-namespace sigil-testbed \
			--containerd-plugins-namespace sigil-testbed-plugins \
			--iptables=false --ip6tables=false --ip-masq=false --bridge=none \
			</dev/null >"$log" 2>&1 &
		local _
		for _ in $(seq 1 60); do
			if answers; then break; fi
			sleep 0.5
		done
		answers || { tail -n 20 "$log" >&2; die "dockerd did not answer on $sock within 30 s (log: $log)"; }
		say "dockerd $(DOCKER_HOST=unix://$sock "$docker" version --format '{{.Server.Version}}') started (DOCKER_HOST=unix://$sock)"
	fi
	{
		echo "# Written by testbed/dockerd.sh; source it, or let e2e/docker read it."
		echo "DOCKER_HOST='unix://$sock'"
		echo "SIGIL_DOCKER='$docker'"
	} >"$envfile"
}

stop() {
	rm -f "$envfile"
	if ! ours; then
		say "no daemon of ours is running in $dir"
		rm -f "$pidfile"
		return 0
	fi
	local pid _
	pid=$(cat "$pidfile")
	kill -TERM "$pid"
	# dockerd stops its containers and its managed containerd first.
	for _ in $(seq 1 40); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.5
	done
	if kill -0 "$pid" 2>/dev/null; then
		say "dockerd ($pid) did not stop in 20 s: killing it"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$pidfile"
	# dockerd leaves its default network namespace mounted; unmount it so
	# the bed directory can be removed.
	if [ -d "$dir/exec/netns" ]; then
		for m in "$dir"/exec/netns/*; do
			if [ -e "$m" ]; then umount "$m" 2>/dev/null || true; fi
		done
	fi
	say "stopped dockerd ($pid)"
}

case ${1:-} in
start) start ;;
stop) stop ;;
status)
	if ours && answers; then
		echo "running: DOCKER_HOST=unix://$sock"
	else
		echo "not running"
		exit 1
	fi
	;;
*)
	echo "usage: $0 start|stop|status" >&2
	exit 2
	;;
esac
