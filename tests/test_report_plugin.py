"""The report plugin in real pytest runs: terminal output, options, xdist, what crosses workers.

The runs here are real: a small test file written into a temporary folder uses
the project's properties on planted broken layers (and on correct ones), so the
report is fed by genuine failing result objects. ``failing_run`` is shared with
the render and browser tests (one run per session, cached here).
"""
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from oracle.result import Result
from reports.collect import ResultLog, load_arrays

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]
XSS = "<script>alert(1)</script>"

INNER_CONFTEST = '''
from hypothesis import settings
settings.register_profile("inner", max_examples=8, deadline=None, database=None,
                          derandomize=True, print_blob=True)
settings.load_profile("inner")
'''
INNER_INI = """[pytest]
markers =
    verify: the main job's checks
"""

# A run with every kind of outcome the report must show.
FAILING_TESTS = '''
import numpy as np
import pytest
from hypothesis import strategies as st

import layers as L
import tests.planted.core  # noqa: F401  (registers the planted entries)
from properties.catalog.core import stateless
from properties.registry import per_sample
from properties.search import hunt
from properties.battery import all_properties
from properties.catalog import get
from properties.registry import Entry, register
from tests.planted.core import SigmoidWrongDerivative
from properties.search import run_property

XSS = "<script>alert(1)</script>"


class SigmoidNonFiniteGrad(L.Sigmoid):
    """Bug: dx holds a NaN at its first element and +Inf at its last."""

    def backward(self, dout):
        dx = np.array(super().backward(dout), copy=True)
        dx.flat[0] = np.nan
        dx.flat[-1] = np.inf
        return dx


register(Entry("inner.Rank4Sigmoid", stateless(SigmoidWrongDerivative),
               st.just({"shape": (2, 2, 3)})), planted=__name__)
register(Entry(XSS, stateless(SigmoidNonFiniteGrad),
               st.just({"shape": (2, 3)})), planted=__name__)


def test_rank4_hypothesis_failure(result_log):
    run_property(all_properties()["grads_tf"], get("inner.Rank4Sigmoid"), result_log)


def test_nonfinite_and_markup_in_the_name(result_log):
    run_property(all_properties()["grads_tf"], get(XSS), result_log)


@pytest.mark.planted
def test_planted_bug_is_caught(result_log):
    found = hunt("planted.DenseTransposedDW", "grads_tf", max_examples=20)
    result_log.add(found.failures)
    assert found.failures[0].tensor == "dW"


@pytest.mark.parametrize("prop", ["grads_tf", "no_mutation"])
def test_a_real_layer_passes(prop, result_log):
    run_property(all_properties()[prop], get("Dense"), result_log)


def test_a_plain_assertion():
    assert 1 + 1 == 3, "plain <b>message</b> & no result object"


def test_skipped():
    pytest.skip("nothing to see")


def test_writes_training_curves(request):
    """As the reference training does: the curves of this run, into the report folder."""
    from reports.plugin import report_dir
    (report_dir(request.config) / "training_curves.json").write_text(CURVES_JSON)
'''

CURVES = {"models": [{"name": "mlp <digits>", "steps": [0, 10, 20, 30, 40],
                      "ours": [2.3, 1.5, "nan", 0.7, 0.5], "tf": [2.3, 1.5, 1.0, 0.7, 0.5],
                      "golden": [2.3, 1.6, 1.0, 0.72, 0.52], "band": 0.05,
                      "final_accuracy": 0.93, "golden_accuracy": 0.94}]}
FAILING_TESTS += f"\n\nCURVES_JSON = {json.dumps(CURVES)!r}\n"
STALE_CURVES = {"models": [{"name": "an earlier run's model", "steps": [0, 1], "ours": [1.0, 0.5]}]}

# The fault corpus's tests (tests/test_faults_report.py reads their part of the shared run).
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
# pytest's closing counts of the shared run: FAILING_TESTS' and FAULT_TESTS' together
SHARED_RUN_COUNTS = {"failed": 3 + 2, "passed": 4 + 1, "skipped": 1}


def inner_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("PYTEST_XDIST_WORKER", None)
    env.pop("PYTEST_ADDOPTS", None)
    return env


def write_project(folder, tests_source):
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "conftest.py").write_text(INNER_CONFTEST)
    (folder / "pytest.ini").write_text(INNER_INI)
    (folder / "test_inner_run.py").write_text(textwrap.dedent(tests_source))
    return folder


def run_pytest(folder, *args):
    """Run pytest in ``folder`` in a fresh interpreter (the plugin loads by its entry point)."""
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
                          cwd=folder, env=inner_env(), capture_output=True, text=True, timeout=900)


_RUNS = {}


def shared_run(test):
    """Marks a test reading the one shared run (slow: it starts among the first, on the xdist
    worker that runs the other report tests, conftest.SHARED_RUNS)."""
    return pytest.mark.slow(test)


