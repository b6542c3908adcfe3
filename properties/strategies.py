"""Hypothesis strategies for what the battery draws: sizes, dtypes, value kinds, seeds.

All take keyword-only arguments; every strategy shrinks toward the smallest,
simplest case (batch 1, one feature, float64, seed 0, normal values). The ones a
case draws every time are built once per argument set (``lru_cache``): a new
strategy object is validated again on its first draw, which cost more than the draw.
"""
from functools import lru_cache

import numpy as np
from hypothesis import strategies as st

from properties.values import KINDS, make_values

DTYPES = ("float64", "float32")

# Value kinds Hypothesis draws element by element for small tensors: from integers in
# [-400, 400] (a pool that shrinks toward 0), so a failing input shrinks toward 0 and short
# decimals (0.5, -1.25), never to 1e-308.
ELEMENTS = {
    "normal": lambda i: i / 100,                        # [-4, 4] on a 0.01 grid
    "large": lambda i: i / 4,                           # [-100, 100] on a 0.25 grid
    "ties": lambda i: max(-2, min(2, round(i / 50))) / 2,   # {-1, -0.5, 0, 0.5, 1}
}
MAX_DRAWN_ELEMENTS = 32   # above this many input elements in all, values come from the seed


ZERO_BELOW, BOUND_FROM = 655, 31768   # |zigzag| at most 655 reads 0, from 31768 reads +-400


def pool_integers(raw):
    """Two bytes per value, read as a zigzag integer z (0, -1, 1, -2, ...) and scaled to
    [-400, 400], so every byte shrinking toward 0 shrinks its value toward 0. About 2% of
    values are 0 and 3% at a bound, as when Hypothesis drew each integer itself (it favours
    those): zeros and extremes are where layers' kinks and overflows are."""
    u = np.frombuffer(raw, dtype=">u2").astype(np.int64)
    z = (u >> 1) ^ -(u & 1)
    scaled = 1 + (np.abs(z) - ZERO_BELOW - 1) * (399 / (BOUND_FROM - ZERO_BELOW - 1))
    size = np.where(np.abs(z) <= ZERO_BELOW, 0, np.minimum(np.rint(scaled), 400))
    return tuple((np.sign(z) * size).astype(int).tolist())


_POOL = st.binary(min_size=2 * MAX_DRAWN_ELEMENTS, max_size=2 * MAX_DRAWN_ELEMENTS)


def value_pool():
    """MAX_DRAWN_ELEMENTS integers in [-400, 400], from which ``drawn_values`` reads a small
    case's input values; each shrinks toward 0.

    One bytes choice, not one integer choice per value: a choice costs Hypothesis about
    30 us to draw and record, and 32 of them were a third of a case's draw (Hypothesis shrinks
    a bytes choice byte by byte toward 0). A case draws it first: Hypothesis's first cases
    vary their first choice and take the simplest value for the rest, and its mutations copy
    the rest of a case; drawn later, the pool was all zeros in half the cases.
    The pool's size never depends on the kind, the batch or the configuration, so the
    shrinker can shrink those freely (a pool sized to the inputs overruns when the batch
    shrinks, and the batch then never shrinks).
    """
    return _POOL


def drawn_values(pool, *, kind, shapes):
    """Per input, its values as a flat tuple of floats read from ``pool``, or None when
    ``kind`` is structured (not in ELEMENTS) or the inputs hold more than MAX_DRAWN_ELEMENTS
    (their values then come from the case's seed)."""
    sizes = [int(np.prod(s)) for s in shapes]
    if kind not in ELEMENTS or sum(sizes) > MAX_DRAWN_ELEMENTS:
        return None
    element, values, start = ELEMENTS[kind], [], 0
    for n in sizes:
        values.append(tuple(element(i) for i in pool[start:start + n]))
        start += n
    return tuple(values)


@lru_cache(maxsize=None)
def one_of_values(options):
    """``sampled_from(options)`` (a tuple), built once per options."""
    return st.sampled_from(options)


@lru_cache(maxsize=None)
def batch_sizes(*, min_size=1, max_size=4):
    """Batch sizes N; 1 is always included and is where shrinking ends."""
    if min_size < 1 or max_size < min_size:
        raise ValueError(f"batch_sizes: need 1 <= min_size <= max_size, got {min_size}, {max_size}")
    return st.integers(min_size, max_size)


def feature_sizes(*, min_size=1, max_size=6):
    """Feature counts D (Dense widths, trailing dims); shrink toward ``min_size``."""
    if min_size < 1 or max_size < min_size:
        raise ValueError(f"feature_sizes: need 1 <= min_size <= max_size, got {min_size}, {max_size}")
    return st.integers(min_size, max_size)


def trailing_shapes(*, max_dims=2, max_side=5):
    """Shapes of one sample: 1 to ``max_dims`` axes of 1 to ``max_side``."""
    return st.lists(st.integers(1, max_side), min_size=1, max_size=max_dims).map(tuple)


def dtypes():
    return st.sampled_from(DTYPES)


def value_kinds(*, kinds=KINDS):
    """Which kind of input values to generate (see properties.values).

    Drawn as a wide integer taken modulo the number of kinds: every kind is
    reached about equally often even in a short derandomized run (a plain
    ``sampled_from`` favoured the first kind two draws in three there, so the
    dangerous ``overflow`` values were rarely drawn), and a failure still shrinks
    to the first kind (integer 0).
    """
    return _value_kinds(tuple(kinds))


@lru_cache(maxsize=None)
def _value_kinds(kinds):
    bad = set(kinds) - set(KINDS)
    if bad:
        raise ValueError(f"value_kinds: unknown kinds {sorted(bad)}; known: {KINDS}")
    return evenly(kinds)


def evenly(options):
    """One of ``options`` (a tuple), each reached about equally often even in a short
    derandomized run (a wide integer taken modulo their number; see ``value_kinds``),
    shrinking to the first."""
    return st.integers(0, 2 ** 16 - 1).map(lambda i: options[i % len(options)])


@lru_cache(maxsize=None)
def seeds():
    """Seeds for the case's NumPy generator (values, params, upstream gradients)."""
    return st.integers(0, 2 ** 32 - 1)


def activations():
    """Names of the elementwise activations a network may use."""
    return st.sampled_from(("relu", "leaky_relu", "sigmoid", "tanh"))


def input_arrays(*, shape, dtype="float64", kinds=KINDS):
    """Arrays of ``shape`` and ``dtype``: a value kind drawn from ``kinds``, values from a drawn seed.

    Shrinks toward the first kind in ``kinds`` and seed 0.
    """
    shape = tuple(shape)
    return st.tuples(value_kinds(kinds=kinds), seeds()).map(
        lambda ks: make_values(ks[0], shape, np.dtype(dtype), np.random.default_rng(ks[1])))
