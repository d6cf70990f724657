#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# testbed/install.sh [bed|clients|tools]: installs with `go install
# module@version` into a cache outside the repository, one directory per
# version, and reuses what is already there; prints the cache's path,
# progress on stderr.
#
#   bed      (the default; testbed/up.sh runs it) the bed's servers: Fulcio,
#            Trillian, the CT log, Rekor v1 and v2, the TSA, the
#            distribution registry
#   clients  (make bench) the reference clients, cosign v2 and v3, where
#            the bed's env file says they are (SIGIL_TB_COSIGN2, _COSIGN3)
#   tools    (make test) what only tests run: the clients, the cluster
#            verifiers (install-verifiers.sh), actionlint and staticcheck
#            (install-gotool.sh)
#
# On 2 cores one build keeps both busy while it compiles, so the builds of
# the first lane run one after another. What would leave a core idle runs
# beside them: the module downloads of every missing `go install` start at
# once (`go install -n` loads and downloads, compiles nothing), and a second
# lane of builds runs at the lowest priority, so that it takes only the CPU
# the first leaves (while it downloads or links) and never starves it; once
# the first lane is done it runs at the normal priority. One install at a
# time per cache: two in one directory would corrupt it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
cache=${SIGIL_TB_CACHE:-$HOME/.cache/sigil-testbed}
mkdir -p "$cache"
what=${1:-bed}

# An item is either "go NAME MODULE VERSION PACKAGE...", each package's
# binary landing in $cache/NAME-VERSION (marked with .done once all are
# built; "." is the module's root package), or "run SCRIPT ARG...", a
# script of this directory that installs and reuses on its own.
clients=(
	"go cosign3 $COSIGN3_MOD $COSIGN3_VERSION /cmd/cosign"
	"go cosign2 $COSIGN2_MOD $COSIGN2_VERSION /cmd/cosign"
)
case $what in
bed)
	lane1=(
		"go rekor $REKOR_MOD $REKOR_VERSION /cmd/rekor-server"
		"go fulcio $FULCIO_MOD $FULCIO_VERSION ."
		"go trillian $TRILLIAN_MOD $TRILLIAN_VERSION /cmd/trillian_log_server /cmd/trillian_log_signer"
		"go ctfe $CTFE_MOD $CTFE_VERSION /trillian/ctfe/ct_server"
	)
	lane2=(
		# Trillian's createtree makes the CT log's tree (once per bed, see up.sh).
		"go trillian-createtree $TRILLIAN_MOD $TRILLIAN_VERSION /cmd/createtree"
		"go distribution $DISTRIBUTION_MOD $DISTRIBUTION_VERSION /cmd/registry"
		"go tsa $TSA_MOD $TSA_VERSION /cmd/timestamp-server"
		"go rekor-tiles $REKOR_TILES_MOD $REKOR_TILES_VERSION /cmd/rekor-server/posix"
	)
	;;
clients)
	lane1=("${clients[@]}")
	lane2=()
	;;
tools)
	lane1=("${clients[@]}")
	lane2=("run install-gotool.sh actionlint" "run install-gotool.sh staticcheck" "run install-verifiers.sh")
	;;
*)
	echo "usage: testbed/install.sh [bed|clients|tools]" >&2
	exit 2
	;;
esac

exec 8>"$cache/.install.lock"
if ! flock -n 8; then
	echo "testbed: another install into $cache is running; waiting for it" >&2
	flock -w 3600 8 || { echo "testbed: $cache/.install.lock was held for an hour" >&2; exit 1; }
fi

# todo KIND NAME MODULE VERSION: whether an item is still to do.
todo() { [ "$1" = run ] || [ ! -f "$cache/$2-$4/.done" ]; }

# pkgs MODULE VERSION PACKAGE...: the go install arguments.
pkgs() {
	local mod=$1 ver=$2 p
	shift 2
	for p in "$@"; do
		if [ "$p" = . ]; then echo "$mod@$ver"; else echo "$mod$p@$ver"; fi
	done
}

# item KIND ...: does one item.
item() {
	if [ "$1" = run ]; then
		shift
		"$here/$1" "${@:2}" >/dev/null
		return
	fi
	local name=$2 mod=$3 ver=$4 start=$SECONDS args
	shift 4
	local dir="$cache/$name-$ver"
	mkdir -p "$dir" || return 1
	mapfile -t args < <(pkgs "$mod" "$ver" "$@")
	echo "testbed: go install ${args[*]}" >&2
	GOBIN="$dir" GOFLAGS=-buildvcs=false CGO_ENABLED=0 go install -trimpath -ldflags='-s -w' "${args[@]}" || return 1
	touch "$dir/.done" || return 1
	echo "testbed: $name $ver installed in $((SECONDS - start))s" >&2
}

# Downloads first, for every go item still to do; they only read and fill
# the module cache, which is safe to share.
fetchers=()
for it in "${lane1[@]}" "${lane2[@]}"; do
	# shellcheck disable=SC2086 # an item is words
	set -- $it
	if [ "$1" = go ] && todo "$@"; then
		mapfile -t args < <(pkgs "$3" "$4" "${@:5}")
		GOFLAGS=-buildvcs=false CGO_ENABLED=0 nice -n 10 go install -n "${args[@]}" >/dev/null 2>&1 8>&- &
		fetchers+=($!)
	fi
done

# The second lane runs in a process group of its own, so that all of it
# can be given the normal priority again once the first lane is done (as
# root; otherwise it stays low) and be stopped when this script stops. It
# keeps the install lock open: a lane left running holds off the next
# install.
set -m
(
	renice -n 19 -p "$BASHPID" >/dev/null
	for it in "${lane2[@]}"; do
		# shellcheck disable=SC2086
		set -- $it
		if todo "$@"; then item "$@" || exit 1; fi
	done
) &
second=$!
set +m
stop() { kill -- -"$second" "${fetchers[@]}" 2>/dev/null || true; }
trap stop EXIT
trap 'exit 130' INT TERM
for it in "${lane1[@]}"; do
	# shellcheck disable=SC2086
	set -- $it
	if todo "$@"; then item "$@" || { echo "testbed: install.sh $what failed (see above)" >&2; exit 1; }; fi
done
renice -n 0 -g "$second" >/dev/null 2>&1 || true
wait "$second" || { echo "testbed: install.sh $what failed (see above)" >&2; exit 1; }
trap - EXIT
for pid in "${fetchers[@]}"; do wait "$pid" || true; done

# Trillian's MySQL schema ships in its module.
if [ "$what" = bed ] && [ ! -f "$cache/trillian-$TRILLIAN_VERSION/storage.sql" ]; then
	dir=$(cd "$cache" && GOWORK=off GOFLAGS='' go mod download -json "$TRILLIAN_MOD@$TRILLIAN_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	cp "$dir/storage/mysql/schema/storage.sql" "$cache/trillian-$TRILLIAN_VERSION/storage.sql"
fi
echo "$cache"
