"""A user's optimizer whose learning rate changes from step to step: a schedule inside update().

``lr = self.lr * self.decay ** self.t``, a halving every few steps, a warm-up: the update
is Keras's, at a learning rate of its own at every step. At the optimizer's constant
learning rate no twin matches, and the optimizer was reported as a layer bug.

When no candidate matched, each one is tried again at a learning rate fitted step by step.
Every candidate's step is linear in that step's learning rate (SGD, momentum in either form,
Nesterov, RMSProp, Adam and AdaGrad, weight decay decoupled or coupled): from where the
twin stands after the rates fitted so far, Keras's params after step t at rate 0 (where a
velocity still carries them) and at rate 1 differ by a direction D, and the user's params
must be the first plus lr_t D for one number lr_t. A step no number explains ends the
candidate. The rates found are then run through Keras from the start
(``layers.schedules.PerEpoch``, whose twin is Keras's PiecewiseConstantDecay) and the
trajectory compared as every optimizer's is.

What the rates may be, since nothing says what the user meant:

* The same on a second draw of gradients (a schedule depends on the step alone), starting at
  the optimizer's own learning rate and never rising: a decay. A WARN that lists the rates
  and names the form (exponential, steps, inverse time, linear) where it is one of them.
* Rising along a straight line from the first step (from 0 or above), up to the optimizer's
  own rate and maybe decaying from there: a linear warm-up, a WARN.
* Scaled by a factor that depends on the gradients, factor min(1, c / |g|) with |g| the
  norm of all gradients together and one c throughout: clipping by global norm, a WARN.
* Anything else (a constant factor, rates that wander, an off-by-one bias correction,
  which rises but not along a line): not explained, and the failure stands with the
  rates in its explanation.
"""
from dataclasses import replace

import numpy as np

from oracle.compare import agrees
from oracle.result import join_notes
from oracle.tolerance import tolerance_for
from properties.owncode_clipping import global_norm

SAME = 1e-9     # relative: two rates of one schedule (rounding of the fit is ~1e-15)


def fit_rates(run, mine, params0, grad_steps, tol):
    """Per-step learning rates under which the candidate ``run`` takes the user's steps
    ``mine`` (params after each step), or None when some step is no multiple of Keras's."""
    rates, before, carries = [], [np.asarray(p, np.float64) for p in params0], None
    for t in range(len(grad_steps)):
        # at rate 0 a velocity moves the params on; nothing moves on the first step, and a
        # candidate seen not to move at rate 0 on the second has no velocity: not run again
        at0 = before if t == 0 or carries is False else \
            run(params0, grad_steps[:t + 1], lrs=rates + [0.0])[0][t]
        if t == 1 and carries is None:
            carries = not all(np.allclose(a, b, rtol=1e-13, atol=0) for a, b in zip(at0, before))
        at1 = run(params0, grad_steps[:t + 1], lrs=rates + [1.0])[0][t]
        d = np.concatenate([(a - b).ravel() for a, b in zip(at1, at0)])
        want = np.concatenate([(m - b).ravel() for m, b in zip(mine[t], at0)])
        dd = float(d @ d)
        if dd == 0.0 or not np.all(np.isfinite(want)):
            return None
        rate = float(want @ d) / dd
        if not all(agrees(m, b + rate * (a - b), tol) for m, a, b in zip(mine[t], at1, at0)):
            return None
        rates.append(rate)
        before = [b + rate * (a - b) for a, b in zip(at1, at0)]
    return rates


def _same(a, b):
    return abs(a - b) <= SAME * max(abs(a), abs(b))


def _all_same(values):
    return all(_same(v, values[0]) for v in values)


def _linear(values):
    steps = np.diff(values)
    return len(values) < 3 or np.allclose(steps, steps[0], rtol=SAME, atol=0)


def _decay(r, lr):
    """How ``r`` decays from ``lr`` ("" when it stays there), or None when it does not start at
    ``lr``, rises or reaches 0."""
    steps = np.diff(r)
    if not _same(r[0], lr) or np.any(steps > SAME * np.abs(r[1:])) or np.any(r <= 0):
        return None
    ratios = r[1:] / r[:-1]
    if _all_same(list(np.r_[r, lr])):
        return ""
    if _all_same(list(ratios)):
        return f"exponential decay, {ratios[0]:.6g} a step"
    drops = [q for q in ratios if not _same(q, 1.0)]
    if _all_same(drops):
        return f"step decay, multiplied by {drops[0]:.6g} now and then"
    inverse = lr / r - 1
    if _linear(inverse):
        return f"inverse-time decay, lr / (1 + {inverse[1]:.6g} t)"
    if _linear(r):
        return "linear decay"
    return "a decay of a form not named here"


def named_schedule(rates, lr):
    """What the per-step ``rates`` of an optimizer whose own rate is ``lr`` are: (kind, words)
    with kind "decay" or "warm-up", or None when they are neither: a decay from ``lr``, or a
    linear rise to it (then, maybe, a decay from it)."""
    r = np.asarray(rates, np.float64)
    listed = ", ".join(f"{v:.6g}" for v in r)
    if 0 <= r[0] < lr and not _same(r[0], lr):     # from 0, as HuggingFace's warm-up starts
        top = next((k for k in range(len(r)) if _same(r[k], lr)), None)
        rise = r if top is None else r[:top + 1]
        after = "" if top is None else _decay(r[top:], lr)
        if len(rise) < 2 or not _linear(rise) or rise[1] <= rise[0] or after is None:
            return None
        reached = "" if top is None else f", reaching lr at step {top + 1}" + (
            f", then {after}" if after else "")
        return "warm-up", f"a linear warm-up, rising by {rise[1] - rise[0]:.6g} a step{reached}: {listed}"
    words = _decay(r, lr)
    return None if not words else ("decay", f"{words}: {listed}")


