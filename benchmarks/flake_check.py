"""Run the battery with several Hypothesis seeds and report every result that differs.

    .venv/bin/python benchmarks/flake_check.py [--runs 20] [--first-seed 1] [PYTEST ARGS...]

Each run is ``pytest tests/test_battery.py -p no:cacheprovider --no-report -q
--hypothesis-seed=N`` with a JUnit XML file; the outcome of every test is read
from it. At the end: the outcome counts of each run, its time, and every test
whose outcome was not the same in all runs (with the seeds where it failed).
"""
import argparse
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def outcomes(junit_xml):
    """{test id: "passed" | "failed" | "error" | "skipped"} from a JUnit XML file."""
    out = {}
    for case in ET.parse(junit_xml).getroot().iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        kinds = {child.tag for child in case}
        out[name] = ("failed" if "failure" in kinds else "error" if "error" in kinds
                     else "skipped" if "skipped" in kinds else "passed")
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=1)
    args, extra = parser.parse_known_args(argv)
    by_test = defaultdict(dict)
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.first_seed, args.first_seed + args.runs):
            xml = Path(tmp) / f"run{seed}.xml"
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "pytest", "tests/test_battery.py", "-p",
                            "no:cacheprovider", "--no-report", "-q", f"--hypothesis-seed={seed}",
                            f"--junit-xml={xml}", *extra], cwd=ROOT, capture_output=True, text=True)
            got = outcomes(xml)
            for test, outcome in got.items():
                by_test[test][seed] = outcome
            counts = {k: list(got.values()).count(k) for k in ("passed", "failed", "error", "skipped")}
            print(f"seed {seed}: {counts} in {time.perf_counter() - start:.0f} s", flush=True)
    differing = {t: runs for t, runs in by_test.items() if len(set(runs.values())) > 1}
    print(f"{len(by_test)} tests x {args.runs} runs; {len(differing)} with differing outcomes")
    for test, runs in sorted(differing.items()):
        bad = [s for s, o in runs.items() if o in ("failed", "error")]
        print(f"  {test}: failed or errored with seeds {bad}")
    always_failed = [t for t, runs in by_test.items() if set(runs.values()) <= {"failed", "error"}]
    for test in always_failed:
        print(f"  {test}: failed in every run")
    return 1 if differing or always_failed else 0


if __name__ == "__main__":
    sys.exit(main())
