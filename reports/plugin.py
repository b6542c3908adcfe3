"""pytest plugin: collect every result object (also under xdist) and summarise them.

Tests record results through the ``result_log`` fixture. The log travels as a
JSON string in the report's ``user_properties`` (plain Python only), so results
from xdist workers reach the controller intact.
"""
import json
import os
from pathlib import Path

import pytest

from reports.collect import ResultLog

KEY = "gradcheck_results"


def pytest_addoption(parser):
    group = parser.getgroup("gradcheck", "gradient-verification report")
    group.addoption("--report-dir", default=None,
                    help="folder for the results and report (default: reports/out under rootdir)")
    group.addoption("--no-report", action="store_true", help="do not write results or a report")


@pytest.fixture
def result_log(request):
    """Collects the result objects of one test; attached to its report at teardown."""
    log = ResultLog(planted=request.node.get_closest_marker("planted") is not None)
    yield log
    if log.records:
        request.node.user_properties.append((KEY, log.to_json()))


def pytest_configure(config):
    config.addinivalue_line("markers", "planted: a check on a deliberately broken layer, "
                                       "expected to find failures")
    config._gradcheck = Collector(config)
    config.pluginmanager.register(config._gradcheck, "gradcheck-collector")


class Collector:
    def __init__(self, config):
        self.config = config
        self.runs = []   # (nodeid, outcome, duration, payload dict)

    def pytest_runtest_logreport(self, report):
        if report.when != "teardown":
            return
        for key, value in report.user_properties:
            if key == KEY:
                self.runs.append({"nodeid": report.nodeid, **json.loads(value)})

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter):
        if self.config.getoption("no_report") or not self.runs:
            return
        if hasattr(self.config, "workerinput"):
            return
        out = Path(self.config.getoption("report_dir") or
                   Path(self.config.rootpath) / "reports" / "out")
        out.mkdir(parents=True, exist_ok=True)
        path = out / "results.json"
        path.write_text(json.dumps({"runs": self.runs}, indent=1))
        tr = terminalreporter
        tr.section("gradient checks")
        for line in summary_lines(self.runs):
            tr.write_line(line)
        tr.write_line(f"results: {os.path.relpath(path)}")


def summary_lines(runs):
    """A layer-by-property matrix: each cell 'ok' or 'FAIL' and the worst ratio to tolerance."""
    cells = {}
    for run in runs:
        if run.get("planted"):
            continue
        for r in run["results"]:
            key = (r["layer"], r["prop"])
            ratio = float(r["ratio"])
            ok, worst = cells.get(key, (True, 0.0))
            cells[key] = (ok and r["passed"], max(worst, ratio))
    if not cells:
        return []
    layers = list(dict.fromkeys(k[0] for k in cells))
    props = list(dict.fromkeys(k[1] for k in cells))
    width = max(len(l) for l in layers) + 2
    lines = ["".ljust(width) + "".join(p[:14].ljust(15) for p in props)]
    for layer in layers:
        row = layer.ljust(width)
        for p in props:
            if (layer, p) not in cells:
                row += "-".ljust(15)
                continue
            ok, worst = cells[(layer, p)]
            row += (f"{'ok' if ok else 'FAIL'} {worst:.2g}").ljust(15)
        lines.append(row)
    lines.append("cells: outcome and the worst error as a fraction of its tolerance (1 = at the limit)")
    return lines