def failing_run(tmp_path_factory):
    """(report folder, finished process) of one run of FAILING_TESTS and FAULT_TESTS, shared
    by the session.

    The report folder holds stale files of an earlier run, which the report must prune, and
    an earlier run's training curves, which one inner test writes anew (as the reference
    training does).
    """
    if "failing" not in _RUNS:
        folder = write_project(tmp_path_factory.mktemp("failing_run"), FAILING_TESTS)
        out = folder / "report"
        (out / "failures").mkdir(parents=True)
        (out / "arrays").mkdir()
        (out / "failures" / "stale.html").write_text("old")
        np.savez(out / "arrays" / "stale.npz", x=np.zeros(1))
        (out / "training_curves.json").write_text(json.dumps(STALE_CURVES))
        (folder / "test_faults_run.py").write_text(textwrap.dedent(FAULT_TESTS))
        proc = run_pytest(folder, "--report-dir", "report")
        _RUNS["failing"] = (out, proc)
    return _RUNS["failing"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return failing_run(tmp_path_factory)


def outcome_counts(stdout):
    """pytest's own closing line ("2 failed, 3 passed, 1 skipped in 4.5s") as a dict."""
    last = stdout.strip().splitlines()[-1]
    words = {"passed", "failed", "skipped", "error", "errors", "xfailed", "xpassed"}
    return {word.rstrip("s") if word == "errors" else word: int(n)
            for n, word in re.findall(r"(\d+) (\w+)", last) if word in words}


@shared_run
def test_terminal_prints_the_matrix_and_the_report_path(run):
    out, proc = run
    assert "= gradient checks =" in proc.stdout.replace("=" * 3, "="), proc.stdout[-3000:]
    (line,) = [ln for ln in proc.stdout.splitlines() if ln.startswith("report: ")]
    assert (out.parent / line.split()[1]).resolve() == (out / "index.html").resolve()
    assert re.search(r"written in \d+\.\d\d s", line)
    matrix_row = next(ln for ln in proc.stdout.splitlines() if ln.startswith("inner.Rank4Sigmoid"))
    assert "FAIL" in matrix_row
    assert outcome_counts(proc.stdout) == SHARED_RUN_COUNTS


@shared_run
def test_every_recorded_result_reaches_results_json_once(run):
    out, _ = run
    tests = {t["nodeid"]: t for t in json.loads((out / "results.json").read_text())["tests"]}
    assert len(tests) == sum(SHARED_RUN_COUNTS.values())
    assert len([n for n in tests if n.startswith("test_inner_run.py::")]) == 8
    keys = [(n, r["layer"], r["prop"], r["tensor"], r["oracle"])
            for n, t in tests.items() for r in t["results"]]
    assert len(keys) == len(set(keys)) and keys
    rank4 = tests["test_inner_run.py::test_rank4_hypothesis_failure"]
    failing = [r for r in rank4["results"] if not r["passed"]]
    assert failing and all(r["arrays_file"] for r in failing)
    arrays = load_arrays(out, failing[0]["arrays_file"])
    assert arrays["layer"].shape == (1, 2, 2, 3) and set(arrays) >= {"layer", "tf", "fd"}
    passing = [r for t in tests.values() for r in t["results"] if r["passed"]]
    assert passing and not any("arrays_file" in r or "arrays" in r for r in passing)


@shared_run
def test_stale_pages_and_arrays_are_pruned_and_other_files_kept(run):
    out, _ = run
    assert not (out / "failures" / "stale.html").exists()
    assert not (out / "arrays" / "stale.npz").exists()
    assert (out / "training_curves.json").exists()
    referenced = {r["arrays_file"] for t in json.loads((out / "results.json").read_text())["tests"]
                  for r in t["results"] if r.get("arrays_file")}
    assert {f"arrays/{p.name}" for p in (out / "arrays").iterdir()} == referenced


LAW_TESTS = '''
import json, os, hashlib
import pytest
import tests.planted.core  # noqa: F401
from properties.search import hunt
from reports.plugin import record_summary

CASES = [("planted.ReLUMutatesDout", "no_mutation"), ("planted.SoftmaxCEIgnoresDout", "linear_in_dout"),
         ("planted.DenseBiasMean", "batch_additive"), ("planted.SoftmaxCEMissingMean", "batch_additive")]


@pytest.mark.parametrize("entry,prop", CASES)
def test_law_failure(entry, prop, result_log, request):
    found = hunt(entry, prop, max_examples=10)
    result_log.add(found.failures)
    truth = sorted([r.layer, r.prop, r.tensor, r.oracle] for r in found.failures)
    name = hashlib.sha1(request.node.nodeid.encode()).hexdigest()
    with open(os.path.join(os.environ["TRUTH_DIR"], name + ".json"), "w") as f:
        json.dump({"nodeid": request.node.nodeid, "failing": truth}, f)
    assert False, f"{entry} failed {prop} as planted"


@pytest.mark.parametrize("i", range(4))
def test_passing(i, result_log, request):
    assert hunt("ReLU", "no_mutation", max_examples=3, shrink=False) is None
    record_summary(request.node, f"summary line {i} from worker {os.environ.get('PYTEST_XDIST_WORKER')}")
'''


@pytest.mark.slow
def test_xdist_every_result_from_every_worker_arrives_once(pytester, monkeypatch):
    truth = pytester.mkdir("truth")
    monkeypatch.setenv("TRUTH_DIR", str(truth))
    monkeypatch.setenv("PYTHONPATH", inner_env()["PYTHONPATH"])
    pytester.makeconftest(INNER_CONFTEST)
    pytester.makeini(INNER_INI)
    pytester.makepyfile(test_laws=LAW_TESTS)
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider",
                                           "--report-dir", "out", timeout=600)
    result.assert_outcomes(failed=4, passed=4)
    summary = [l for l in result.stdout.lines if l.startswith("summary line ")]
    assert sorted(l.split()[2] for l in summary) == ["0", "1", "2", "3"], result.stdout.str()
    assert {l.split()[-1] for l in summary} <= {"gw0", "gw1"}     # printed by the controller
    out = pytester.path / "out"
    tests = json.loads((out / "results.json").read_text())["tests"]
    assert len(tests) == 8 and len({t["nodeid"] for t in tests}) == 8
    assert {t["worker"] for t in tests if t["results"]} == {"gw0", "gw1"}
    expected = {d["nodeid"]: sorted(map(tuple, d["failing"]))
                for d in (json.loads(p.read_text()) for p in truth.iterdir())}
    reported = {t["nodeid"]: sorted((r["layer"], r["prop"], r["tensor"], r["oracle"])
                                    for r in t["results"] if not r["passed"])
                for t in tests if t["outcome"] == "failed"}
    assert reported == expected
    pages = sorted((out / "failures").glob("*.html"))
    assert len(pages) == sum(map(len, expected.values()))
    for t in tests:
        for r in t["results"]:
            if not r["passed"]:
                assert load_arrays(out, r["arrays_file"])["layer"].size == r["n_total"]
    index = (out / "index.html").read_text()
    assert index.count('class="failure"') == len(pages)
    assert "gw0" in index and "gw1" in index


