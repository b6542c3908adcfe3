"""Properties a layer must satisfy on its own: the protocol's laws.

backward leaves its inputs alone; shapes and dtypes follow the inputs; the
gradient is linear in dout; without batch coupling the batch gradient is the
sum of per-sample gradients; a second forward with another batch size works.
"""
from dataclasses import replace

import numpy as np

from oracle.result import join_notes
from oracle.tolerance import Tolerance, WithSlack, tolerance_for
from properties import outputs as O
from properties.contract import LayerContractError, input_names, target_names
from properties.declare import prop
from properties.global_rng import generator_states, rewind
from properties.no_derivative import finite_part, no_derivative, warned

EXACT = Tolerance(rtol=0.0, atol=0.0)
# A law broken is the layer's own doing (no oracle to doubt): what each one's failure means.
BROKEN = {
    "no_mutation": "the layer wrote into an array its caller owns (an input, a param, the "
                   "upstream gradient); the caller's next use of it sees the change: copy before "
                   "writing in place",
    "linear_in_dout": "backward(a*d1 + b*d2) is not a*backward(d1) + b*backward(d2): a backward "
                      "is linear in the upstream gradient; this one ignores dout (backward(dout=1) "
                      "called with another dout), adds a term that does not scale with it, or "
                      "keeps something from one call to the next (a gradient accumulated with +=)",
    "ignores_dout": "backward returns the same gradients whatever dout it is given (the seeds' "
                    "backward(self, dout=1)): right only while this loss is the last node and "
                    "nothing scales it; under a weighted or summed loss its gradients are wrong. "
                    "Multiply by dout",
    "accumulates": "its zero_grad() (or numpy-ml's flush_gradients()) says its backward adds to "
                   "its gradients (PyTorch's .grad +=), but a second backward without clearing "
                   "them did not leave twice the first's gradient: it "
                   "assigns, so a parameter used twice (tied weights, a layer applied at two "
                   "places) or micro-batches accumulated before a step keep only the last one",
    "batch_resize": "a second forward and backward at another batch size differ from a fresh "
                    "layer's at that size: something kept from the first call (a cache, a size "
                    "or a mask read once) is used again",
    "not_finite": "the layer gave NaN or inf on these inputs (a log of 0, an exp that "
                  "overflows, a division by 0 at the edge of its domain), so this law cannot "
                  "hold; what to fix is where the NaN or inf comes from, not the law",
    "batch_additive": "the batch's gradient is not the {rule} of each sample's gradient alone: a "
                      "sample's gradient depends on the other samples (a mean where a sum belongs, "
                      "a reshape mixing samples, a statistic of the whole batch)",
    # the sequence laws (properties/sequence_laws.py)
    "bptt_cells": "the unrolled layer is not its own cell run step after step: backpropagation "
                  "through time must carry each step's dh (and dc) back into the step before and "
                  "sum every step's weight gradients; a dropped carry, a gradient kept from one "
                  "step only, or another step's cache breaks it",
    "one_step_cell": "over one step the unrolled layer is not its own cell: the two compute the "
                     "step differently (a gate order, a transposed weight, a missing bias)",
    "positions_additive": "the gradient over the sequence is not the sum of each position's: an "
                          "index used at several positions kept one of their gradients (an "
                          "assignment where np.add.at or += belongs), or positions mix",
    "masked_no_grad": "a masked (padded) position got a gradient: the mask that leaves it out of "
                      "the forward is not applied in the backward",
    "causal": "with the upstream gradient zero after step t, an input after t got a gradient: "
              "an output depends on a later input (a causal mask or a cumulative sum taken the "
              "wrong way)",
}


def broken(prop, *arrays, **fill):
    """The verdict and explanation of ``prop`` broken, or of a NaN or inf among ``arrays``
    (the layer's values the law compared), which breaks every law alike."""
    finite = all(a is None or bool(np.all(np.isfinite(np.asarray(a, np.float64))))
                 for a in arrays)
    return dict(verdict="layer bug", explanation=BROKEN[prop if finite else "not_finite"].format(**fill))


