"""Shared parts of the harness's entrypoints for the Sigstore conformance suite.

The suite (sigstore/sigstore-conformance) runs a client through its CLI
protocol (docs/cli_protocol.md) and judges a case by the exit code alone: 0
for "verified", anything else for "refused". A `_fail` case therefore passes
on any non-zero exit, including an entrypoint that could not even express
the request (an unsupported argument, a flag the client lacks, a crash).
So every entrypoint here also writes, for each run, what really happened to
SIGIL_CONFORMANCE_LOG (when set), one tab-separated line per run:

    <test id>  <outcome>  <detail>

with the test id from PYTEST_CURRENT_TEST, which pytest sets for the code a
test runs, and outcome one of

    verified  the client verified the bundle (exit 0)
    rejected  the client ran the verification and refused (exit 1)
    refused   nothing was verified: the entrypoint could not map the
              request, the client could not parse its command line, or
              crashed

conformance/results.py counts a test with a `refused` run as failed, whatever
pytest concluded, and a verification test with no run at all as failed too.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# The protocol's rule: "sha256:" and a hex SHA-256, and not a path on disk.
_DIGEST = re.compile(r"sha256:[0-9a-fA-F]{64}")


def trusted_root_default() -> str:
    """The pinned public-good trusted root, for cases that carry none."""
    return os.environ.get("SIGIL_CONFORMANCE_TRUSTED_ROOT") or str(
        HERE / "trusted_root.public.json"
    )


def is_digest(arg: str) -> bool:
    """Whether FILE_OR_DIGEST is a digest under the protocol's rule."""
    return bool(_DIGEST.fullmatch(arg)) and not os.path.exists(arg)


def log(outcome: str, detail: str) -> None:
    """Records one run's outcome for results.py (see the module doc)."""
    path = os.environ.get("SIGIL_CONFORMANCE_LOG")
    if not path:
        return
    test = os.environ.get("PYTEST_CURRENT_TEST", "-").rsplit(" (", 1)[0]
    test = test.split("::")[-1]
    detail = " ".join(detail.split()) or "-"
    with open(path, "a", encoding="utf-8") as f:
        f.write(f"{test}\t{outcome}\t{detail}\n")


class Refusal(Exception):
    """A request the entrypoint cannot map onto its client."""


def refuse(name: str, why: str) -> None:
    """Logs a refusal and exits 2, so the suite sees a failure."""
    log("refused", why)
    print(f"{name}: {why}", file=sys.stderr)
    sys.exit(2)


def run(cmd: list[str]) -> subprocess.CompletedProcess:
    """Runs cmd, then passes its output on for the suite's failure messages."""
    print(f"running: {' '.join(cmd)}", file=sys.stderr)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    return proc


def first_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[0] if lines else ""


def last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""