def global_clip(rates, other, lr, grad_steps, other_steps):
    """The norm c when both draws' rates are ``lr`` min(1, c / |g|) (|g|: the norm of every
    gradient of the step together), or None."""
    draws = ((rates, grad_steps), (other, other_steps))
    steps = [(rate / lr, global_norm(grads)) for rs, gs in draws for rate, grads in zip(rs, gs)]
    clipped = [(f, n) for f, n in steps if not _same(f, 1.0)]
    cs = [f * n for f, n in clipped]
    if not cs or not all(0 < f < 1 for f, _ in clipped) or not _all_same(cs):
        return None
    unclipped = [n for f, n in steps if _same(f, 1.0)]     # each must be under c
    return cs[0] if all(n <= cs[0] * (1 + SAME) for n in unclipped) else None


def scheduled(label, lr, candidates, mine, problem, second, compare_all, tol_overrides,
              momentum=None):
    """For an optimizer no candidate matched at its constant rate: (results, "", "") when a
    candidate matches at per-step rates that are a schedule or a clipping (module docstring,
    a WARN), else (None, words, verdict): what the rates were, for the failure's explanation
    ("" when no candidate took the user's steps at any rates), and its verdict ("convention"
    when the candidate that did is a convention that trains differently)."""
    params0, grad_steps = problem
    tol = tolerance_for("float64", "tf", tol_overrides)
    unexplained = None
    for differs, eps_note, run, same in candidates:
        rates = fit_rates(run, mine, params0, grad_steps, tol)
        if rates is None:
            continue
        theirs, how = run(params0, grad_steps, lrs=rates)
        results = compare_all(theirs, how)
        if not all(r.passed for r in results) or _all_same(rates):
            continue       # one factor throughout: the failure's step note says it
        found = _averaged_momentum(label, lr, rates, momentum) or \
            _what_rates(label, lr, rates, how, run, second, grad_steps, tol)
        if isinstance(found, str):
            unexplained = unexplained or found
            continue
        what, verdict = found
        if verdict == "convention":
            return None, what, verdict
        if not same:
            return None, f"{label} follows another convention than Keras: {differs}. " + \
                what.replace(f"{label} ", "It ", 1) + ".", "convention"
        if differs:
            what += f", in another form than Keras's: {differs}"
        return [replace(r, passed=True, warning=True, verdict=verdict,
                        note=join_notes(r.note, eps_note),
                        explanation=what + (". A warning, not a failure: the harness checks the "
                                            "update at those rates, not whether they are the "
                                            "ones you meant"))
                for r in results], "", ""
    return None, unexplained or "", "layer bug"


def _averaged_momentum(label, lr, rates, momentum):
    """(explanation, "convention") when the rates are lr, then lr (1 - momentum) at every step:
    a velocity kept as an average, buf = m buf + (1 - m) g from buf = g (PyTorch's dampening
    equal to the momentum), which no schedule is; else None."""
    if not momentum or len(rates) < 2 or not _same(rates[0], lr) or \
            not all(_same(r, lr * (1 - momentum)) for r in rates[1:]):
        return None
    return (f"{label} keeps its momentum as an average of the gradients, buf = {momentum:g} buf "
            f"+ {1 - momentum:g} g (PyTorch's dampening equal to the momentum), where Keras's "
            f"and PyTorch's SGD add the whole gradient: after its first step it moves "
            f"{1 - momentum:g} as far (its steps are those of a momentum SGD at learning rates "
            f"{', '.join(f'{v:.6g}' for v in rates)}). It trains differently, more slowly"), \
        "convention"


def _what_rates(label, lr, rates, how, run, second, grad_steps, tol):
    """(explanation, verdict) of per-step ``rates`` that are a schedule or a clipping, else a
    sentence saying what they were."""
    params1, grad_steps1, mine1 = second
    listed = ", ".join(f"{v:.6g}" for v in rates)
    other = fit_rates(run, mine1, params1, grad_steps1, tol)
    if other is None:
        return (f"Its steps are those of {how} at learning rates {listed} (its own is {lr:g}), "
                f"but not on another draw of gradients.")
    if all(_same(a, b) for a, b in zip(rates, other)):
        named = named_schedule(rates, lr)
        if named is None:
            return (f"Its steps are those of {how} at learning rates {listed} (its own is "
                    f"{lr:g}): no decay from its own rate, nor a linear warm-up (an off-by-one "
                    f"bias correction looks like this).")
        return (f"{label} changes its learning rate from step to step: {named[1]} (its own lr "
                f"is {lr:g}). At those rates its updates are exactly those of {how}"), "lr schedule"
    c = global_clip(rates, other, lr, grad_steps, grad_steps1)
    if c is None:
        return (f"Its steps are those of {how}, scaled by a factor that depends on the gradients "
                f"(learning rates {listed} on one draw, {', '.join(f'{v:.6g}' for v in other)} "
                f"on another): no clipping by global norm at one threshold.")
    return (f"{label} clips the gradients by their global norm at {c:.6g} (the norm of all of "
            f"them together): its learning rates were {listed} (its own lr is {lr:g}), lr "
            f"min(1, {c:.6g} / |g|). Apart from that its updates are exactly those of {how}"), \
        "gradient clipping"