@prop("no_mutation")
def no_mutation(trial):
    """forward and backward leave x, dout and the params unchanged."""
    inputs0 = [x.copy() for x in trial.inputs]
    targets0 = [np.array(t, copy=True) for t in trial.targets]
    out = trial.forward()
    dout = trial.case.dout_for(out)
    dout0 = O.copy(dout)
    trial.backward(dout)
    layer, params0 = trial.layer, trial.params0
    said = broken("no_mutation")
    results = [trial.compare(f"{n} (input)", x, x0, "law", tol=EXACT, **said,
                             note="" if np.array_equal(x, x0) else "forward or backward wrote into its input")
               for n, x, x0 in zip(_input_names(trial), trial.inputs, inputs0)]
    results += [trial.compare(f"{k} (param)", layer.params[k], params0[k], "law", tol=EXACT, **said,
                              note="" if np.array_equal(layer.params[k], params0[k])
                              else "backward changed a parameter")
                for k in params0]
    results += [trial.compare(f"{n} (target)", np.asarray(t), t0, "law", tol=EXACT, **said,
                              note="" if np.array_equal(t, t0) else "forward or backward wrote "
                              "into an input it does not differentiate")
                for n, t, t0 in zip(target_names(trial.layer, len(trial.targets)), trial.targets,
                                    targets0)]
    for n, d, d0 in zip(O.names(trial.layer, out), O.parts(dout), O.parts(dout0)):
        if np.ndim(d):
            results.append(trial.compare("d" + n, d, d0, "law", tol=EXACT, **said,
                                         note="" if np.array_equal(d, d0) else
                                         "backward overwrote the caller's upstream gradient in place"))
    return results


WRONG_SHAPE = ("the gradient does not have its tensor's shape: an update W -= lr * dW would "
               "broadcast it into the wrong elements or raise")
WRONG_DTYPE = ("the layer's {what} does not keep its input's dtype: something in the layer is "
               "of another float type and NumPy promoted it (an array made from Python floats, "
               "np.where(x > 0, 1.0, alpha); a mask from np.random.rand, or a boolean mask "
               "divided by a number; an int64 label in arithmetic; one-hot rows np.eye(n)"
               "[labels] or np.ones(...) without dtype=), so a float32 model silently "
               "computes in float64 there")


def _kind_check(trial, tensor, got, like, what):
    shaped = np.shape(got) == np.shape(like)
    # (a param of one number, a Python float the user keeps, has no dtype of its own to keep:
    # its gradient is a float of any precision)
    number = what.startswith("param") and np.ndim(like) == 0 and np.asarray(got).dtype.kind == "f"
    ok = shaped and (number or np.asarray(got).dtype == np.asarray(like).dtype)
    return trial.finding(tensor, ok, "" if ok else (
        f"{tensor} has shape {np.shape(got)} and dtype {np.asarray(got).dtype}; "
        f"expected {np.shape(like)} and {np.asarray(like).dtype} ({what})"), verdict="layer bug",
        explanation=WRONG_SHAPE if not shaped else WRONG_DTYPE.format(what="gradient"))


@prop("shapes_dtypes")
def shapes_dtypes(trial):
    """dx and grads have the shapes and dtype of their inputs; an array output keeps the input dtype.

    A loss may return its scalar value as a Python float (the common, correct
    convention); an array output, dx and every grad must keep the dtype.
    """
    results = _kinds(trial, *trial.run())
    labels = [t for t in trial.targets if np.asarray(t).dtype.kind in "iu"]
    if labels and trial.case.dtype == "float32" and not all(r.passed for r in results):
        # labels the harness drew as int64 promote a float32 layer's arithmetic (y * d): with
        # float32 labels, as a float32 model is given, it may keep its dtype
        as_floats = [np.asarray(t, np.float32) if np.asarray(t).dtype.kind in "iu" else t
                     for t in trial.targets]
        try:
            again = _kinds(trial, *trial.run(targets=as_floats))
        except Exception:       # labels it indexes with: the int64 run's findings stand
            again = None
        if again is not None and all(r.passed for r in again):
            return [replace(r, note=join_notes(r.note, FLOAT_LABELS)) for r in again]
    return results


FLOAT_LABELS = ("checked with its labels as float32: drawn as int64 they promote its arithmetic "
                "to float64 (NumPy's rule), so give a float32 model float32 labels")


def _kinds(trial, out, dout, dins, grads):
    """shapes_dtypes' findings on one run."""
    like = _float_like(trial)
    results = []
    for name, o in zip(O.names(trial.layer, out), O.parts(out)):
        if isinstance(o, np.ndarray) and o.ndim:
            ok = o.dtype == like.dtype
            results.append(trial.finding(name, ok, "" if ok else
                                         f"{name} has dtype {o.dtype}, expected {like.dtype}",
                                         verdict="layer bug",
                                         explanation=WRONG_DTYPE.format(what="output")))
    likes = {f"d{n}": (x, f"input {n}") for n, x in zip(input_names(trial.layer), trial.inputs)}
    likes.update({f"d{k}": (v, f"param {k}") for k, v in trial.params0.items()})
    for name, got in trial.grad_pairs(dins, grads):
        results.append(_kind_check(trial, name, got, *likes[name]))
    return results


