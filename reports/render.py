"""Write the report folder: index.html, one page per failure, the static files.

Jinja2 templates with autoescape on: every string from a test (layer names,
reprs, messages) is escaped, and data handed to the page's script goes through
``tojson`` (which escapes <, >, & and '). Nothing in the folder refers to the
network: CSS and JS are copied in, heatmaps are data: URIs.
"""
import datetime
import math
import shutil
import time
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from reports import curves
from reports.collect import ARRAYS_SUBDIR, load_arrays
from reports.failure_page import build_failure_page, fmt
from reports.model import build_report

HERE = Path(__file__).parent
STATIC = ["report.css", "report.js"]


def tol_use(ratio):
    """The worst element's error relative to its tolerance: "3.1%" of it, or "5.6e+06×" it."""
    r = float(ratio)
    if math.isnan(r):
        return "NaN"
    if math.isinf(r):
        return "Inf×"
    if r <= 1:
        pct = r * 100
        return f"{pct:.0f}%" if pct >= 10 or pct == 0 else f"{pct:.2g}%"
    return f"{r:.2g}×"


def bar_width(ratio):
    r = float(ratio)
    return 100.0 if not math.isfinite(r) else max(0.0, min(r, 1.0)) * 100.0


def template_env():
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(num=fmt, tol_use=tol_use, bar_width=bar_width)
    return env


def write_report(out_dir, tests, environment=(), timing=None, since=None):
    """Render ``tests`` (RecordedTest list) into ``out_dir``; return the index path.
    ``since``: the run's start (a POSIX timestamp); a training-curves file older than that is
    an earlier run's and is not shown.

    Pages of failures left over from an earlier run, and array files no check
    refers to any more, are removed; nothing else in the folder is touched.
    """
    out = Path(out_dir)
    (out / "failures").mkdir(parents=True, exist_ok=True)
    (out / "static").mkdir(exist_ok=True)
    for name in STATIC:
        shutil.copyfile(HERE / "static" / name, out / "static" / name)
    report = build_report(tests, dict(environment), curves.load_charts(out, since))
    report.timing = dict(timing or {})
    start = time.perf_counter()
    env = template_env()
    written = datetime.datetime.now().isoformat(timespec="seconds")
    by_node = {t.nodeid: t for t in report.tests}
    page_tpl = env.get_template("failure.html.j2")
    pages = set()
    for check in report.all_failures:
        page = build_failure_page(check, by_node.get(check.nodeid),
                                  load_arrays(out, check.arrays_file))
        (out / check.page).write_text(page_tpl.render(page=page, root="../", written=written),
                                      encoding="utf-8")
        pages.add(check.page)
    report.timing["write"] = report.timing.get("write", 0.0) + time.perf_counter() - start
    index = out / "index.html"
    index.write_text(env.get_template("index.html.j2").render(r=report, root="", written=written),
                     encoding="utf-8")
    _prune(out, pages, {c.arrays_file for c in report.all_failures})
    return index


def _prune(out, pages, arrays_files):
    for old in (out / "failures").glob("*.html"):
        if f"failures/{old.name}" not in pages:
            old.unlink()
    for old in (out / ARRAYS_SUBDIR).glob("*.npz"):
        if f"{ARRAYS_SUBDIR}/{old.name}" not in arrays_files:
            old.unlink()
