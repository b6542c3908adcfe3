"""The report's data model: plain dataclasses built from what the plugin collected.

Input: one :class:`RecordedTest` per test (outcome, message, and the plain result
dicts its ``result_log`` shipped). Output: a :class:`Report` (counts, the matrix
of layers by properties, failing checks, self-checks, failed tests) that the
templates render. Nothing here knows HTML; nothing here imports the harness
beyond reading result fields.
"""
import json
import math
import re
import shlex
from dataclasses import dataclass, field

from oracle.result import Result

CLOSE = 0.5   # a passing check whose worst error uses more than half its tolerance is "close"


@dataclass
class RecordedTest:
    """One test as the controller saw it (the same under xdist: built from reports)."""
    nodeid: str
    outcome: str = "passed"        # passed, failed, error, skipped, xfailed, xpassed
    message: str = ""              # the one-line reason of a failure or skip
    longrepr: str = ""             # the full failure text (Hypothesis' example is in it)
    duration: float = 0.0
    planted: bool = False
    examples: int = 0
    worker: str = ""
    order: int = -1                # collection index, for a stable order under xdist
    results: list = field(default_factory=list)   # plain result dicts

    def to_plain(self):
        return dict(self.__dict__)


def num(value):
    """A float from a plain value ("nan" and "inf" strings included)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


class _Judged:
    """margin and outcome from ``passed``, ``warning`` and ``ratio`` (worst error / allowed).

    "warn": outside tolerance for a reason that is not the layer's (float32 round-off);
    counted as passed, marked apart.
    """

    @property
    def margin(self):
        return 1.0 - self.ratio

    @property
    def outcome(self):
        if not self.passed:
            return "fail"
        if self.warning:
            return "warn"
        return "close" if self.ratio > CLOSE else "pass"


@dataclass
class Check(_Judged):
    """One comparison: its result object (rebuilt from the plain data the test recorded) and
    where it sits in the report. The result's fields read through: ``check.tensor``."""
    nodeid: str
    result: Result
    expected: bool = False         # a failure the test wanted (planted bug caught)
    arrays_file: str = ""
    page: str = ""                 # failures/<name>.html for a failing check

    @classmethod
    def from_plain(cls, d, nodeid, expected=False):
        return cls(nodeid=nodeid, result=Result.from_plain(d), expected=expected,
                   arrays_file=str(d.get("arrays_file") or ""))

    def __getattr__(self, name):
        if name == "result":       # not set yet (during construction or copying)
            raise AttributeError(name)
        return getattr(self.result, name)

    @property
    def key(self):
        return (self.nodeid, self.layer, self.prop, self.tensor, self.oracle)

    def case(self):
        """The case the reproduction line replays (its last argument, JSON), or None."""
        try:
            return json.loads(shlex.split(self.reproduce)[-1])
        except (ValueError, IndexError):
            return None


@dataclass
class Cell(_Judged):
    """One layer x property cell: every check of that pair, across tests."""
    layer: str
    prop: str
    checks: list

    @property
    def passed(self):
        return all(c.passed for c in self.checks)

    @property
    def warning(self):
        return any(c.warning for c in self.checks)

    @property
    def ratio(self):
        return max((c.ratio for c in self.checks), key=_sortable, default=0.0)


    @property
    def page(self):
        return next((c.page for c in self.checks if c.page), "")

    @property
    def fd_only(self):
        """A TF property judged by finite differences alone (the layer has no TF twin)."""
        return self.prop.endswith("_tf") and bool(self.checks) and \
            all(c.oracle == "fd" for c in self.checks)

    @property
    def worst_check(self):
        return max(self.checks, key=lambda c: (not c.passed, _sortable(c.ratio)))


def _sortable(x):
    return math.inf if math.isnan(x) else x


@dataclass
class Matrix:
    layers: list
    props: list
    cells: dict          # (layer, prop) -> Cell

    def row(self, layer):
        return [self.cells.get((layer, p)) for p in self.props]

    def row_outcomes(self, layer):
        return sorted({c.outcome for c in self.row(layer) if c is not None})


