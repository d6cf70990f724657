#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# testbed/install.sh [bed|tools]: installs with `go install module@version`
# into a cache outside the repository, one directory per version, and reuses
# what is already there; prints the cache's path, progress on stderr.
#
#   bed    (the default; testbed/up.sh runs it) the bed's servers: Fulcio,
#          Trillian, the CT log, Rekor v1 and v2, the TSA, the distribution
#          registry
#   tools  (make test, make bench) the reference clients only tests run,
#          cosign v2 and v3, where the bed's env file says they are
#          (SIGIL_TB_COSIGN2, SIGIL_TB_COSIGN3)
#
# On 2 cores one build keeps both busy while it compiles, so builds run one
# after another. What would leave a core idle runs beside them: the module
# downloads of every missing build start at once (`go install -n` loads and
# downloads, compiles nothing), and a second lane of builds runs at the
# lowest priority, so that it takes only the CPU the first leaves (while the
# first downloads or links) and never starves it. One install at a time per
# cache: two in one directory would corrupt it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
cache=${SIGIL_TB_CACHE:-$HOME/.cache/sigil-testbed}
mkdir -p "$cache"
set=${1:-bed}

# Each item: NAME MODULE VERSION PACKAGE...; each package's binary lands in
# $cache/NAME-VERSION, marked with .done once all are built. The package is
# a path in the module, "." for its root.
case $set in
bed)
	items=(
		"rekor $REKOR_MOD $REKOR_VERSION /cmd/rekor-server"
		"fulcio $FULCIO_MOD $FULCIO_VERSION ."
		"trillian $TRILLIAN_MOD $TRILLIAN_VERSION /cmd/trillian_log_server /cmd/trillian_log_signer"
		"ctfe $CTFE_MOD $CTFE_VERSION /trillian/ctfe/ct_server"
		"rekor-tiles $REKOR_TILES_MOD $REKOR_TILES_VERSION /cmd/rekor-server/posix"
		"tsa $TSA_MOD $TSA_VERSION /cmd/timestamp-server"
		"distribution $DISTRIBUTION_MOD $DISTRIBUTION_VERSION /cmd/registry"
		# Trillian's createtree makes the CT log's tree (once per bed, see up.sh).
		"trillian-createtree $TRILLIAN_MOD $TRILLIAN_VERSION /cmd/createtree"
	)
	;;
tools)
	items=(
		"cosign3 $COSIGN3_MOD $COSIGN3_VERSION /cmd/cosign"
		"cosign2 $COSIGN2_MOD $COSIGN2_VERSION /cmd/cosign"
	)
	;;
*)
	echo "usage: testbed/install.sh [bed|tools]" >&2
	exit 2
	;;
esac

exec 8>"$cache/.install.lock"
if ! flock -n 8; then
	echo "testbed: another install into $cache is running; waiting for it" >&2
	flock -w 3600 8 || { echo "testbed: $cache/.install.lock was held for an hour" >&2; exit 1; }
fi

done_() { [ -f "$cache/$1-$3/.done" ]; }

# pkgs MODULE VERSION PACKAGE...: the go install arguments.
pkgs() {
	local mod=$1 ver=$2 p
	shift 2
	for p in "$@"; do
		if [ "$p" = . ]; then echo "$mod@$ver"; else echo "$mod$p@$ver"; fi
	done
}

# build NAME MODULE VERSION PACKAGE...
build() {
	local name=$1 mod=$2 ver=$3 start=$SECONDS args
	shift 3
	local dir="$cache/$name-$ver"
	mkdir -p "$dir" || return 1
	mapfile -t args < <(pkgs "$mod" "$ver" "$@")
	echo "testbed: go install ${args[*]}" >&2
	GOBIN="$dir" GOFLAGS=-buildvcs=false CGO_ENABLED=0 go install -trimpath -ldflags='-s -w' "${args[@]}" || return 1
	touch "$dir/.done" || return 1
	echo "testbed: $name $ver installed in $((SECONDS - start))s" >&2
}

todo=()
for item in "${items[@]}"; do
	read -r name mod ver _ <<<"$item"
	done_ "$name" "$mod" "$ver" || todo+=("$item")
done

if [ ${#todo[@]} -gt 0 ]; then
	fetchers=()
	for item in "${todo[@]}"; do
		# shellcheck disable=SC2086 # an item is words
		set -- $item
		mapfile -t args < <(pkgs "$2" "$3" "${@:4}")
		GOFLAGS=-buildvcs=false CGO_ENABLED=0 nice -n 10 go install -n "${args[@]}" >/dev/null 2>&1 8>&- &
		fetchers+=($!)
	done
	# The second lane takes the later half of the list, from its end; it
	# stops once the first lane has failed.
	failed=$(mktemp "${TMPDIR:-/tmp}/sigil-install-XXXXXX")
	rm -f "$failed"
	n=${#todo[@]} half=$(((${#todo[@]} + 1) / 2))
	(
		renice -n 19 -p "$BASHPID" >/dev/null
		for ((i = n - 1; i >= half; i--)); do
			[ ! -e "$failed" ] || exit 1
			# shellcheck disable=SC2086
			build ${todo[i]} || exit 1
		done
	) 8>&- &
	lane2=$!
	rc=0
	for ((i = 0; i < half; i++)); do
		# shellcheck disable=SC2086
		build ${todo[i]} || { rc=1; touch "$failed"; break; }
	done
	wait "$lane2" || rc=1
	rm -f "$failed"
	for pid in "${fetchers[@]}"; do wait "$pid" || true; done
	[ $rc = 0 ] || { echo "testbed: install $set failed (see above)" >&2; exit 1; }
fi

# Trillian's MySQL schema ships in its module.
if [ "$set" = bed ] && [ ! -f "$cache/trillian-$TRILLIAN_VERSION/storage.sql" ]; then
	dir=$(cd "$cache" && GOWORK=off GOFLAGS='' go mod download -json "$TRILLIAN_MOD@$TRILLIAN_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	cp "$dir/storage/mysql/schema/storage.sql" "$cache/trillian-$TRILLIAN_VERSION/storage.sql"
fi
echo "$cache"