def _float_like(trial):
    """The array whose dtype float outputs must keep: the first input, else the first param."""
    floats = [*trial.inputs, *trial.params0.values()]
    return np.asarray(floats[0]) if floats else np.zeros(0, trial.case.dtype)


def _input_names(trial):
    return list(input_names(trial.layer))


def _takes_dout(entry):
    return "" if entry.takes_dout else (
        "its backward() takes no upstream gradient: it is a loss, the last node by its own "
        "signature, checked at dout = 1 by grads_tf and grads_fd")


@prop("linear_in_dout", applies=_takes_dout)
def linear_in_dout(trial):
    """backward(a*d1 + b*d2) == a*backward(d1) + b*backward(d2), after one forward."""
    held = generator_states(trial.layer)
    out = trial.forward()
    rng = trial.case.rng("linear")
    a, b = rng.uniform(0.5, 2.0), -rng.uniform(0.5, 2.0)
    d1, d2 = trial.case.dout_for(out, "d1"), trial.case.dout_for(out, "d2")
    d12 = O.each(lambda x, y: np.asarray(x).dtype.type(a) * x + np.asarray(x).dtype.type(b) * y,
                 d1, d2)
    g1, g2, g12 = backwards(trial, (d1, d2, d12), held)
    ignored = not O.several(out) and np.ndim(out) == 0 and all(
        x is not None and np.all(np.isfinite(x)) and np.array_equal(x, y) and np.array_equal(x, z)
        for x, y, z in zip(g1, g2, g12))
    # NaN where the forward has no derivative (a cone) is not judged (properties/no_derivative)
    apart = [(None, "") if ignored else no_derivative(trial, n, got, d12)
             for n, got in zip(trial.grad_names(), g12)]
    masks = [m for m, _ in apart]
    said = broken("ignores_dout" if ignored else "linear_in_dout",
                  *(x for g in (g1, g2, g12) for x in finite_part(g, masks)))
    with np.errstate(invalid="ignore", over="ignore"):    # NaN or inf: ``said`` says so
        wants = [a * np.float64(x) + b * np.float64(y) for x, y in zip(g1, g2)]
    results = [warned(trial.compare(n, got, want, "law", excused=m, note_if_failed=why, **said),
                      got, m)
               for n, got, want, (m, why) in zip(trial.grad_names(), g12, wants, apart)]
    if all(r.passed for r in results) or ignored:
        return results
    # A backward that cancels large values (a saturated softmax) rounds off above the law's
    # tolerance: allowed on top of it, as measured on this very backward (a bug's error is
    # of the gradient's size, its measured round-off a millionth of it).
    noise = [n1 + n2 for n1, n2 in zip(_round_off(trial, d1), _round_off(trial, d2))]
    tol = tolerance_for(trial.case.dtype, "law", trial.case.entry.tolerances)
    results = [warned(trial.compare(n, got, want, "law", **said, note=ROUND_OFF_NOTE, excused=m,
                                    tol=WithSlack(tol.rtol, tol.atol, ROUND_OFF_SLACK
                                                  * (1 + abs(a) + abs(b)) * slack)), got, m)
               for n, got, want, slack, m in zip(trial.grad_names(), g12, wants, noise, masks)]
    if all(r.passed for r in results):
        return results
    return _below_fd_resolution(trial, results, d12, dict(zip(trial.grad_names(), g12)))


BELOW_FD = ("the law's tolerance is missed by less than finite differences resolve: "
            "backward(a*d1 + b*d2) is the derivative of the forward along a*d1 + b*d2 to finite "
            "differences' tolerance, so what is left is round-off no probe of a black box "
            "measures (a saturated softmax's cancellation is smooth in dout)")


def _below_fd_resolution(trial, results, d12, got):
    """The failing results whose backward(d12) matches finite differences of the forward along
    d12 become that comparison (passed, and said): a backward not linear in dout (one that
    ignores it, accumulates across calls or adds a term in dout squared) misses it too."""
    if any(g is None or not np.all(np.isfinite(g)) for g in got.values()):
        return results
    fd = trial.fd(d12, claims=got)
    out = []
    for r in results:
        fdg = fd.get(r.tensor)
        if r.passed or fdg is None or np.shape(got[r.tensor]) != fdg.shape:
            out.append(r)
            continue
        probe = trial.compare(r.tensor, fdg.project(got[r.tensor]), fdg.values, "fd",
                              excused=fdg.excused, mode=fdg.mode, note=BELOW_FD)
        out.append(probe if probe.passed else r)
    return out