def build_matrix(checks):
    cells = {}
    for c in checks:
        cells.setdefault((c.layer, c.prop), Cell(c.layer, c.prop, [])).checks.append(c)
    layers = list(dict.fromkeys(c.layer for c in checks))
    props = list(dict.fromkeys(c.prop for c in checks))
    return Matrix(layers, props, cells)


@dataclass
class FailedTest:
    nodeid: str
    outcome: str
    message: str
    longrepr: str
    pages: list          # failure pages of this test's failing checks


@dataclass
class Report:
    tests: list
    matrix: Matrix
    failures: list       # failing checks of the real layers
    selfchecks: list     # failing checks the tests expected (planted bugs)
    failed_tests: list
    counts: dict
    environment: dict = field(default_factory=dict)
    curves: list = field(default_factory=list)
    timing: dict = field(default_factory=dict)

    @property
    def all_failures(self):
        return self.failures + self.selfchecks

    @property
    def outcome_of(self):
        return {t.nodeid: t.outcome for t in self.tests}

    @property
    def layers(self):
        return list(dict.fromkeys([*self.matrix.layers, *(c.layer for c in self.selfchecks)]))


def build_report(tests, environment=None, curves=None):
    """The :class:`Report` of ``tests`` (RecordedTest list; order: collection, then node id)."""
    tests = sorted(tests, key=lambda t: (t.order < 0, t.order, t.nodeid))
    checks, seen = [], set()
    for t in tests:
        for d in t.results:
            fails = not d.get("passed")
            expected = fails and (t.planted or t.outcome == "passed")
            c = Check.from_plain(d, t.nodeid, expected=expected)
            if c.key not in seen:
                seen.add(c.key)
                checks.append((t, c))
    main = [c for t, c in checks if not t.planted and not c.expected]
    failures = [c for c in main if not c.passed]
    selfchecks = [c for _, c in checks if c.expected]
    _assign_pages(failures + selfchecks)
    failed_tests = [FailedTest(t.nodeid, t.outcome, t.message, t.longrepr,
                               [c for _, c in checks if c.nodeid == t.nodeid and c.page])
                    for t in tests if t.outcome in ("failed", "error", "xpassed")]
    matrix = build_matrix(main)
    outcomes = [t.outcome for t in tests]
    counts = {
        "tests": len(tests),
        **{k: outcomes.count(k) for k in ("passed", "failed", "error", "skipped", "xfailed",
                                          "xpassed")},
        "checks": len(main),
        "checks_failed": len(failures),
        "checks_close": sum(c.outcome == "close" for c in main),
        "checks_warned": sum(c.outcome == "warn" for c in main),
        "selfchecks": len(selfchecks),
        "layers": len(matrix.layers),
        "properties": len(matrix.props),
        "examples": sum(t.examples for t in tests),
    }
    return Report(tests, matrix, failures, selfchecks, failed_tests, counts,
                  environment or {}, curves or [])


def _assign_pages(checks):
    used = set()
    for c in checks:
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{c.layer}-{c.prop}-{c.tensor}-{c.oracle}")
        slug = slug.strip("-.")[:60] or "check"
        name, n = slug, 1
        while name in used:
            n += 1
            name = f"{slug}-{n}"
        used.add(name)
        c.page = f"failures/{name}.html"


def hypothesis_example(longrepr):
    """Hypothesis' report of the minimal example in a failure text ("" if there is none).

    Keeps the "Falsifying example:" / "Failing test case:" block (up to its closing
    parenthesis), without pytest's "E   " prefixes. Hypothesis' advice to decorate a test
    with ``@reproduce_failure`` is left out: a user replays a case with its replay line.
    """
    lines = [re.sub(r"^E {0,7}", "", ln) if ln.startswith("E ") or ln == "E" else ln
             for ln in longrepr.splitlines()]
    out, inside = [], False
    for ln in lines:
        if re.match(r"\s*(Falsifying example|Failing test case|Falsifying explicit example)", ln):
            inside = True
        if inside and "reproduce_failure" not in ln:
            out.append(ln)
            if ln.strip() == ")" or (ln.rstrip().endswith(")") and "(" in ln and len(out) == 1):
                inside = False
    return "\n".join(out).strip()
