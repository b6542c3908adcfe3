"""The battery: every property every registered layer gets, oracle comparisons first, then the laws."""
from properties import oracle_checks, laws, sequence_laws, running_stats, accumulation_law  # noqa: F401,I001  (they declare their properties, in this order)
from properties.declare import PROPERTIES


def all_properties():
    """Every property by name, in declaration order."""
    return dict(PROPERTIES)


def battery_pairs(entries):
    """(entry, property) pairs the battery runs: every general property for every entry (a
    property that does not apply is a skip with its reason), a specialised one (a sequence
    law, running statistics) only for the entries that declare what it needs."""
    return [(e, p) for e in entries for p in PROPERTIES.values()
            if not (p.specialised and p.not_applicable(e))]
