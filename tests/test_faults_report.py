"""What the terminal matrix and the HTML report show for the fault corpus (issue 16):
a crash is a FAIL under every filter, a float32 round-off is a WARN that does not fail the run."""
import json
import re

import pytest

from properties.cases import HARNESS
from tests.test_report_plugin import outcome_counts, run_pytest, write_project

# slow: the module shares one expensive run (kept on one xdist worker: conftest.py)
pytestmark = pytest.mark.slow

FAULT_TESTS = '''
import tests.faults.corpus  # noqa: F401
from properties.battery import all_properties
from properties.cases import Case
from properties.catalog import get
from properties.search import run_property



def test_keyerror_in_backward(result_log):
    run_property(all_properties()["grads_tf"], get("faults.KeyErrorInBackward"), result_log)


def test_crash_and_wrong_values(result_log):
    run_property(all_properties()["grads_tf"], get("faults.CrashOnBatchOneWrongElsewhere"), result_log)


def test_float32_round_off(result_log):
    case = Case(layer="faults.OnePassLayerNorm", config={"shape": (4,), "norm_dims": 1, "eps": 1e-5},
                dtype="float32", batch=1, kind="normal", seed=0, values=((300.1, 300.37, 300.52, 300.83),))
    results = all_properties()["forward_tf"].fn(case)
    result_log.add(results)
    assert all(r.passed for r in results)
'''


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = write_project(tmp_path_factory.mktemp("faults_run"), FAULT_TESTS)
    return folder / "report", run_pytest(folder, "--report-dir", "report")


def test_crashes_fail_in_the_matrix_and_round_off_warns_without_failing(run):
    _, proc = run
    lines = proc.stdout.splitlines()
    rows = {name: next((ln for ln in lines if ln.startswith(name + " ")), "")
            for name in ("faults.KeyErrorInBackward", "faults.CrashOnBatchOneWrongElsewhere",
                         "faults.OnePassLayerNorm")}
    assert "FAIL" in rows["faults.KeyErrorInBackward"], proc.stdout[-3000:]
    assert "FAIL" in rows["faults.CrashOnBatchOneWrongElsewhere"]
    assert "WARN" in rows["faults.OnePassLayerNorm"] and "FAIL" not in rows["faults.OnePassLayerNorm"]
    assert "WARN: outside tolerance in float32 only" in proc.stdout
    assert outcome_counts(proc.stdout) == {"failed": 2, "passed": 1}


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
