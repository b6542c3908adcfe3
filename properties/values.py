"""Input values by kind, generated from a seed so every case is reproducible from one line.

Kinds:
  normal   standard normal values;
  large    scale 50: saturates sigmoid/tanh and overflows a naive exp in float32;
  ties     values on a coarse grid {-1, -0.5, 0, 0.5, 1}: exact zeros and exact ties;
  fd_safe  all values distinct, at least 0.01 apart and away from 0, so no
           finite-difference stencil crosses a ReLU kink or swaps two maxima; spread evenly
           over +-r, r drawn from FD_SAFE_REACH, so a few values reach where the usual
           breakpoints of piecewise layers lie (1, 2.5, 3, 6), which a standard normal
           draw of a small tensor seldom does.
  feature_map  like a ReLU's output: over half exact zeros, the rest on a 0.5 grid, constant
           over 2x2 patches of the image axes (pairs along D for (N, D)): ties in every window.
  overflow magnitudes just past where ``exp`` overflows in the case's dtype (float32 88.7,
           float64 709.8), both signs always present: a naive ``log(1 + exp(x))`` or
           softmax fails on every draw, not on a lucky seed.

Small tensors of the kinds in ``properties.strategies.ELEMENTS`` are drawn value
by value by Hypothesis, so a failure shrinks toward 0 and simple numbers; larger
tensors and the structured kinds come from the case's seed (``make_values``).
"""
import zlib

import numpy as np

KINDS = ("normal", "large", "ties", "fd_safe", "feature_map", "overflow")
FD_SAFE_REACH = (2.0, 8.0)   # the half-width of fd_safe values, drawn per case

INF = float("inf")
# Ranges tried, widest first, for an input on which a forward is finite only in part (a log or
# a square root: (0, inf); an arcsin: (-1, 1); a loss on probabilities: (0, 1)).
PROBED_DOMAINS = ((0.0, INF), (-1.0, 1.0), (0.0, 1.0))
DOMAIN_MARGIN = 0.02   # kept from each finite end: (0, 1) is drawn in [0.02, 0.98]


def stream_rng(seed, stream):
    """An independent generator per purpose ("params", "inputs", "dout", ...) from one seed.

    The one rule for deriving random streams: every case, network and
    optimizer check draws its numbers through it.
    """
    return np.random.default_rng([seed, zlib.crc32(stream.encode())])


def make_values(kind, shape, dtype, rng):
    """An array of ``shape`` and ``dtype`` of the given ``kind`` drawn from ``rng``."""
    n = int(np.prod(shape))
    if kind == "normal":
        v = rng.standard_normal(shape)
    elif kind == "large":
        v = rng.standard_normal(shape) * 50.0
    elif kind == "ties":
        v = rng.integers(-2, 3, size=shape) * 0.5
        if v.size > 1 and not (v == 0).any():    # the kind's promise: an exact zero, always
            v.flat[rng.integers(v.size)] = 0.0
    elif kind == "fd_safe":
        order = rng.permutation(n)
        spacing = max(0.01, 2.0 * rng.uniform(*FD_SAFE_REACH) / max(n, 1))
        v = ((order - (n - 1) / 2.0) * spacing + spacing / 4).reshape(shape)
    elif kind == "feature_map":
        v = np.maximum(rng.integers(-3, 4, size=shape), 0) * 0.5
        for axis in range(max(1, len(shape) - 2), len(shape)):   # (N, C, H, W): H, W; (N, D): D
            v = np.take(v, np.arange(shape[axis]) // 2 * 2, axis=axis)
    elif kind == "overflow":
        v = exp_overflow(dtype) * rng.uniform(1.0, 1.2, size=shape) * rng.choice([-1.0, 1.0], size=shape)
        if n:
            v.flat[0] = abs(v.flat[0])
            v.flat[-1] = -abs(v.flat[-1]) if n > 1 else v.flat[-1]
    else:
        raise ValueError(f"unknown value kind {kind!r}; known: {KINDS}")
    return np.asarray(v, dtype=dtype)


def into_domain(v, domain):
    """``v`` (values of any kind) moved into the open interval ``domain`` = (lo, hi) by an
    increasing map, in ``v``'s dtype; ``domain`` None leaves ``v`` as it is.

    Increasing, so a kind keeps what it is for: ties stay tied, distinct values distinct, and
    a value drawn as 0 lands mid-range. A finite interval takes a sigmoid of the value, kept
    ``DOMAIN_MARGIN`` of its width from each end; a half-line takes a softplus, kept
    ``DOMAIN_MARGIN`` from its end (a finite-difference step must not cross it).
    """
    if not domain:
        return v
    lo, hi = (float(b) for b in domain)
    a = np.asarray(v)
    x = a.astype(np.float64)
    if np.isfinite(lo) and np.isfinite(hi):
        share = 0.5 * (1.0 + np.tanh(x / 2.0))          # the sigmoid, without overflow
        out = lo + (hi - lo) * (DOMAIN_MARGIN + (1.0 - 2.0 * DOMAIN_MARGIN) * share)
    elif np.isfinite(lo):
        out = lo + DOMAIN_MARGIN + np.logaddexp(0.0, x)
    elif np.isfinite(hi):
        out = hi - DOMAIN_MARGIN - np.logaddexp(0.0, -x)
    else:
        out = x
    return out.astype(a.dtype) if a.dtype.kind == "f" else out


def domain_text(domain):
    """``(0, 1)``, ``(0, inf)``: a domain as a hint writes it."""
    def one(b):
        b = float(b)
        return ("inf" if b > 0 else "-inf") if np.isinf(b) else f"{b:g}"
    return f"({one(domain[0])}, {one(domain[1])})"


def exp_overflow(dtype):
    """The x above which ``np.exp(x)`` overflows in ``dtype`` (88.72 for float32, 709.78 for float64)."""
    return float(np.log(np.finfo(dtype).max))


def make_dout(shape, dtype, rng):
    """A random upstream gradient (never all ones: that hides transposed gradients)."""
    if shape == ():
        return dtype.type(rng.uniform(0.5, 2.0) * rng.choice([-1.0, 1.0]))
    return np.asarray(rng.standard_normal(shape), dtype=dtype)     # (float64: no copy)
