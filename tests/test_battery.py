"""Every registered layer against every property: no per-layer test code here."""
import math

import pytest
from hypothesis import given, target

from properties.cases import cases
from properties.battery import all_properties
from properties.catalog import entries
from properties.search import Crashes, only_crashes

PROPERTIES = all_properties()
ENTRIES = entries()


def run_property(spec, entry, result_log):
    """Draw cases for ``entry`` and check ``spec`` on each; the failure message explains itself.

    A case where the layer only crashed is recorded and the search goes on, so
    wrong values elsewhere are still found; the test then fails with both.
    """
    reason = spec.not_applicable(entry)
    if reason:
        pytest.skip(f"{spec.name} does not apply to {entry.name}: {reason}")
    crashes, last_failed = Crashes(), []

    @given(case=cases(entry, kinds=spec.kinds(entry), extra=spec.extra, min_batch=spec.min_batch))
    def check(case):
        results = spec.fn(case)
        result_log.add(results)
        failed = [r for r in results if not r.passed]
        if only_crashes(failed):     # not targeted: the search should look elsewhere
            crashes.add(case, failed)
            return
        worst = max((r.ratio for r in results if not r.warning), default=0.0)   # not round-off
        target(worst if math.isfinite(worst) else 1e9, label=f"{entry.name} {spec.name} error/tol")
        last_failed[:] = failed
        assert not failed, "\n\n".join(r.message() for r in failed)

    try:
        check()
    except Exception as exc:   # one failure (AssertionError) or several (an exception group)
        if crashes:
            result_log.add(last_failed + crashes.failures)
            raise AssertionError(f"{exc}\n\n{crashes.message()}") from exc
        raise
    if crashes:
        result_log.add(crashes.failures)
        pytest.fail(crashes.message(alone=True), pytrace=False)


@pytest.mark.verify
@pytest.mark.parametrize("prop_name", list(PROPERTIES))
@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_battery(entry, prop_name, result_log):
    run_property(PROPERTIES[prop_name], entry, result_log)