@pytest.mark.slow
def test_default_folder_and_no_report(pytester, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", inner_env()["PYTHONPATH"])
    monkeypatch.delenv("GRADCHECK_CWD", raising=False)   # paths are shown from the run's cwd
    pytester.makeconftest(INNER_CONFTEST)
    pytester.makeini(INNER_INI)
    pytester.makepyfile(test_laws=LAW_TESTS.replace('os.environ["TRUTH_DIR"]', "'.'"))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-k", "Relu or passing",
                                           "--no-report", timeout=600)
    result.assert_outcomes(failed=1, passed=4)
    assert not (pytester.path / "reports").exists()
    result.stdout.fnmatch_lines(["*planted.ReLUMutatesDout*FAIL*"])
    assert "report: " not in result.stdout.str()
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-k", "Relu", timeout=600)
    # a run outside the project writes nothing into its folder: the report goes to the project's
    index = ROOT / "reports" / "out" / "index.html"
    assert index.is_file() and not (pytester.path / "reports").exists()
    result.stdout.fnmatch_lines([f"report: {index}*"])


def test_result_log_keeps_the_last_failing_example_and_the_worst_pass(tmp_path):
    def res(tensor, passed, ratio):
        return Result(layer="L", prop="p", tensor=tensor, oracle="tf", passed=passed,
                      ratio=np.float32(ratio), arrays={"layer": np.full(3, ratio), "tf": np.zeros(3)})

    log = ResultLog(arrays_dir=tmp_path / "arrays")
    log.add([res("dx", False, 9.0), res("dW", True, 0.1)])    # an early failing example
    log.add([res("dx", True, 0.2), res("dW", True, 0.4)])     # a passing one
    log.add([res("dx", False, 3.0), res("dW", True, 0.3)])    # the final (shrunk) failure
    payload = json.loads(log.to_json(order=5))
    by_tensor = {r["tensor"]: r for r in payload["results"]}
    assert payload["examples"] == 3 and payload["order"] == 5
    assert by_tensor["dx"]["passed"] is False and by_tensor["dx"]["ratio"] == 3.0
    assert by_tensor["dW"]["passed"] is True and by_tensor["dW"]["ratio"] == pytest.approx(0.4)
    saved = load_arrays(tmp_path, by_tensor["dx"]["arrays_file"])
    np.testing.assert_array_equal(saved["layer"], np.full(3, 3.0))
    assert "arrays_file" not in by_tensor["dW"]
