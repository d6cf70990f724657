#!/usr/bin/env python3
"""Turns one conformance run into the harness's per-test results and counts.

    results.py --name NAME --junit FILE --log FILE --suite DIR --out FILE

reads pytest's JUnit XML (--junit) and the entrypoint's run log (--log, see
entrypoint.py), and writes one line per test to --out, sorted by test id:

    STATUS  test-id  detail

STATUS is pytest's outcome, except that a test is FAILED when a run of the
entrypoint in it was `refused` (nothing was verified, so a `_fail` case
that the suite saw exit non-zero has not passed), or when pytest ran it but
it never ran the entrypoint. detail is what the client did (verified, or
why it rejected or refused) or why the test was skipped, with the paths of
this machine replaced by <suite>, <repo> and <workspace>. It then prints

    NAME: P passed, F failed, S skipped

and exits 1 when a test failed, or when the suite's verification tests are
not exactly two per case directory (path and digest form), 0 otherwise.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

RANK = {"verified": 0, "rejected": 1, "refused": 2}


def read_log(path: Path) -> dict[str, list[tuple[str, str]]]:
    runs: dict[str, list[tuple[str, str]]] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            test, outcome, detail = (line.split("\t", 2) + ["", ""])[:3]
            runs.setdefault(test, []).append((outcome, detail))
    return runs


def scrub(text: str, subs: list[tuple[str, str]]) -> str:
    for pattern, repl in subs:
        text = re.sub(pattern, repl, text)
    return " ".join(text.split())


def main() -> int:
    ap = argparse.ArgumentParser()
    for flag in ("--name", "--junit", "--log", "--suite", "--out"):
        ap.add_argument(flag, required=True)
    args = ap.parse_args()
    suite = Path(args.suite).resolve()
    repo = Path(__file__).resolve().parent.parent
    tmp = re.escape(tempfile.gettempdir())
    subs = [
        (re.escape(str(suite)), "<suite>"),
        (re.escape(str(repo)), "<repo>"),
        (tmp + r"/tmp[A-Za-z0-9_]{8}", "<workspace>"),
        # Go's log package stamps each line with the time.
        (r"\b\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} ", ""),
    ]
    runs = read_log(Path(args.log))

    rows, counts, overruled = [], {"PASSED": 0, "FAILED": 0, "SKIPPED": 0}, 0
    for case in ET.parse(args.junit).iter("testcase"):
        test = case.get("name", "?")
        status, detail = "PASSED", ""
        for child in case:
            if child.tag in ("failure", "error"):
                status = "FAILED"
            elif child.tag == "skipped":
                status, detail = "SKIPPED", child.get("message", "")
        pytest_status = status
        if status != "SKIPPED":
            mine = runs.get(test, [])
            if not mine:
                status, detail = "FAILED", "the client was never run"
            else:
                worst = max(RANK.get(o, 2) for o, _ in mine)
                if worst == RANK["refused"]:
                    status = "FAILED"
                detail = "; ".join(
                    dict.fromkeys(o if d in ("", "-") else f"{o}: {d}" for o, d in mine)
                )
                if status == "FAILED" and all(o == "verified" for o, _ in mine):
                    detail = "verified, but the case must be refused"
        if status == "FAILED" and pytest_status == "PASSED":
            overruled += 1
        counts[status] += 1
        rows.append((test, status, scrub(detail, subs)))

    rows.sort()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as f:
        for test, status, detail in rows:
            f.write(f"{status:<8}{test}  {detail}\n")

    cases = [d for d in (suite / "test" / "assets" / "bundle-verify").iterdir() if d.is_dir()]
    verify_tests = sum(1 for test, _, _ in rows if test.startswith("test_verify["))
    line = (f"{args.name}: {counts['PASSED']} passed, {counts['FAILED']} failed, "
            f"{counts['SKIPPED']} skipped")
    if overruled:
        print(f"{args.name}: {overruled} tests that pytest passed are failed here: "
              "the client verified nothing in them (see the results)", file=sys.stderr)
    print(line)
    if verify_tests != 2 * len(cases):
        print(f"{args.name}: {verify_tests} verification tests ran, want {2 * len(cases)} "
              f"(path and digest form of {len(cases)} cases)", file=sys.stderr)
        return 1
    return 1 if counts["FAILED"] else 0


if __name__ == "__main__":
    sys.exit(main())
