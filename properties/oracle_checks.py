"""The oracle properties: the layer against its TF twin and against finite differences.

No property knows any particular layer: everything layer-specific comes from
the registry entry (build, shapes, twin, targets, tolerances, batch rule).
A failing comparison gets the three-way verdict (``oracle.compare.three_way``):
which of the layer, TF and finite differences is the odd one out.
"""
from dataclasses import replace

import numpy as np

from oracle.compare import agrees, three_way
from oracle.result import join_notes
from oracle.tape import TwinCannotSay
from oracle.tolerance import WithSlack, tolerance_for
from properties import outputs as O
from properties.declare import prop
from properties.no_derivative import no_derivative, warned
from properties.ties import NO_TWIN_EXPLAIN, explanation as ties_explanation, split_at_ties, \
    tied_slopes

JOINT_NOTE = ("finite differences along random directions moving every tensor at once; this "
              "tensor's share is the estimate less the layer's own shares of the others")


def _verdict(trial, fdg, got, tf_grad, tensor="", dout=None):
    """(verdict, explanation) for a failing comparison, in the FD estimate's coordinates.

    The layer and TF are compared on the full arrays (projections on the
    directions finite differences could judge may miss where they differ). A kink
    convention on an input gradient is checked once more at tied inputs
    (``properties.ties``): a gradient duplicated at ties is a layer bug.
    """
    ok = lambda g: g is not None and np.shape(g) == fdg.shape
    overrides = trial.case.entry.tolerances
    layer_tf = coarse = None
    if ok(got) and ok(tf_grad):
        layer_tf = agrees(got, tf_grad, tolerance_for(trial.case.dtype, "tf", overrides))
        coarse = agrees(got, tf_grad, tolerance_for(trial.case.dtype, "fd", overrides))
    verdict = three_way(fdg.project(got) if ok(got) else None,
                        fdg.project(tf_grad) if ok(tf_grad) else None, fdg.values,
                        dtype=trial.case.dtype, overrides=overrides, fd_excused=fdg.excused,
                        layer_tf=layer_tf, layer_tf_coarse=coarse)
    if verdict[0] == "kink convention" and dout is not None and \
            split_at_ties(trial, tensor, got, tf_grad, dout):
        return "layer bug", ties_explanation(trial, tensor)
    return verdict


@prop("forward_tf", needs_twin=True, backward=False)
def forward_vs_tf(trial):
    """forward matches the TF twin's forward."""
    out = trial.forward()
    try:
        want = trial.tf_forward()
    except TwinCannotSay as exc:       # not judged here: said, and the search goes on
        return [trial.finding("out", True, f"not judged by TF on this case: {exc}", oracle="tf")]
    if O.several(out) != O.several(want) or len(O.parts(out)) != len(O.parts(want)):
        return [trial.finding("out", False, f"the layer returned {len(O.parts(out))} output(s), "
                              f"the TF twin {len(O.parts(want))}", verdict="forward differs",
                              explanation="the layer's outputs are not the TF twin's.", oracle="tf")]
    results = [trial.compare(name, got, w, "tf", verdict="forward differs",
                             explanation="the layer's forward output differs from the TF twin's.",
                             note_if_failed=_not_finite_note(got, w))
               for name, got, w in zip(O.names(trial.layer, out), O.parts(out), O.parts(want))]
    convention = trial.case.entry.convention
    if convention and all(r.passed for r in results):
        # matched only by a twin following a known convention: said, as a warning (not beside
        # a failure, where the forward does not even follow its convention)
        found = trial.finding("convention", False, "", verdict="convention",
                              explanation=CONVENTION_EXPLAINED, oracle="tf")
        results.append(replace(found, passed=True, warning=True, ratio=0.0))
    return results


def _not_finite_note(got, want):
    """What an inf or NaN where TF's value is finite usually is, for a loss and for a layer."""
    got, want = np.asarray(got), np.asarray(want)
    if got.dtype.kind != "f" or np.all(np.isfinite(got)) or not np.all(np.isfinite(want)):
        return ""
    return ("the layer's output is inf or NaN where TF's is finite: an exp that overflowed, "
            "a log of a probability that underflowed to 0 (a softmax's log(probs): shifting the "
            "scores by their max prevents the overflow, not the log(0); log-softmax, shifted - "
            "log(sum(exp(shifted))), gives the finite value TF does), or a division by a count "
            "that is 0 here (a mean over a mask that leaves nothing: 0/0, where the twin "
            "divides by at least 1)")


CONVENTION_EXPLAINED = (
    "the layer follows a known convention, not the usual one (named in the note): its forward is "
    "that convention's, and its gradients are checked against that convention's twin. A warning, "
    "not a failure: a forward and backward that agree with each other are no bug, but a "
    "network mixing conventions (a 0.5 in one loss, none in the other) trains differently")


@prop("grads_tf")
def grads_vs_tf(trial):
    """dx and every param grad match the TF VJP for a random upstream gradient."""
    out, dout, dins, grads = trial.run()
    tape = trial.tf_vjp(dout)
    if tape.unavailable:
        return _vs_fd(trial, dout, dins, grads, note=f"TF oracle unavailable for this case "
                      f"({tape.unavailable}); checked against finite differences only",
                      at_ties=True)
    pairs = trial.grad_pairs(dins, grads)
    wants = trial.tape_grads(tape)
    results = [trial.compare(name, got, want, "tf") for (name, got), want in zip(pairs, wants)]
    if all(r.passed for r in results):
        return results
    fd = trial.fd(dout)
    return [r if r.passed else
            trial.compare(name, got, want, "tf", arrays=_fd_arrays(fd[name]),
                          **_verdict_kw(trial, fd[name], got, want, name, dout))
            for r, (name, got), want in zip(results, pairs, wants)]


