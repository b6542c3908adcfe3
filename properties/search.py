"""Search for a failure, as a test of the harness itself.

``first_failure`` draws from any strategy, runs a check returning Result
objects, and returns the minimal failing draw Hypothesis shrank to with its
failing results, or None when every draw passed. ``hunt`` does that for one
property of one registered (or planted) layer; the planted-bug tests assert on
what it returns.
"""
import math
from typing import Any, NamedTuple

import pytest
from hypothesis import HealthCheck, Phase, given, settings, target

from properties.cases import cases
from properties.battery import all_properties
from properties.catalog import get


class Found(NamedTuple):
    case: Any        # the minimal failing draw (a Case, a network spec, an optimizer case)
    failures: list   # its failing Result objects


class _Failed(AssertionError):
    pass


def first_failure(strategy, check, *, max_examples=40, shrink=True):
    """The minimal draw from ``strategy`` whose ``check(draw) -> [Result]`` fails, or None.

    Derandomized and without the example database, so it finds the same thing
    every time. ``shrink=False`` returns the first failing draw as found.
    """
    found = []
    phases = [Phase.explicit, Phase.reuse, Phase.generate] + ([Phase.shrink] if shrink else [])

    @settings(max_examples=max_examples, derandomize=True, database=None, deadline=None,
              print_blob=False, suppress_health_check=list(HealthCheck), phases=phases)
    @given(drawn=strategy)
    def run(drawn):
        failed = [r for r in check(drawn) if not r.passed]
        if failed:
            found[:] = [Found(drawn, failed)]
            raise _Failed(failed[0].message())

    try:
        run()
    except _Failed:
        return found[0]
    return None


def hunt(entry_name, prop_name, *, max_examples=40, shrink=True):
    """The minimal failing case of ``prop_name`` on ``entry_name``, or None if all passed."""
    entry, spec = get(entry_name), all_properties()[prop_name]
    strategy = cases(entry, kinds=spec.kinds(entry), extra=spec.extra, min_batch=spec.min_batch)
    return first_failure(strategy, spec.fn, max_examples=max_examples, shrink=shrink)


def run_property(spec, entry, result_log, **overrides):
    """Draw cases for ``entry`` and check ``spec`` on each, under the loaded Hypothesis profile
    (``overrides``: settings to change, e.g. ``database=None``); every result goes to
    ``result_log``, and a failure's message explains itself."""
    reason = spec.not_applicable(entry)
    if reason:
        pytest.skip(f"{spec.name} does not apply to {entry.name}: {reason}")

    @settings(**overrides)
    @given(case=cases(entry, kinds=spec.kinds(entry), extra=spec.extra, min_batch=spec.min_batch))
    def check(case):
        results = spec.fn(case)
        result_log.add(results)
        worst = max((r.ratio for r in results), default=0.0)
        target(worst if math.isfinite(worst) else 1e9, label=f"{entry.name} {spec.name} error/tol")
        failed = [r for r in results if not r.passed]
        if failed:
            raise AssertionError("\n\n".join(r.message() for r in failed))

    check()
