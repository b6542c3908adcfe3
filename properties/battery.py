"""The battery: every property every registered layer gets, oracle comparisons first, then the laws."""
from properties import oracle_checks, laws  # noqa: F401,I001  (they declare their properties, in this order)
from properties.declare import PROPERTIES


def all_properties():
    """Every property by name, in declaration order."""
    return dict(PROPERTIES)
