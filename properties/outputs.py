"""A layer's output and upstream gradient: one array, or a tuple when the layer has several outputs.

A layer with several outputs (an LSTM step's ``(h, c)``) returns a tuple from
``forward`` and takes one upstream gradient per output, ``backward(dh, dc)``.
Every property handles outputs and upstream gradients through these few
functions, so a one-output layer and a several-output layer are checked by the
same code; finite differences see the outputs packed into one vector.
"""
import numpy as np


def several(out):
    """True for the tuple a several-output layer returns."""
    return isinstance(out, tuple)


def parts(out):
    """The outputs (or upstream gradients) as a list: ``[out]`` for a one-output layer."""
    return list(out) if several(out) else [out]


def names(layer, out):
    """One name per output, for results: "out", or "out:h", "out:c" from ``output_names``."""
    if not several(out):
        return ["out"]
    given = tuple(getattr(layer, "output_names", ()) or ())
    if len(given) != len(out):
        given = tuple(str(i) for i in range(len(out)))
    return [f"out:{n}" for n in given]


def each(fn, *xs):
    """``fn`` applied part by part to outputs (or douts) of the same structure."""
    if several(xs[0]):
        return tuple(fn(*p) for p in zip(*xs))
    return fn(*xs)


def copy(d):
    """An independent copy of an upstream gradient (a scalar stays a scalar)."""
    return each(lambda a: np.array(a, copy=True) if np.ndim(a) else a, d)


def pack(out):
    """Every output in one float64 array: itself for one output, the parts raveled and joined."""
    if not several(out):
        return np.asarray(out, np.float64)
    return np.concatenate([np.asarray(p, np.float64).reshape(-1) for p in out])
