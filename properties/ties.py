"""Is a difference at tied inputs a tie-breaking convention, or a gradient duplicated or lost?

Where inputs tie (two equal values in a max-pool window), which one gets the gradient is a
convention: the layer and TF may differ there and both be right. But every right choice
sends the same total: moving all the tied values together keeps them tied, so the function
is smooth along that direction and its slope there is what any valid gradient must give.
A layer passing dout to every tied maximum gives twice that. ``split_at_ties`` measures
that slope by finite differences; where the layer's total differs from it, and TF's
matches it, the verdict is a layer bug, not a convention. A threshold kink (ReLU at 0) is
not smooth along such a direction either: finite differences then say so, and nothing is
concluded. A layer with no TF twin has no one to say how it should break a tie; there
``tied_slopes`` moves each group of equal values on its own, and the layer's total along a
smooth one is held against its slope (``properties.oracle_checks``).
"""
import numpy as np

from oracle.finite_diff import slope_along
from oracle.tolerance import tolerance_for
from properties import contract as C
from properties import outputs as O

EXPLAIN = ("the layer and TF differ only at tied inputs, but not as two ways to break a tie: "
           "moving the tied values together (the function is smooth that way, as finite "
           "differences confirm) changes the output at the rate TF's gradient gives and not at "
           "the layer's: the layer's gradient at the ties is duplicated, lost or scaled")


EXPLAIN_ALL_TIED = ("every input is tied here ({how}), so this is no tie-breaking convention: "
                    "moving all of them together changes the output at the rate TF's gradient "
                    "gives and not at the layer's. The layer's gradient is wrong: duplicated or "
                    "lost at ties (a max-pool's dout sent to every tied maximum), or a plain "
                    "wrong backward")
ALL_EQUAL = "all equal, as a shrunk case often is"
ALL_REPEATED = "each value occurs at least twice: a coarse grid, as the ties kind draws"


def explanation(trial, tensor):
    """EXPLAIN, or EXPLAIN_ALL_TIED when every element of the input ``tensor`` is tied (then
    nothing about ties is learnt: it is a plain wrong gradient, seen along one direction)."""
    names = C.input_names(trial.layer)
    x = np.asarray(trial.inputs[names.index(tensor[1:])])
    v = tied_direction(x)
    if v is None or not bool(v.all()):
        return EXPLAIN
    return EXPLAIN_ALL_TIED.format(how=ALL_EQUAL if np.ptp(x) == 0 else ALL_REPEATED)


def tied_direction(x):
    """1 at every element of ``x`` whose value another element shares, else 0 (None if none)."""
    x = np.asarray(x)
    if x.dtype.kind != "f" or x.size < 2:
        return None
    _, inverse, counts = np.unique(x.reshape(-1), return_inverse=True, return_counts=True)
    shared = (counts[inverse] > 1).reshape(x.shape)
    return shared.astype(np.float64) if shared.any() else None


def _input_of(trial, tensor):
    """(name, the input as float64, every array by name for ``slope_along``) of input gradient
    ``tensor`` (``dx``), or None for a param's."""
    names = C.input_names(trial.layer)
    if not tensor.startswith("d") or tensor[1:] not in names:
        return None
    x = np.asarray(trial.inputs[names.index(tensor[1:])], np.float64)
    return tensor[1:], x, {**dict(zip(names, trial.inputs)), **trial.params0}


def split_at_ties(trial, tensor, got, tf_grad, dout):
    """True when a 'kink convention' on input gradient ``tensor`` is a wrong total at ties."""
    found = _input_of(trial, tensor) if tf_grad is not None else None
    if found is None:
        return False
    name, x, arrays = found
    v = tied_direction(x)
    if v is None or np.shape(got) != x.shape or np.shape(tf_grad) != x.shape:
        return False
    slope, smooth, _ = slope_along(trial.float64_function(), arrays, O.pack(dout), name, v)
    if not smooth:
        return False
    tol = tolerance_for(trial.case.dtype, "fd", trial.case.entry.tolerances)
    allowed = float(tol.allowed(np.array([slope]))[0])
    layer_total = float(np.vdot(np.asarray(got, np.float64), v))
    tf_total = float(np.vdot(np.asarray(tf_grad, np.float64), v))
    return abs(tf_total - slope) <= allowed < abs(layer_total - slope)


NO_TWIN_EXPLAIN = ("moving the {count} tied inputs equal to {value:.6g} together keeps them tied, "
                   "so the function is smooth that way (finite differences confirm it) and every "
                   "right gradient gives the same rate along it, however it breaks the tie: the "
                   "layer's gradient gives another. It is duplicated, lost or scaled at ties (a "
                   "max's dout sent to every tied maximum)")


def tied_slopes(trial, tensor, got, dout, most=4):
    """For each group of equal values of the input ``tensor`` (the most shared first, at most
    ``most``) along which the function is smooth: (value, count, the layer's total along it,
    the finite-difference slope, the round-off that slope can carry). Nothing for a gradient of
    another shape or without ties."""
    found = _input_of(trial, tensor)
    if found is None:
        return
    name, x, arrays = found
    if x.size < 2 or np.shape(got) != x.shape or not np.all(np.isfinite(got)):
        return
    values, inverse, counts = np.unique(x.reshape(-1), return_inverse=True, return_counts=True)
    fn = trial.float64_function()
    for i in [i for i in np.argsort(-counts, kind="stable") if counts[i] > 1][:most]:
        v = (inverse == i).reshape(x.shape).astype(np.float64)
        slope, smooth, noise = slope_along(fn, arrays, O.pack(dout), name, v)
        if smooth and np.isfinite(slope) and np.isfinite(noise):
            total = float(np.vdot(np.asarray(got, np.float64), v))
            yield float(values[i]), int(counts[i]), total, slope, noise
