"""Every registered layer against every property: no per-layer test code here."""
import pytest

from properties.battery import battery_pairs
from properties.catalog import entries
from properties.search import run_property

PAIRS = battery_pairs(entries())


@pytest.mark.verify
@pytest.mark.parametrize("entry,spec", PAIRS, ids=[f"{e.name}-{p.name}" for e, p in PAIRS])
def test_battery(entry, spec, result_log):
    run_property(spec, entry, result_log)
