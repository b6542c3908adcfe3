"""What the terminal matrix and the HTML report show for the fault corpus (issue 16):
a crash is a FAIL under every filter, a float32 round-off is a WARN that does not fail the run.
The run is the report tests' shared one (``failing_run``), whose project holds FAULT_TESTS
beside its own tests: one fresh interpreter (and TF import) for both."""
import json
import re

import pytest

from properties.cases import HARNESS
from tests.test_report_plugin import failing_run

# slow: the module reads the shared run (kept on one xdist worker: conftest.py)
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return failing_run(tmp_path_factory)


def faults_outcomes(out):
    """The outcome of each test of FAULT_TESTS, from the run's results.json."""
    tests = json.loads((out / "results.json").read_text())["tests"]
    return {t["nodeid"].split("::")[1]: t["outcome"] for t in tests
            if t["nodeid"].startswith("test_faults_run.py::")}


def test_crashes_fail_in_the_matrix_and_round_off_warns_without_failing(run):
    out, proc = run
    lines = proc.stdout.splitlines()
    rows = {name: next((ln for ln in lines if ln.startswith(name + " ")), "")
            for name in ("faults.KeyErrorInBackward", "faults.CrashOnBatchOneWrongElsewhere",
                         "faults.OnePassLayerNorm")}
    assert "FAIL" in rows["faults.KeyErrorInBackward"], proc.stdout[-3000:]
    assert "FAIL" in rows["faults.CrashOnBatchOneWrongElsewhere"]
    assert "WARN" in rows["faults.OnePassLayerNorm"] and "FAIL" not in rows["faults.OnePassLayerNorm"]
    assert "WARN: not counted as a failure: outside tolerance in float32 only" in proc.stdout
    assert faults_outcomes(out) == {"test_keyerror_in_backward": "failed",
                                    "test_crash_and_wrong_values": "failed",
                                    "test_float32_round_off": "passed"}


def test_the_report_shows_crash_and_value_failure_under_every_filter(run):
    out, _ = run
    index = (out / "index.html").read_text()
    tests = {t["nodeid"].split("::")[1]: t for t in json.loads((out / "results.json").read_text())["tests"]}
    both = {r["verdict"] for r in tests["test_crash_and_wrong_values"]["results"] if not r["passed"]}
    assert both == {"layer bug", "layer raised"}
    for layer in ("faults.KeyErrorInBackward", "faults.CrashOnBatchOneWrongElsewhere"):
        assert f'<option value="{layer}">' in index                     # selectable in the filter
        row = re.search(r'<tr class="layer-row"[^>]*data-layers=\'\["%s"\]\' data-outcomes="([^"]*)"'
                        % re.escape(layer), index)
        assert row and "fail" in row.group(1).split(), layer          # shown when filtering "failing"
        assert re.search(r'<tr class="failure"[^>]*data-layers=\'\["%s"\]\'' % re.escape(layer), index)
    crash = next(r for r in tests["test_keyerror_in_backward"]["results"] if not r["passed"])
    assert crash["verdict"] == "layer raised" and "corpus.py:" in crash["note"]
    assert crash["reproduce"].startswith(f"{HARNESS} replay --import tests.faults.corpus grads_tf ")
    pages = list((out / "failures").glob("faults.KeyErrorInBackward*.html"))
    assert pages and "layer raised" in pages[0].read_text()


def test_the_report_marks_the_warning_apart(run):
    out, _ = run
    index = (out / "index.html").read_text()
    row = re.search(r'data-layers=\'\["faults.OnePassLayerNorm"\]\' data-outcomes="([^"]*)"', index)
    assert row and row.group(1).split() == ["warn"]
    assert '<td class="cell warn" data-outcome="warn"' in index and '<option value="warn">' in index
    assert re.search(r'data-count="checks_warned">1<', index)
