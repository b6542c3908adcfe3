"""Every registered layer against every property: no per-layer test code here."""
import math

import pytest
from hypothesis import given, target

from properties.cases import cases
from properties.battery import all_properties
from properties.catalog import entries

PROPERTIES = all_properties()
ENTRIES = entries()


def run_property(spec, entry, result_log):
    """Draw cases for ``entry`` and check ``spec`` on each; the failure message explains itself."""
    reason = spec.not_applicable(entry)
    if reason:
        pytest.skip(f"{spec.name} does not apply to {entry.name}: {reason}")

    @given(case=cases(entry, kinds=spec.kinds(entry), extra=spec.extra, min_batch=spec.min_batch))
    def check(case):
        results = spec.fn(case)
        result_log.add(results)
        worst = max((r.ratio for r in results), default=0.0)
        target(worst if math.isfinite(worst) else 1e9, label=f"{entry.name} {spec.name} error/tol")
        failed = [r for r in results if not r.passed]
        assert not failed, "\n\n".join(r.message() for r in failed)

    check()


@pytest.mark.verify
@pytest.mark.parametrize("prop_name", list(PROPERTIES))
@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_battery(entry, prop_name, result_log):
    run_property(PROPERTIES[prop_name], entry, result_log)