def _verdict_kw(trial, fdg, got, tf_grad, tensor="", dout=None):
    verdict, explanation = _verdict(trial, fdg, got, tf_grad, tensor, dout)
    return dict(verdict=verdict, explanation=explanation)


# The bound an estimate reports (``finite_diff._Stencil.row``: 8 eps |phi| / (h/4)) is about 5
# times the round-off its Richardson combination can carry (4/3 of the h/4 difference's and
# 1/3 of the h/2 one's, 1.5 eps |phi| / (h/4)): the bound itself is the slack.
FD_SLACK = 1.0


def _fd_arrays(fdg):
    return {"fd": fdg.values} if fdg.mode == "elementwise" else {}


def _vs_fd(trial, dout, dins, grads, tape=None, note="", fd=None, at_ties=False):
    """Each gradient against finite differences; ``at_ties`` (no TF twin to say how a tie is
    broken): an input gradient that passes is also held, along each group of its tied values,
    against the slope every right gradient gives there (``_at_ties``)."""
    fd = fd or trial.fd(dout, claims=dict(trial.grad_pairs(dins, grads)))
    results = []
    for name, got in trial.grad_pairs(dins, grads):
        res = _one_vs_fd(trial, name, got, fd[name], tape, note, dout)
        results.append(_at_ties(trial, name, got, dout, note) or res if at_ties and res.passed
                       else res)
    return results


def _at_ties(trial, name, got, dout, note):
    """The failing comparison of the layer's total along a group of tied inputs with its
    finite-difference slope, for the first group where they differ; else None."""
    tol = tolerance_for(trial.case.dtype, "fd", trial.case.entry.tolerances)
    for value, count, total, slope, noise in tied_slopes(trial, name, got, dout):
        res = trial.compare(name, np.array([total]), np.array([slope]), "fd", note=join_notes(
            note, f"along the {count} tied inputs equal to {value:.6g}, moved together"),
            tol=WithSlack(tol.rtol, tol.atol, FD_SLACK * noise), verdict="layer bug",
            explanation=NO_TWIN_EXPLAIN.format(count=count, value=value))
        if not res.passed:
            return res
    return None


def _one_vs_fd(trial, name, got, fdg, tape, note, dout):
    shaped = np.shape(got) == fdg.shape
    # a NaN where the forward has no derivative (a cone) is not judged: its elements count 0
    # in the projections (a direction crossing the cone is excused), and the result warns
    mask, why = no_derivative(trial, name, got, dout) if shaped else (None, "")
    judged = got if mask is None else np.where(mask, 0.0, np.asarray(got, np.float64))
    kw = dict(excused=fdg.excused if shaped else None, mode=fdg.mode, note_if_failed=why)
    if fdg.noise is not None and shaped:     # the estimate's own round-off is the oracle's
        tol = tolerance_for(trial.case.dtype, "fd", trial.case.entry.tolerances)
        kw["tol"] = WithSlack(tol.rtol, tol.atol, FD_SLACK * fdg.noise)
    note = join_notes(note, JOINT_NOTE if fdg.joint else "")
    # (a gradient of the wrong shape is held against the elementwise estimates themselves,
    # for the diagnosis to see a transpose; directional ones have no shape to show)
    got_fd, want_fd, _ = fdg.against(judged)
    probe = trial.compare(name, got_fd, want_fd, "fd", note=note, **kw)
    if probe.passed:
        return warned(probe, got, mask)
    tf_grad = _tape_grad(trial, tape, name) if tape is not None and not tape.unavailable else None
    arrays = _fd_arrays(fdg)
    if tf_grad is not None and fdg.mode == "elementwise":
        arrays["tf"] = tf_grad
    if fdg.mode == "directional":
        arrays["layer_full"] = got
    res = trial.compare(name, got_fd, want_fd, "fd", note=note, arrays=arrays, **kw,
                        **_verdict_kw(trial, fdg, got, tf_grad))
    if res.verdict == "fd artifact":   # the layer agrees with TF: the estimate is what is off
        if trial.case.entry.convention:  # ... or the forward carries its convention's term
            res = replace(res, explanation=CONVENTION_FD_EXPLAINED)
        return replace(res, passed=True, warning=True)
    return res


CONVENTION_FD_EXPLAINED = (
    "the layer agrees with the TF twin of its convention (named in the note); finite differences "
    "of its forward as written differ, because that forward carries the convention's own term "
    "(a guard like log(p + 1e-7), a clip) while the backward is the exact gradient without it. "
    "Not a kink and not a bug in the backward: the two differ by about the size of that term's "
    "derivative")


def _tape_grad(trial, tape, name):
    return dict(zip(trial.grad_names(), trial.tape_grads(tape)))[name]


@prop("grads_fd", oracle_kinds="fd")
def grads_vs_fd(trial):
    """dx and param grads match float64 finite differences of sum(forward(x) * dout)."""
    out, dout, dins, grads = trial.run()
    fd = trial.fd(dout, claims=dict(trial.grad_pairs(dins, grads)))
    results = _vs_fd(trial, dout, dins, grads, fd=fd)
    if all(r.passed for r in results):
        return results
    tape = trial.tf_vjp(dout)      # a third party for the verdict, on the same estimates
    return _vs_fd(trial, dout, dins, grads, tape, fd=fd) if not tape.unavailable else results
