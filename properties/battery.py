"""The battery: every property every registered layer gets, oracle comparisons first, then the laws."""
from properties import oracle_checks, laws, resize_law, sequence_laws, running_stats, accumulation_law  # noqa: F401,I001  (they declare their properties, in this order)
from properties.declare import PROPERTIES, together

# One verified example: the layer against the TF VJP and against finite differences, on one
# case (one build, one run of the layer); the battery runs it in place of its two parts.
GRADS = together("grads", ("grads_tf", "grads_fd"),
                 "dx and every param grad match the TF VJP and finite differences, on one case")
JOINED = {"grads_tf": GRADS, "grads_fd": None}     # part -> the property run in its place


def all_properties():
    """Every property by name, in declaration order (the battery's joined parts apart)."""
    return dict(PROPERTIES)


def property_named(name):
    """A property of ``all_properties``, or one the battery joins its parts into (``grads``)."""
    return GRADS if name == GRADS.name else PROPERTIES[name]


def battery_pairs(entries):
    """(entry, property) pairs the battery runs: every general property for every entry (a
    property that does not apply is a skip with its reason), a specialised one (a sequence
    law, running statistics) only for the entries that declare what it needs; ``grads_tf``
    and ``grads_fd`` as one, ``grads``."""
    props = [JOINED.get(p.name, p) for p in PROPERTIES.values()]
    return [(e, p) for e in entries for p in props
            if p is not None and not (p.specialised and p.not_applicable(e))]
