"""A network's loss layer that is right by a known convention, not a bug.

Deep Learning from Scratch's ``SoftmaxWithLoss`` takes ``log(y + 1e-7)`` in its forward
(``cross_entropy_error``) and returns the exact gradient ``(y - t) / N`` from its backward: the
layer check matches that convention's twin and warns; inside a network, finite differences of
the whole loss carry the guard's ``1e-7 / p`` too, and where a probability is small (a network
with batch norm) that showed as a gradient "wrong" by 1 to 4 times its tolerance.
"""
import copy
from dataclasses import replace

import numpy as np

from oracle.compare import compare
from oracle.finite_diff import fd_vjp
from oracle.user_twins_dense import LOG_GUARDS

# localise's verdict when every layer is right on its own (or right by its convention alone)
STACK = ("gradient(x, t)", "stack bug",
         "every layer's backward is right on its own, so gradient(x, t) combines them wrongly "
         "(a gradient taken from the wrong layer, a layer skipped, or the wrong upstream "
         "gradient passed on)")
GUARDED = ("log(p + {delta}) inside its cross-entropy (a guard against log(0), as Deep Learning "
           "from Scratch's cross_entropy_error has with 1e-7) and the exact gradient (p - t) / N "
           "from its backward: right by that convention, whose guard finite differences of the "
           "whole loss carry (about {delta} / p). Not counted as a failure; every other layer "
           "is right")


def _log_softmax_targets(x, t):
    """(log softmax(x), t as one-hot or soft rows) for scores ``x`` (N, K) and labels (N,) or
    rows (N, K); None for anything else."""
    x, t = np.asarray(x, np.float64), np.asarray(t)
    if x.ndim != 2:
        return None
    n, k = x.shape
    targets = np.eye(k)[t] if t.dtype.kind in "iu" and t.shape == (n,) else \
        t.astype(np.float64) if t.shape == x.shape else None
    if targets is None:
        return None
    shifted = x - x.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)), targets


def guarded_cross_entropy(layer, rec):
    """The convention's sentence when ``layer`` (its forward's arguments and dx as recorded
    inside ``gradient``) is a softmax cross-entropy with a log guard whose backward is the
    exact gradient; else ""."""
    args, dx = rec.get("args", ()), rec.get("dx")
    made = _log_softmax_targets(*args) if len(args) == 2 and dx is not None else None
    if made is None:
        return ""
    logp, targets = made
    try:
        out = float(np.squeeze(copy.deepcopy(rec.get("before", layer)).forward(*args)))
    except Exception:
        return ""
    n, p = len(logp), np.exp(logp)
    if not np.allclose(np.asarray(dx, np.float64), (p - targets) / n, rtol=1e-6, atol=1e-12):
        return ""
    if abs(out + np.sum(targets * logp) / n) <= 1e-12 * max(1.0, abs(out)):
        return ""          # no guard at all (or one too small to tell): nothing to excuse
    for delta in map(float, LOG_GUARDS):
        guarded = -np.sum(targets * np.log(p + delta)) / n
        if abs(out - guarded) <= 1e-9 * max(1.0, abs(out)):
            return GUARDED.format(delta=f"{delta:g}")
    return ""


def _exact_cross_entropy(x, t):
    """The cross-entropy of softmax(x) against labels or one-hot rows t, with no guard."""
    logp, targets = _log_softmax_targets(x, t)
    return -np.sum(targets * logp) / len(logp)


def guard_excused(results, got, net64, layer64, loss, rng, reason):
    """``results`` as convention warnings when the network's gradients ``got`` are the
    derivative of its loss with the guarded layer's forward made exact (``layer64``, inside
    the float64 copy ``net64``; ``loss(net64)`` its loss at its params): the guard was all that
    differed. None when they are not (a stack bug beside the convention, which then fails)."""
    if layer64 is None:
        return None
    layer64.forward = _exact_cross_entropy          # (an instance attribute: the class's kept)
    params = net64.params

    def at(arrays):
        for k, target in params.items():
            np.copyto(target, arrays[k])
        return loss(net64)

    fd = fd_vjp(at, {k: np.array(v, copy=True) for k, v in params.items()}, np.float64(1.0),
                rng=rng)
    for k, g in got.items():
        mine, theirs, excused = fd[k].against(g)
        if not compare(mine, theirs, layer="", prop="", tensor=k, oracle="fd", dtype="float64",
                       excused=excused, mode=fd[k].mode).passed:
            return None
    return [r if r.passed else replace(r, passed=True, warning=True, verdict="convention",
                                       explanation=reason) for r in results]