# The backward's round-off, measured: |backward(s*d) / s - backward(d)| with s = 1 + 2**-20, each
# on a fresh layer after its own forward (a layer accumulating its gradients is right on a first
# call). A linear backward differs there by round-off alone; a backward not linear in dout
# differs by about 2**-20 of its gradient, far below what breaking the law shows.
RESCALE = 1.0 + 2.0 ** -20
ROUND_OFF_SLACK = 4.0
ROUND_OFF_NOTE = ("compared allowing the backward's own round-off, measured by rescaling dout by "
                  "1 + 2**-20 on fresh layers")


def backwards(trial, douts, held):
    """The gradients of one backward per upstream gradient in ``douts``, after the forward the
    trial ran. A backward that runs once per forward (it frees or pops what it saved, as
    PyTorch's does) raises at the second: each then gets the same forward again before it
    (``held``: the layer's generators as they were before the first, rewound: the same mask),
    and the results say so."""
    try:
        return [_flat(*trial.backward(O.copy(d))) for d in douts]
    except LayerContractError as exc:
        if exc.verdict != "layer raised":
            raise
    grads = []
    for d in douts:
        rewind(held)
        trial.forward()
        grads.append(_flat(*trial.backward(O.copy(d))))
    if ONCE_NOTE not in trial.notes:
        trial.notes.append(ONCE_NOTE)
    return grads


ONCE_NOTE = ("a second backward on one forward raised (the backward frees what its forward "
             "saved, as PyTorch's does): each backward was given the same forward again")


def _round_off(trial, dout):
    runs = []
    for scale in (1.0, RESCALE):
        lay = trial.case.build()
        trial.forward(lay)
        scaled = O.each(lambda d: np.asarray(d).dtype.type(scale) * d, dout)
        runs.append(_flat(*trial.backward(O.copy(scaled), lay)))
    with np.errstate(invalid="ignore", over="ignore"):
        return [np.zeros(0) if x is None or y is None else
                np.abs(np.asarray(y, np.float64) / RESCALE - np.asarray(x, np.float64))
                for x, y in zip(*runs)]


def _flat(dins, grads):
    return [*dins, *grads.values()]


def _coupled(entry):
    return "" if entry.batch_rule in ("sum", "mean") else entry.batch_rule


@prop("batch_additive", applies=_coupled, min_batch=2)
def batch_additive(trial):
    """Without batch coupling, batch gradients are the (weighted) sum of per-sample gradients.

    Only inputs that carry the batch axis are sliced per sample; a broadcast
    operand (a bias of shape (D,)) is passed whole to every per-sample run, and
    its gradient, like a param's, is the sum over samples.
    """
    case = trial.case
    _, dout, dins, grads = trial.run()
    n = case.batch
    batched = case.entry.batched_inputs(case.config, n)
    shared = [not b for b in case.entry.batched_targets(case.config, n)]
    w = 1.0 / n if case.entry.batch_rule == "mean" else 1.0
    per = []
    for i in range(n):
        sl = slice(i, i + 1)
        lay = case.build()
        xs = [x[sl] if b else x for x, b in zip(trial.inputs, batched)]
        trial.forward(lay, xs, [t if k < len(shared) and shared[k] else t[sl]
                                for k, t in enumerate(trial.targets)])
        d = O.each(lambda a: a if np.ndim(a) == 0 else np.array(a[sl]), dout)
        per.append(_flat(*trial.backward(d, lay, xs)))
    results = []
    batched_grads = {f"d{n}": b for n, b in zip(input_names(trial.layer), batched)}
    for j, (name, got) in enumerate(trial.grad_pairs(dins, grads)):
        parts = [np.asarray(p[j], np.float64) for p in per]
        along_batch = batched_grads.get(name, False)
        want = w * (np.concatenate(parts, axis=0) if along_batch else np.sum(parts, axis=0))
        mask, why = no_derivative(trial, name, got, dout)   # NaN at a cone: not judged
        results.append(warned(trial.compare(
            name, got, want, "law", note=f"batch rule {case.entry.batch_rule!r}, N={n}",
            context={}, excused=mask, note_if_failed=why,   # (diagnosed: a factor N is named)
            **broken("batch_additive", *finite_part([got, want] if mask is not None
                                                    else [got, *parts], mask),
                     rule=case.entry.batch_rule)), got, mask))
    return results
