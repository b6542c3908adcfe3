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


def drawn_values(*, kind, shapes):
    """Per input, its values as a flat tuple of floats drawn by Hypothesis, or None for all when
    ``kind`` is structured (not in ELEMENTS) or the inputs hold more than MAX_DRAWN_ELEMENTS.

    A pool of MAX_DRAWN_ELEMENTS integers is drawn for every kind and shape and its first
    values used, so the shape of the draw never depends on the kind, the batch or the
    configuration and the shrinker can shrink those freely (a pool sized to the inputs
    overruns when the batch shrinks, and the batch then never shrinks). A tuple, not a
    list: a fixed-size list adds a forced choice per element, a quarter of a case's draw.
    Shrinks every value toward 0.
    """
    return _drawn_values(kind, tuple(tuple(int(n) for n in s) for s in shapes))


_POOL = st.tuples(*[st.integers(-400, 400)] * MAX_DRAWN_ELEMENTS)


@lru_cache(maxsize=4096)
def _drawn_values(kind, shapes):
    sizes = [int(np.prod(s)) for s in shapes]
    if kind not in ELEMENTS or sum(sizes) > MAX_DRAWN_ELEMENTS:
        return _POOL.map(_nothing)
    starts = np.cumsum([0, *sizes[:-1]]).tolist()
    return _POOL.map(lambda p: tuple(tuple(ELEMENTS[kind](i) for i in p[a:a + n])
                                     for a, n in zip(starts, sizes)))


def _nothing(_):
    return None


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
    return st.integers(0, 2 ** 16 - 1).map(lambda i: kinds[i % len(kinds)])


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
