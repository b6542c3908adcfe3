"""pytest plugin: collect every result object (also under xdist) and write the HTML report.

Tests record results through the ``result_log`` fixture. The log travels as a
JSON string in the test report's ``user_properties`` (plain Python only), so
results from xdist workers reach the controller intact; the arrays of failing
results are written by the worker into the report folder and only their file
names travel. The controller keeps one record per test (keyed by node id, so
nothing is counted twice), prints a layer-by-property matrix, writes the report
folder and prints where it is.

Options: ``--report-dir DIR`` (default ``reports/out`` under the rootdir,
git-ignored) and ``--no-report`` (nothing written; the terminal matrix stays).
"""
import datetime
import json
import os
import time
import traceback
from pathlib import Path

import pytest

from reports.collect import ARRAYS_SUBDIR, ResultLog
from reports.environment import environment
from reports.model import RecordedTest, build_report

KEY = "gradcheck_results"
SUMMARY_KEY = "gradcheck_summary"
PROJECT = Path(__file__).resolve().parent.parent
MAX_LONGREPR = 60_000


def pytest_addoption(parser):
    group = parser.getgroup("gradcheck", "gradient-verification report")
    group.addoption("--report-dir", default=None,
                    help="folder for the HTML report (default: reports/out under the rootdir, "
                         "git-ignored)")
    group.addoption("--no-report", action="store_true",
                    help="write no report folder (the terminal matrix is still printed)")


def report_dir(config):
    """The absolute report folder, or None with --no-report (the same on xdist workers)."""
    if config.getoption("no_report"):
        return None
    chosen = config.getoption("report_dir")
    if chosen:
        return (Path(config.invocation_params.dir) / chosen).resolve()
    root = Path(config.rootpath).resolve()
    if root != PROJECT and PROJECT not in root.parents:
        root = PROJECT          # a run in a user's folder: nothing is written there
    return root / "reports" / "out"


@pytest.fixture
def result_log(request):
    """Collects the result objects of one test; attached to its report at teardown."""
    folder = report_dir(request.config)
    log = ResultLog(planted=request.node.get_closest_marker("planted") is not None,
                    arrays_dir=folder / ARRAYS_SUBDIR if folder else None)
    yield log
    if log.records:
        request.node.user_properties.append(
            (KEY, log.to_json(order=_collection_index(request.session, request.node))))


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item):
    """An item that is not a test function (a check of a user's code) leaves its results, per
    example, in ``gradcheck_examples``: logged here as ``result_log`` logs a test's."""
    examples = getattr(item, "gradcheck_examples", None)
    if not examples:
        return
    folder = report_dir(item.config)
    log = ResultLog(arrays_dir=folder / ARRAYS_SUBDIR if folder else None)
    for results in examples:
        log.add(results)
    if log.records:
        item.user_properties.append((KEY, log.to_json(order=_collection_index(item.session, item))))


def record_summary(node, line):
    """A line for the terminal summary, from any test: printed under "gradient checks" by the
    controller, so it shows under xdist too (a worker's own output never reaches the terminal)."""
    node.user_properties.append((SUMMARY_KEY, line))


def _collection_index(session, item):
    order = getattr(session, "_gradcheck_order", None)
    if order is None:
        order = session._gradcheck_order = {it.nodeid: i for i, it in enumerate(session.items)}
    return order.get(item.nodeid, -1)


def pytest_configure(config):
    config.addinivalue_line("markers", "planted: a check on a deliberately broken layer, "
                                       "expected to find failures")
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(Collector(config), "gradcheck-collector")


class Collector:
    """Controller side: one RecordedTest per test, from the reports of every worker."""

    def __init__(self, config):
        self.config = config
        self.tests = {}
        self.started = datetime.datetime.now()
        self.index = None
        self.error = ""
        self.timing = {}
        self.summary = []

    def pytest_runtest_logreport(self, report):
        t = self.tests.setdefault(report.nodeid, RecordedTest(report.nodeid))
        t.duration += report.duration
        xfail = hasattr(report, "wasxfail")
        if report.when == "call" and t.outcome != "error":
            t.outcome = ("xfailed" if report.skipped else "xpassed") if xfail else report.outcome
        elif report.failed:
            t.outcome = "error"
        elif report.skipped and report.when == "setup":
            t.outcome = "xfailed" if xfail else "skipped"
        if report.failed or report.skipped:
            t.message = t.message or _message(report)
            if report.failed:
                t.longrepr = (t.longrepr + "\n" + report.longreprtext).strip()[:MAX_LONGREPR]
        for key, value in report.user_properties:
            if key == SUMMARY_KEY and report.when == "teardown":
                self.summary.append(value)
            if key == KEY and report.when == "teardown":
                payload = json.loads(value)
                t.results = payload["results"]          # replaced, never appended: no duplicates
                t.planted, t.examples = payload["planted"], payload["examples"]
                t.worker, t.order = payload.get("worker", ""), payload.get("order", -1)
                self.timing["save"] = self.timing.get("save", 0.0) + payload.get("save_seconds", 0.0)

    def pytest_sessionfinish(self, session):
        folder = report_dir(self.config)
        if folder is None or not self.tests:
            return
        from reports.render import write_report
        start = time.perf_counter()
        env = environment(self.config, {t.worker for t in self.tests.values() if t.worker},
                          self.started)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            tests = list(self.tests.values())
            (folder / "results.json").write_text(json.dumps(
                {"environment": dict(env), "tests": [t.to_plain() for t in tests]}, indent=1))
            self.index = write_report(folder, tests, env, self.timing,
                                      since=self.started.timestamp())
        except Exception:   # a broken report must not hide the test results; say so instead
            self.error = traceback.format_exc()
        self.timing["write"] = time.perf_counter() - start

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter):
        tr = terminalreporter
        report = build_report(list(self.tests.values()))
        lines = matrix_lines(report.matrix)
        if lines or self.index or self.error or self.summary:
            tr.section("gradient checks")
        for line in self.summary:
            tr.write_line(line)
        for line in lines:
            tr.write_line(line)
        for line in warning_lines(report.matrix):
            tr.write_line(line)
        if report.selfchecks:
            tr.write_line(f"{len(report.selfchecks)} planted failure(s) caught by the harness's "
                          "self-checks (expected; listed in the report)")
        if self.error:
            tr.write_line("the HTML report could not be written:", red=True)
            tr.write_line(self.error.rstrip())
        elif self.index:
            save = self.timing.get("save", 0.0)
            tr.write_line(f"report: {_shown(self.index)}  (written in {self.timing['write']:.2f} s"
                          + (f"; the checked arrays it shows were saved in {save:.2f} s"
                             if save >= 0.005 else "")
                          + ")", bold=True)


