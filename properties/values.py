"""Input values by kind, generated from a seed so every case is reproducible from one line.

Kinds:
  normal   standard normal values;
  large    scale 50: saturates sigmoid/tanh and overflows a naive exp in float32;
  ties     values on a coarse grid {-1, -0.5, 0, 0.5, 1}: exact zeros and exact ties;
  fd_safe  all values distinct, at least 0.01 apart and away from 0, so no
           finite-difference stencil crosses a ReLU kink or swaps two maxima.
"""
import numpy as np

KINDS = ("normal", "large", "ties", "fd_safe")


def make_values(kind, shape, dtype, rng):
    """An array of ``shape`` and ``dtype`` of the given ``kind`` drawn from ``rng``."""
    n = int(np.prod(shape))
    if kind == "normal":
        v = rng.standard_normal(shape)
    elif kind == "large":
        v = rng.standard_normal(shape) * 50.0
    elif kind == "ties":
        v = rng.integers(-2, 3, size=shape) * 0.5
    elif kind == "fd_safe":
        spacing = max(0.01, 4.0 / max(n, 1))
        v = ((rng.permutation(n) - (n - 1) / 2.0) * spacing + spacing / 4).reshape(shape)
    else:
        raise ValueError(f"unknown value kind {kind!r}; known: {KINDS}")
    return np.asarray(v, dtype=dtype)


def make_dout(shape, dtype, rng):
    """A random upstream gradient (never all ones: that hides transposed gradients)."""
    if shape == ():
        return dtype.type(rng.uniform(0.5, 2.0) * rng.choice([-1.0, 1.0]))
    return rng.standard_normal(shape).astype(dtype)
