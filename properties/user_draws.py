"""What a user layer's cases are drawn in: the dtypes it is checked in (float32 too when it
keeps float32; float32 alone when it computes in float32), and its params' scale."""
import copy

import numpy as np

from properties.user_batch_rule import forward_copy


def at_own_scale(layer):
    """Each param drawn at most at the scale the layer's own init gives it (the root mean
    square of its values as built, where below 1): a contraction scaled down so that a
    fixed-point iteration converges keeps its scale; and of the sign the init gives every
    entry of it, where it gives all one sign (an RBF's widths or a precision made ones, drawn
    negative, turn a decaying exp into one that overflows); None when neither applies."""
    scales, signs = {}, {}
    for k, v in dict(getattr(layer, "params", None) or {}).items():
        v = np.asarray(v, np.float64)
        rms = float(np.sqrt(np.mean(v ** 2))) if v.size else 0.0
        if 0 < rms < 1:
            scales[k] = rms
        if v.size and (np.all(v > 0) or np.all(v < 0)):
            signs[k] = float(np.sign(v.flat[0]))

    def draw(k, shape, rng):
        values = rng.standard_normal(shape) * scales.get(k, 1.0)
        return signs[k] * np.abs(values) if k in signs else values
    return draw if scales or signs else None


FLOAT64_ONLY = "float64 only (float32 inputs come out float64)"


def dtypes_checked(layer, xs, ts):
    """float32 too when the layer keeps float32 (many tutorials compute in float64 only):
    ("float64", "float32"); ("float64", None) when its forward, given float32, gives float64
    (said in the summary); ("float64",) when it takes no float32 or no float input at all."""
    try:
        outs = forward_copy(_numbers_in_float32(layer), [np.asarray(x, np.float32) for x in xs],
                    [np.asarray(t, np.float32) if np.asarray(t).dtype.kind == "f" else t for t in ts])
    except Exception:
        return ("float64",)
    if not xs:
        return ("float64",)
    keeps = all(o.dtype == np.float32 or o.ndim == 0 for o in outs)
    promotes = any(o.dtype == np.float64 and o.ndim for o in outs)
    return ("float64", "float32") if keeps else ("float64", None) if promotes else ("float64",)


def _numbers_in_float32(layer):
    """A copy of ``layer`` with its 0-d params in float32: a learned number the user keeps as a
    Python float (``self.kappa = 0.1``) is held as a 0-d array to be drawn and differentiated,
    and a float64 one would turn float32 inputs into float64 where the user's float does not
    (NumPy promotes by a Python float's value, by an array's dtype)."""
    lay = copy.deepcopy(layer)
    try:
        for k, v in list((lay.params or {}).items()):
            if np.ndim(v) == 0 and np.asarray(v).dtype == np.float64:
                lay.params[k] = np.asarray(v, np.float32)
    except Exception:
        return layer
    return lay


def computes_in_float32(layer, xs, ts):
    """The layer computes in float32: its own params are all float32, or float64 inputs give
    outputs every value of which float32 holds exactly (a forward casting to float32). Such a
    layer is checked in float32 alone: at float64's tolerance its round-off failed every check."""
    params = [np.asarray(v) for v in (dict(layer.params) if layer.params else {}).values()]
    if params and all(p.dtype == np.float32 for p in params):
        return True
    floats = [np.asarray(x, np.float64) for x in xs]
    if not floats or all(np.array_equal(x, x.astype(np.float32)) for x in floats):
        return False          # inputs float32 holds exactly would prove nothing
    try:
        outs = forward_copy(layer, floats, ts)
    except Exception:
        return False
    # (outputs all 0 prove nothing either: a dropout keeping 0.2 dropped every probe value)
    return bool(outs) and any(np.any(o != 0) for o in outs) and all(
        o.dtype.kind == "f" and o.size and np.all(np.isfinite(o))
        and np.array_equal(o, o.astype(np.float32)) for o in outs)


def set_by_first_forward(layer, xs, ts):
    """True when the layer's first forward sets its params from the batch and a second, on other
    inputs, leaves them (a data-dependent init: Glow's ActNorm). Such a layer is given one forward
    when built, before its params are drawn: else every finite-difference copy initialises afresh
    from its own input, and the params look inert."""
    def values(trial):
        return {k: np.array(v, np.float64, copy=True) for k, v in dict(trial.params).items()
                if isinstance(v, np.ndarray) and v.dtype.kind == "f"}
    trial = copy.deepcopy(layer)
    try:
        before = values(trial)
        with np.errstate(all="ignore"):
            trial.forward(*xs, *ts)
            first = values(trial)
            trial.forward(*[np.asarray(x) * 1.5 + 0.5 if np.asarray(x).dtype.kind == "f" else x
                            for x in xs], *ts)
        second = values(trial)
    except Exception:
        return False
    kept = lambda a, b: set(a) == set(b) and all(  # noqa: E731
        a[k].shape == b[k].shape and np.array_equal(a[k], b[k], equal_nan=True) for k in a)
    return bool(before) and set(before) == set(first) and not kept(before, first) and \
        kept(first, second)