def _message(report):
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2])
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return crash.message
    return report.longreprtext.strip().splitlines()[-1] if report.longreprtext.strip() else ""


def _shown(path):
    """The path as the user should type it: relative to where they ran the command, if inside."""
    path, here = Path(path), Path(os.environ.get("GRADCHECK_CWD") or Path.cwd())
    if here == Path(here.anchor):      # run from / : the whole path reads better
        return str(path)
    try:
        return str(path.relative_to(here))
    except ValueError:
        return str(path)


WORDS = {"pass": "ok", "close": "ok", "warn": "WARN", "fail": "FAIL"}


def _cell(c):
    return f"{WORDS[c.outcome]} {c.ratio:.2g}" + (" fd" if c.fd_only else "")


def matrix_lines(matrix):
    """The layer-by-property matrix as text, one table per group of rows that share their
    properties (layers, networks, optimizers, training runs): each cell 'ok' or 'FAIL' and
    the worst ratio."""
    if not matrix.layers:
        return []
    groups = {}
    for layer in matrix.layers:
        props = tuple(p for p, cell in zip(matrix.props, matrix.row(layer)) if cell is not None)
        groups.setdefault(props, []).append(layer)
    width = max(len(layer) for layer in matrix.layers) + 2
    lines = []
    for props, layers in groups.items():
        texts = {layer: [_cell(matrix.cells[(layer, p)]) for p in props] for layer in layers}
        # whole names and whole cells, a space apart: two names may share a prefix
        widths = [max(len(p), 14, *(len(t[i]) for t in texts.values())) + 1
                  for i, p in enumerate(props)]
        lines.append("".ljust(width) + "".join(p.ljust(w) for p, w in zip(props, widths)).rstrip())
        for layer in layers:
            lines.append(layer.ljust(width) + "".join(
                t.ljust(w) for t, w in zip(texts[layer], widths)).rstrip())
        lines.append("")
    cells = matrix.cells.values()
    lines.append("cells: outcome and the worst error as a fraction of its tolerance (1 = at the limit)"
                 + ("; WARN: not counted as a failure: outside tolerance in float32 only (the "
                    "float64 copy passes), a known convention followed throughout, or another "
                    "warning listed below"
                    if any(c.outcome == "warn" for c in cells) else "")
                 + ("; fd: no TF twin, judged by finite differences alone"
                    if any(c.fd_only for c in cells) else ""))
    return lines


WARNINGS_SHOWN = 12


def warning_lines(matrix, limit=WARNINGS_SHOWN):
    """Each warned check (a WARN cell's reason), with its verdict, what it means and the line
    that replays it: a warning is not a failure, but the matrix alone does not say why."""
    warned = [c for cell in matrix.cells.values() if cell.outcome == "warn"
              for c in cell.checks if c.passed and c.warning]
    seen, lines = set(), []
    for c in warned:
        key = (c.layer, c.prop, c.tensor, c.verdict)
        if key in seen:
            continue
        seen.add(key)
        if len(seen) > limit:
            continue
        said = c.verdict if c.verdict and c.verdict != c.tensor else ""
        lines.append(f"WARN {c.layer} [{c.prop}] {c.tensor}" + (f" ({said})" if said else "")
                     + (f": {c.explanation}" if c.explanation else ""))
        if c.note:
            lines.append(f"  note: {c.note}")
        if c.reproduce:
            lines.append(f"  reproduce: {c.reproduce}")
    if len(seen) > limit:
        lines.append(f"... and {len(seen) - limit} more warnings in the report")
    return (["warnings (passed, not counted as failures):"] + lines + [""]) if lines else []
