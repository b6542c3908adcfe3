"""Compare a hand-written tensor with an oracle's, and name the likely culprit.

``compare`` checks shape, then finiteness, then values (in that order, so the
first thing wrong is the thing reported). ``three_way`` looks at the layer, TF
and finite differences together and says which of the three is the odd one out.
"""
import numpy as np

from oracle.diagnosis import diagnose
from oracle.result import Result, join_notes
from oracle.tolerance import dtype_name, error_ratio, tolerance_for

N_WORST = 8
DIAGNOSED_ORACLES = ("tf", "fd")   # compared with a gradient, not a law


def compare(actual, expected, *, layer, prop, tensor, oracle, dtype, config=None,
            overrides=None, excused=None, arrays=None, mode="elementwise", tol=None,
            note="", note_if_failed="", verdict="", explanation="", reproduce="", context=None,
            diagnosed=True):
    """Return a :class:`Result` for ``actual`` (the layer's) against ``expected`` (the oracle's).

    ``excused`` is a boolean mask of elements the oracle cannot judge (kinks for
    finite differences); they are left out of the verdict and counted.
    ``note`` is added to whatever the comparison itself notes; ``note_if_failed``,
    ``verdict`` and ``explanation`` apply only when the comparison fails; ``reproduce`` (a
    string or a function returning one) is only worked out for a failure.
    When every element is excused nothing was judged: ``judged`` is False, nothing
    failed (``passed`` stays True) and the verdict says "not judged".
    A failing result against a gradient oracle ("tf", "fd"), or any failing result
    given a ``context``, gets a diagnosis (:func:`oracle.diagnosis.diagnose`):
    ``context`` adds what the check knows (inputs, dout, ...) to the config and tolerance.
    ``diagnosed`` False: none (an optimizer's trajectory, whose axes are steps and a param's,
    not a layer's tensor: its parting note says where it went wrong).
    """
    tol = tol or tolerance_for(dtype, oracle, overrides)
    parties = dict(arrays or {})
    parties.setdefault("layer", actual)
    parties.setdefault(oracle, expected)
    fields = dict(layer=layer, prop=prop, tensor=tensor, oracle=oracle, dtype=dtype_name(dtype),
                  config=dict(config or {}), rtol=tol.rtol, atol=tol.atol, mode=mode, arrays=parties)
    stats = _stats(actual, expected, tol, excused, tensor, parties)
    passed = stats.pop("passed")
    own_note = stats.pop("note", "")
    if not stats.get("judged", True):
        verdict, explanation = "not judged", VERDICTS["not judged"]
    if not passed and callable(reproduce):
        reproduce = reproduce()
    found = None
    if not passed and diagnosed and (context is not None or oracle in DIAGNOSED_ORACLES):
        found = diagnose(actual, expected, context={
            "config": fields["config"], "tensor": tensor, "dtype": fields["dtype"],
            "oracle": oracle, "tol": tol, "excused": excused, "mode": mode, **(context or {})})
    return Result(**fields, **stats, passed=passed,
                  note=join_notes(note_if_failed if not passed else "", note, own_note),
                  verdict="" if passed and stats.get("judged", True) else verdict,
                  explanation="" if passed and stats.get("judged", True) else explanation,
                  reproduce="" if passed or not isinstance(reproduce, str) else reproduce,
                  diagnosis=found.to_plain() if found else {})


