#!/usr/bin/env bash
# Runs the Sigstore conformance suite's own pytest code, verification cases
# only and offline, against sigil (through sigil-conformance) and against
# the reference client, sigstore-go's conformance CLI (through
# sigstore-go-conformance), and prints one summary line per client:
#
#   sigil: P passed, F failed, S skipped
#   sigstore-go: P passed, F failed, S skipped
#
# Per-test results go to conformance/results/<client>.txt (see results.py),
# pytest's full output to conformance/results/<client>.log (not committed).
# Exits 1 when a test of either client failed.
#
# The suite comes from fetch.sh (cached), the reference client from
# install-reference.sh (cached); sigil is SIGIL_BIN (default bin/sigil,
# which `make conformance` builds). Python and pytest are Debian's
# (/usr/bin/python3; SIGIL_CONFORMANCE_PYTHON overrides). Signing tests are
# skipped with the suite's own --skip-signing flag, the CPython release test
# (which needs a GitHub checkout) with its own switch; pytest prints both
# reasons. Each pytest runs in a network namespace of its own (unshare -n,
# as root) with no interface up, so no test can pass by reaching a network.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
python=${SIGIL_CONFORMANCE_PYTHON:-/usr/bin/python3}
sigil=${SIGIL_BIN:-$here/../bin/sigil}
sigil=$(cd "$(dirname "$sigil")" && pwd)/$(basename "$sigil")
results=$here/results

if ! "$python" -c 'import pytest, cryptography, platformdirs' 2>/dev/null; then
	echo "conformance: $python lacks pytest, cryptography or platformdirs: apt-get install python3-pytest python3-cryptography python3-platformdirs" >&2
	exit 1
fi
[ -x "$sigil" ] || { echo "conformance: no sigil binary at $sigil (run make conformance, or set SIGIL_BIN)" >&2; exit 1; }
suite=$("$here/fetch.sh")
reference=$("$here/install-reference.sh")

netns=()
if unshare -n true 2>/dev/null; then
	netns=(unshare -n)
else
	echo "conformance: cannot make a network namespace (unshare -n needs root); running without one" >&2
fi

# The suite copies its assets into a new directory for every test: on a
# tmpfs the run takes a quarter of the time.
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
	export TMPDIR=/dev/shm
fi
mkdir -p "$results"
work=$(mktemp -d "${TMPDIR:-/tmp}/sigil-conformance-XXXXXX")
trap 'rm -rf "$work"' EXIT
# The entrypoints (#!/usr/bin/env python3) run on the same Python.
mkdir "$work/bin"
ln -s "$python" "$work/bin/python3"

# suite NAME ENTRYPOINT [VAR=VALUE...]: runs pytest for one client in the
# background, into $work/NAME.*.
suite() {
	local name=$1 entry=$2
	shift 2
	: >"$work/$name.runs"
	(
		cd "$suite"
		env -u GITHUB_WORKSPACE -u GHA_SIGSTORE_CONFORMANCE_XFAIL PATH="$work/bin:$PATH" \
			PYTHONPATH="$here/pystandin" PYTHONDONTWRITEBYTECODE=1 \
			GHA_SIGSTORE_CONFORMANCE_SKIP_CPYTHON_RELEASE_TESTS=true \
			SIGIL_CONFORMANCE_LOG="$work/$name.runs" "$@" \
			"${netns[@]}" "$python" -m pytest test --entrypoint="$entry" --skip-signing \
			-p no:cacheprovider -o filterwarnings= -rs -q --junitxml="$work/$name.xml"
	) >"$results/$name.log" 2>&1
}

# report NAME PID: waits for NAME's pytest and turns its output into results.
report() {
	local name=$1 pid=$2 rc=0
	wait "$pid" || rc=$?
	# pytest: 0 all passed, 1 some failed; anything else is the harness's fault.
	if [ "$rc" -gt 1 ] || [ ! -s "$work/$name.xml" ]; then
		echo "conformance: pytest for $name exited $rc; end of $results/$name.log:" >&2
		tail -n 30 "$results/$name.log" >&2
		return 1
	fi
	# The skip reasons (the counts that matter are results.py's).
	sed -n '/short test summary info/,$p' "$results/$name.log" | grep '^SKIPPED' | sed "s/^/$name: /" >&2 || true
	"$python" "$here/results.py" --name "$name" --junit "$work/$name.xml" \
		--log "$work/$name.runs" --suite "$suite" --out "$results/$name.txt"
}

start=$SECONDS
suite sigil "$here/sigil-conformance" SIGIL_BIN="$sigil" &
sigil_pid=$!
suite sigstore-go "$here/sigstore-go-conformance" SIGIL_CONFORMANCE_REFERENCE="$reference" &
ref_pid=$!
status=0
report sigstore-go "$ref_pid" || status=1
report sigil "$sigil_pid" || status=1
echo "conformance: suite $(sed -n 's/^commit //p' "$suite/.source"), both clients in $((SECONDS - start))s; per-test results in conformance/results/" >&2
exit "$status"
