"""A NaN or inf from a layer's backward where its forward has no derivative.

A contrastive loss's ``dx = (m - d) * diff / d`` is 0/0 where ``x1 == x2``: the distance
``d = ||x1 - x2||`` is a cone there, with no derivative at its tip. A law comparing the
layer's gradients with the layer's own (per sample, at another dout) sees NaN on both sides
and used to fail it as "the layer gave NaN on these inputs". Finite differences tell the two
cases apart, element by element, at the inputs the law ran on:

* where the forward has a derivative (central differences converge), a NaN is a bug:
  ``0 * (h / d)`` for a similar pair, whose ``d ** 2`` is smooth at 0, is NaN where 0 belongs;
  the law's failure stands;
* where it has none (the one-sided slopes differ by as much at every step), no gradient
  exists to be wrong: those elements are not judged, and the result is a warning that says
  what a training step meeting such an input does;
* where finite differences cannot tell (round-off, an overflow), the law judges as before.

Finite differences compare the same way (a NaN at a kink is excused there); their result
gets the same warning.
"""
from dataclasses import replace

import numpy as np

from oracle.finite_diff import kink_along
from oracle.result import join_notes
from properties import outputs as O
from properties.contract import input_names
from properties.global_rng import kept_global_rng

MAX_ASKED = 64     # NaN elements asked about one by one (6 forwards each); more: it stands

NOTE = ("{k} of {n} element(s) not judged: the layer's gradient is NaN or inf there, at inputs "
        "where its forward has no derivative (finite differences' one-sided slopes differ "
        "however short the step: a kink or a cone, as a norm has at 0). No gradient exists "
        "there to be wrong, but a training step that meets such an input puts NaN into every "
        "weight it reaches; a guard (an eps under the root, a norm clamped away from 0) avoids it")


def no_derivative(trial, name, got, dout):
    """``(mask, note)`` for the layer's gradient ``got`` of ``name`` ("dx1", "dW", ...) at the
    trial's own inputs and params, when it holds a NaN or inf.

    ``mask`` marks its NaN or inf elements when every one sits where the forward has no
    derivative (a boolean array of its shape), else None: no NaN or inf, one where the forward
    has a derivative (a bug: the law judges it, and ``note`` names the element and the
    derivative finite differences find there), or the trial cannot say (a forward that is not
    a function of its inputs, more than ``MAX_ASKED`` of them)."""
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            if np.isfinite(np.sum(got)):     # one pass, no array: the common case
                return None, ""
        a = np.asarray(got, np.float64)
    except (TypeError, ValueError):
        return None, ""
    kept = vars(trial).setdefault("_no_derivative", [])   # (grads_fd asks again with TF's)
    said = next((s for g, n, d, s in kept if g is got and n == name and d is dout), None)
    if said is None:
        said = _no_derivative(trial, name, a, dout)
        kept.append((got, name, dout, said))
    return said


def _no_derivative(trial, name, a, dout):
    bad = np.flatnonzero(~np.isfinite(a))
    arrays = {**dict(zip(input_names(trial.layer), trial.inputs)), **trial.params0}
    key = name[1:]
    if not 0 < bad.size <= MAX_ASKED or key not in arrays or np.shape(arrays[key]) != a.shape:
        return None, ""
    with kept_global_rng():
        if trial.nondeterminism():
            return None, ""
        fn = trial.float64_function()
        for i in bad:
            unit = np.zeros(a.shape)
            unit.flat[i] = 1.0
            found, slope = kink_along(fn, arrays, O.pack(dout), key, unit)
            if found == "unresolved":     # round-off or overflow: finite differences cannot say
                return None, ""
            if found == "smooth":
                at = f"{name}[{', '.join(str(int(j)) for j in np.unravel_index(i, a.shape))}]"
                return None, (f"at {at} the layer's gradient is {a.flat[i]} where its forward has "
                              f"a derivative (finite differences: {slope:.6g}): a 0 * inf, a "
                              f"0 / 0 or an overflow in the backward, not a point without a "
                              f"gradient")
    mask = np.zeros(a.shape, bool)
    mask.flat[bad] = True
    return mask, ""


def finite_part(arrays, masks):
    """``arrays`` with the elements each mask marks set to 0, for ``laws.broken`` to tell a NaN
    left where the law judges from none. ``masks``: one per array, or one for them all (an
    array of another shape, or a mask that is None, is left as it is)."""
    masks = masks if isinstance(masks, list) else [masks] * len(arrays)
    return [a if m is None or a is None or np.shape(a) != m.shape else np.where(m, 0.0, a)
            for a, m in zip(arrays, masks)]


def warned(result, got, mask):
    """``result`` as a warning saying so, when it passed with ``mask`` (``no_derivative``'s)
    setting the layer's NaN or inf elements of ``got`` apart; else as it is (equal infinities
    on both sides of a law pass it, and are no point without a derivative)."""
    if not result.passed or result.warning or mask is None or not mask.any():
        return result
    k, n = int(np.count_nonzero(mask)), int(np.size(got))
    return replace(result, warning=True, note=join_notes(result.note, NOTE.format(k=k, n=n)))


def same_nonfinite(got, want):
    """Where a law's two sides, the same layer run twice (``batch_resize``: a fresh one at the
    second batch size), are the same NaN or inf (a mask), or None: there the law holds; whether
    the layer should give NaN there at all is for the gradient checks to judge, against TF and
    finite differences, and for ``batch_additive`` (a 0 * NaN where the forward has a
    derivative fails them)."""
    try:
        a, b = np.asarray(got, np.float64), np.asarray(want, np.float64)
        if a.shape != b.shape:
            return None
        mask = ~np.isfinite(a) & (np.isnan(a) & np.isnan(b) | (a == b))
    except (TypeError, ValueError):
        return None
    return mask if mask.any() else None
