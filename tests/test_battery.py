"""Every registered layer against every property: no per-layer test code here."""
import pytest

from properties.battery import all_properties
from properties.catalog import entries
from properties.search import run_property

PROPERTIES = all_properties()
ENTRIES = entries()


@pytest.mark.verify
@pytest.mark.parametrize("prop_name", list(PROPERTIES))
@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_battery(entry, prop_name, result_log):
    run_property(PROPERTIES[prop_name], entry, result_log)
