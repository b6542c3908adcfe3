"""The pytest items of a check of a user's code: one per layer and property, network, optimizer.

A file that does not import is one failing item naming the file and line;
something skipped is one skipped item with the reason; the other files are
checked regardless. A progress line is printed as each layer's checks finish.
"""
from dataclasses import replace

import pytest

from oracle.result import Result
from properties.battery import battery_pairs, property_named
from properties.cases import replay_command
from properties.contract import user_frame
from properties.owncode import SOURCE, UsageError, collect
from properties.search import run_property


def collect_items(session, paths, quiet=False):
    """The items for ``paths``; ``quiet``: a folder with nothing to check gives no items."""
    try:
        found = collect(paths)
    except UsageError as exc:
        if quiet:
            return []
        raise pytest.UsageError(str(exc)) from exc
    items = []
    for problem in found.problems:
        tag = "import" if problem.kind == "cannot import" else "hint"
        items.append(ImportItem.from_parent(session, name=f"{problem.where} [{tag}]",
                                            problem=problem))
    for skip in found.skipped:
        items.append(SkippedItem.from_parent(session, name=f"{skip.label} [skipped]", skip=skip))
    for item in found.found:
        if item.entry is not None:
            names = [p.name for _, p in battery_pairs([item.entry])]
            for prop in names:
                items.append(PropertyItem.from_parent(
                    session, name=f"{item.label}::{prop}", found=item, prop=prop,
                    last=prop == names[-1]))
        else:
            items.append(CheckItem.from_parent(session, name=f"{item.label}::{item.style}",
                                               found=item))
    session.config.pluginmanager.register(Progress(session.config, items), "gradcheck-progress")
    return items


class Progress:
    """Prints one line per layer, network or optimizer as its last check finishes."""

    def __init__(self, config, items):
        self.config, self.outcomes = config, {}
        self.items = {it.nodeid: it for it in items}

    def pytest_runtest_logreport(self, report):
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            self.outcomes[report.nodeid] = report.outcome

    def pytest_runtest_logfinish(self, nodeid, location):
        item = self.items.get(nodeid)
        if item is None or not getattr(item, "last", False):
            return
        outcomes = [o for n, o in self.outcomes.items()
                    if getattr(self.items.get(n), "found", None) is item.found]
        tr = self.config.pluginmanager.get_plugin("terminalreporter")
        if tr is not None:
            tr.write_line("")
            tr.write_line(progress_line(item, outcomes))


class Examples(list):
    """The results of each example an item ran (``add``, as a ``result_log`` takes them)."""

    def add(self, results):
        self.append(list(results))


class _UserItem(pytest.Item):
    """Results go to the report like a battery test's, under a user's label: the report's
    plugin reads ``gradcheck_examples`` (plain results, per example) when the item ends,
    so nothing here depends on how the report is kept."""

    def _log(self):
        self.gradcheck_examples = Examples()
        return self.gradcheck_examples

    def reportinfo(self):
        return self.path, None, self.name

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, AssertionError):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)


class PropertyItem(_UserItem):
    def __init__(self, *, found, prop, last, **kw):
        super().__init__(**kw)
        self.found, self.prop, self.last = found, prop, last

    def runtest(self):
        run_property(property_named(self.prop), self.found.entry, self._log(), database=None)


class CheckItem(_UserItem):
    def __init__(self, *, found, **kw):
        super().__init__(**kw)
        self.found, self.last = found, True

    def runtest(self):
        line = replay_command(SOURCE + self.found.path, "check", self.found.label)
        results = [r if r.passed else replace(r, reproduce=line) for r in _checked(self.found)]
        self._log().add(results)
        failed = [r for r in results if not r.passed]
        if failed:
            raise AssertionError("\n\n".join(r.message() for r in failed))


# The column a whole check's crash goes in, by what was found.
CRASH_PROPS = {"derivative": "derivative_fd", "loss function": "loss_gradient",
               "network": "network_gradient", "optimizer": "keras_trajectory"}


def _checked(found):
    """``found.check()``; the user's code raising inside it is a failing result naming the
    file and line, never a bare traceback (a derivative pair, a lossFun, an initializer)."""
    try:
        return found.check()
    except Exception as exc:
        where = user_frame(exc)
        return [Result(layer=found.label, prop=CRASH_PROPS.get(found.style, "check"),
                       tensor=found.label.rsplit(".", 1)[-1], oracle="law", passed=False,
                       dtype="float64", config={}, ratio=float("inf"), verdict="layer raised",
                       explanation="checking it ran your code, which raised",
                       note=f"{type(exc).__name__}: {exc}" + (f" (at {where})" if where else ""))]


class ImportItem(_UserItem):
    def __init__(self, *, problem, **kw):
        super().__init__(**kw)
        self.problem = problem

    def runtest(self):
        raise AssertionError(self.problem.text() + ("\n(nothing in this file was checked; the run went on)" if
                                                    self.problem.kind == "cannot import" else ""))


class SkippedItem(_UserItem):
    def __init__(self, *, skip, **kw):
        super().__init__(**kw)
        self.skip = skip

    def runtest(self):
        pytest.skip(f"{self.skip.label} ({self.skip.path}): {self.skip.reason}")


def progress_line(item, outcomes):
    """'common.layers.Affine  8 checks, 1 failed  (attribute style; TF twin: dense ...)'."""
    counts = {k: sum(o == k for o in outcomes) for k in ("passed", "failed", "skipped")}
    said = ", ".join(f"{n} {'FAILED' if k == 'failed' else k}" for k, n in counts.items() if n)
    return f"{item.found.label:<32} {said}  ({item.found.how})"
