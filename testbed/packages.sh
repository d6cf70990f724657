#!/usr/bin/env bash
# testbed/packages.sh GROUP...: the Debian packages each make target needs,
# installed when missing. The one list of them: the Makefile's targets and
# .ci/run call this script.
#
#   bed, demo    the test bed and `make demo`: mariadb-server (Trillian's
#                database), iproute2 and util-linux (network namespaces:
#                ip, unshare, nsenter, setsid, flock), ca-certificates (the
#                Go module proxy over HTTPS), make
#   test         `make test`: the bed's, plus gcc and libc6-dev (go test
#                -race), shellcheck (actionlint runs it on the workflows'
#                scripts), docker.io (the action image's tests, on the
#                bed's own daemon; a machine with another dockerd keeps it)
#                and nodejs and npm (GitHub's @actions/attest, which the
#                provenance test runs; likewise kept when present)
#   bench        `make bench`: the bed's, plus time (GNU time)
#   conformance  `make conformance`: Python, pytest and the modules the
#                Sigstore conformance suite imports
#
# Prints nothing when every package is there. As root it installs what is
# missing (`apt-get update` first, then `apt-get install
# --no-install-recommends`), without starting the services the packages
# bring (the bed runs its own mariadbd and dockerd): a policy-rc.d that
# forbids starts is put in place for the install, unless one is there
# already. Otherwise it prints the command to run and exits 1. On a machine
# without dpkg and apt-get it only says what the targets need.
set -euo pipefail

say() { echo "packages.sh: $*" >&2; }

bed=(mariadb-server iproute2 util-linux ca-certificates make)
want=()
for group in "$@"; do
	case $group in
	bed | demo) want+=("${bed[@]}") ;;
	test)
		want+=("${bed[@]}" gcc libc6-dev shellcheck)
		command -v dockerd >/dev/null || want+=(docker.io)
		# node and npm run GitHub's @actions/attest; a machine with its own
		# (NodeSource's) keeps them.
		command -v node >/dev/null || want+=(nodejs)
		command -v npm >/dev/null || want+=(npm)
		;;
	bench) want+=("${bed[@]}" time) ;;
	conformance) want+=(python3 python3-pytest python3-pytest-subtests python3-cryptography python3-platformdirs) ;;
	*) say "unknown group $group: want bed (or demo), test, bench or conformance"; exit 2 ;;
	esac
done
[ ${#want[@]} -gt 0 ] || { say "usage: testbed/packages.sh bed|test|bench|conformance..."; exit 2; }
mapfile -t want < <(printf '%s\n' "${want[@]}" | sort -u)

if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
	say "no dpkg-query or apt-get: not a Debian machine; install the equivalents of: ${want[*]}"
	exit 0
fi

missing=()
for p in "${want[@]}"; do
	[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null)" = "ii " ] || missing+=("$p")
done
[ ${#missing[@]} -gt 0 ] || exit 0

cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" != 0 ]; then
	say "missing Debian packages: ${missing[*]}"
	say "run as root: apt-get update && $cmd"
	say "(or run the make target as root: it installs them without starting MariaDB's or Docker's system service)"
	exit 1
fi

policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	trap 'rm -f "$policy"' EXIT
fi
say "installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# apt's output goes to a log, shown when it fails. Another apt run (a
# second make, the system's own) may hold the lock for a while: wait for it
# rather than fail.
log=$(mktemp "${TMPDIR:-/tmp}/sigil-packages-XXXXXX")
apt=(apt-get -q -o DPkg::Lock::Timeout=300)
if ! { "${apt[@]}" update && "${apt[@]}" install -y --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
	tail -n 30 "$log" >&2
	say "ERROR: apt-get failed (whole output: $log); the command was: apt-get update && $cmd"
	exit 1
fi
rm -f "$log"
say "installed ${missing[*]}"