def _stats(actual, expected, tol, excused, tensor, parties):
    """Shape, then finiteness, then values: the numbers a result reports."""
    if actual is None:
        return dict(passed=False, ratio=float("inf"), note=f"the layer produced no {tensor} (None)")
    a = np.asarray(actual)
    b = np.asarray(expected, dtype=np.float64)
    if a.shape != b.shape:
        return dict(passed=False, ratio=float("inf"),
                    note=f"shape {a.shape} differs from the expected {b.shape}")
    a = np.asarray(a, np.float64)    # read only: no copy of a float64 tensor
    if excused is None or not np.any(excused):
        quick = _passing(a, b, tol)
        if quick is not None:
            return quick
    err, ratio, scale = error_ratio(a, b, tol, excused)
    finite_b = np.isfinite(b)
    excused = np.zeros(a.shape, bool) if excused is None else np.asarray(excused, bool)
    judged = ~excused
    ratio_j = np.where(judged, ratio, 0.0)
    n_excused = int(excused.sum())
    if n_excused:
        parties["excused"] = excused
    n_mismatched = int((ratio_j > 1).sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(err == 0, 0.0, err / np.abs(b))
    passed = n_mismatched == 0
    out = dict(passed=passed, judged=not (a.size and n_excused == a.size), scale=scale, n_total=int(a.size), n_excused=n_excused,
               n_mismatched=n_mismatched, ratio=float(ratio_j.max(initial=0.0)),
               max_abs_err=float(np.where(judged, err, 0.0).max(initial=0.0)),
               max_rel_err=float(np.where(judged & finite_b, rel, 0.0).max(initial=0.0)),
               worst=[] if passed else [(tuple(int(i) for i in np.unravel_index(k, a.shape)),
                                         float(a.flat[k]), float(b.flat[k]), float(err.flat[k]))
                                        for k in worst_indices(ratio_j)])
    if not passed and not np.all(np.isfinite(a[judged])):
        out["note"] = "the layer's tensor contains NaN or Inf"
    return out


def _passing(a, b, tol):
    """The numbers of a comparison that passes with every value finite, in a few passes over
    the arrays (most comparisons pass, and the general path below makes many more); None
    when it does not pass, or something is not finite: the general path then says what."""
    if a.ndim == 0:     # (a 0-d array's arithmetic gives scalars, which take no out=)
        a, b = a.reshape(1), b.reshape(1)
    absb = np.abs(b)
    scale = max(1.0, float(absb.max(initial=0.0)))
    if not np.isfinite(scale) or tol.atol * scale <= 0:
        return None
    # three new arrays, the rest worked in place: at 100k elements each fresh one costs about
    # as much as the arithmetic on it
    with np.errstate(invalid="ignore", over="ignore"):   # inf - inf: the general path says it
        err = np.subtract(a, b)
        np.abs(err, out=err)
    allowed = np.multiply(absb, tol.rtol)
    allowed += tol.atol * scale
    if getattr(tol, "slack", None) is not None:
        allowed += tol.slack
    ratio = np.divide(err, allowed, out=allowed)
    worst = float(ratio.max(initial=0.0))
    if not worst <= 1.0:      # a failure, or NaN somewhere
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.divide(err, absb, out=absb)   # 0 / 0 is NaN, which fmax passes over: no error there
    return dict(passed=True, judged=True, scale=scale, n_total=int(a.size), n_excused=0,
                n_mismatched=0, ratio=worst, max_abs_err=float(err.max(initial=0.0)),
                max_rel_err=float(np.fmax.reduce(rel, axis=None, initial=0.0)), worst=[])


def worst_indices(ratio, n=N_WORST):
    """Flat indices of the ``n`` largest positive entries of ``ratio``, largest first, ties by
    index: what a stable sort of the whole array would give, in linear time (a partition finds
    the n-th largest value; only the entries at or above it are sorted)."""
    flat = ratio.reshape(-1)
    if flat.size > n:
        nth = np.partition(flat, flat.size - n)[flat.size - n]
        candidates = np.flatnonzero((flat >= nth) & (flat > 0))
    else:
        candidates = np.flatnonzero(flat > 0)
    order = np.argsort(-flat[candidates], kind="stable")[:n]
    return candidates[order].tolist()


def agrees(x, y, tol, excused=None):
    """True where elementwise |x - y| is within ``tol`` (scale taken from y), outside ``excused``."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.shape != y.shape:
        return False
    ok = np.abs(x - y) <= tol.allowed(y)
    if excused is not None:
        ok |= np.asarray(excused, bool)
    return bool(np.all(ok))


VERDICTS = {
    "agree": "the layer, TF and finite differences agree.",
    "not judged": "finite differences could not judge any element: every stencil crossed a kink "
                  "(the check neither passed nor failed).",
    "layer bug": "TF and finite differences agree with each other but not with the layer: "
                 "the hand-written backward is wrong.",
    "convention or twin": "the layer agrees with finite differences of its own forward, but not "
                          "with TF: a convention difference (reduction, scaling, layout) or a bug "
                          "in the TF twin, not in the backward.",
    "kink convention": "the layer and TF differ only where the function has a kink (finite "
                       "differences cannot judge there): the layer follows another convention "
                       "than TF at non-differentiable points (ReLU'(0), which tied maximum wins).",
    "below fd resolution": "the layer differs from TF by less than finite differences can "
                           "resolve (both are within the looser FD tolerance): TF is the sharper "
                           "oracle here, so the layer or the twin is slightly off.",
    "fd artifact": "the layer agrees with TF; finite differences differ, which points at a kink "
                   "or a step-size artifact, not at the layer.",
    "all disagree": "none of the three agree: check the forward pass against the TF twin first.",
    "layer vs tf": "the layer disagrees with TF; finite differences were not available to "
                   "arbitrate, so the layer or the twin may be wrong.",
    "layer vs fd": "the layer's backward is not the derivative of its own forward (judged by "
                   "finite differences alone, with no TF result to compare).",
}


NOT_FINITE = ("the layer's gradient is inf or NaN where TF's is finite: its backward divides by "
              "zero or overflows there (an epsilon the forward has and the backward lacks?).")


def three_way(layer, tf=None, fd=None, *, dtype, overrides=None, fd_excused=None, layer_tf=None,
              layer_tf_coarse=None):
    """Name the odd one out among the layer's gradient, TF's and finite differences'.

    Returns ``(verdict, explanation)``; any of ``tf`` and ``fd`` may be None.
    ``layer_tf``: whether the layer agrees with TF, when judged on arrays finer
    than these (the full gradients, when ``layer``/``tf``/``fd`` are projections);
    ``layer_tf_coarse``: the same at the finite-difference tolerance. When the
    full gradients differ by more than finite differences resolve, yet every
    estimate finite differences could judge agrees with both, the difference
    sits where they could not look (kinks, ties): a kink convention.
    """
    tol_tf = tolerance_for(dtype, "tf", overrides)
    tol_fd = tolerance_for(dtype, "fd", overrides)
    if layer is None or np.shape(layer) != np.shape(tf if tf is not None else fd):
        return "layer bug", "the layer's gradient is missing or has the wrong shape."
    if tf is not None and np.shape(tf) == np.shape(layer) and np.any(
            ~np.isfinite(layer) & np.isfinite(tf)):       # never a convention at any kink
        return "layer bug", NOT_FINITE
    l_tf = None if tf is None else (agrees(layer, tf, tol_tf) if layer_tf is None else layer_tf)
    l_fd = None if fd is None else agrees(layer, fd, tol_fd, fd_excused)
    if tf is not None and fd is not None:
        tf_fd = agrees(tf, fd, tol_fd, fd_excused)
        if l_tf and l_fd:
            key = "agree"
        elif not l_tf and l_fd and tf_fd:
            only_at_kinks = fd_excused is not None and np.any(fd_excused) and \
                agrees(layer, tf, tol_tf, fd_excused)
            unseen = layer_tf_coarse is False     # beyond FD's resolution, yet FD saw nothing
            key = "kink convention" if only_at_kinks or unseen else "below fd resolution"
        elif tf_fd:
            key = "layer bug"
        elif l_fd:
            key = "convention or twin"
        elif l_tf:
            key = "fd artifact"
        else:
            key = "all disagree"
    elif tf is not None:
        key = "agree" if l_tf else "layer vs tf"
    else:
        key = "agree" if l_fd else "layer vs fd"
    return key, VERDICTS[key]
