"""A second look at failing results before they are blamed on the layer's maths.

Two things make correct maths look wrong, and both are told apart here:

* a forward that is not a function of its inputs (an unseeded generator made
  inside forward, state kept from call to call): finite differences of it are
  noise and its "gradients" contradict each other. That is reported once,
  plainly, with the verdict "not deterministic", instead of the contradictions;
* a case at a point where the function itself is not defined (a cosine similarity of a
  zero vector, 0/0; a loss whose every label is ignored): the layer's float64 forward is
  NaN or inf there, and its TF twin's too, or (no twin) finite at points moved by a
  millionth of the inputs' scale.
  Nothing can judge a gradient at such a point: its failures become warnings with the
  verdict "outside domain" (with no twin, a forward NaN or inf on a whole region, an exp
  that overflows, stays a failure; so does one a finite twin contradicts);
* float32 round-off amplified by an ill-conditioned case (a saturated gate,
  zero variance in a normalisation). The failing float32 case is re-run on
  float64 copies of exactly the same params and inputs: when that passes, the
  float32 failures become warnings (``Result.warning``, outcome WARN, counted
  as passed) with the verdict "float32 precision" and the conditioning that
  caused them; when it fails too, they stay failures and say so.
"""
import math
from dataclasses import replace

import numpy as np

from oracle.result import join_notes
from properties import contract as C
from properties import outputs as O
from properties.contract import LayerContractError
from properties.global_rng import kept_global_rng, seeded_global_rng

NOT_DETERMINISTIC = "not deterministic"
FLOAT32_PRECISION = "float32 precision"
OUTSIDE_DOMAIN = "outside domain"
BEYOND_FLOAT32 = "beyond float32"
BEYOND_FLOAT64 = "beyond float64"
EXPLAIN = {
    NOT_DETERMINISTIC: "the forward is not a function of its inputs, so no oracle can judge its "
                       "gradients; draw randomness from an injected np.random.Generator and keep "
                       "no state that changes the output from one call to the next",
    OUTSIDE_DOMAIN: "the layer's forward is NaN or inf at these inputs (in float64), and so is its "
                    "TF twin's (or, with no twin, it is finite at points moved from them by a "
                    "millionth of their scale, or NaN at any input of their shapes): a point "
                    "where the function is not defined (a division by the norm of a zero "
                    "vector, a mean over no label left: 0/0; a loss over pairs given a batch "
                    "of 1), at which no gradient can be judged. Not counted as a failure; "
                    "guard it (an epsilon) if such inputs can reach the layer",
}
NEARBY = 1e-6    # how far, relative to the inputs' scale, the forward is tried again
ROUND_OFF = float(np.finfo(np.float32).eps)
CRASHES = ("contract", "layer raised", "harness error")


def review(trial, results, rerun):
    """``results`` of ``trial``, or what their failures really are.

    ``rerun(case) -> [Result]`` runs the same property on another case (the float64 copy).
    """
    failed = [r for r in results if not r.passed]
    if not failed:
        return results
    try:
        why = trial.nondeterminism()
    except LayerContractError:   # the float64 copy would not even run: leave the results alone
        why = ""
    if why:
        return [trial.finding("forward", False, why, verdict=NOT_DETERMINISTIC,
                              explanation=EXPLAIN[NOT_DETERMINISTIC])]
    if undefined_here(trial):
        return [r if r.passed or r.verdict in CRASHES else
                replace(r, passed=True, warning=True, verdict=OUTSIDE_DOMAIN,
                        explanation=EXPLAIN[OUTSIDE_DOMAIN]) for r in results]
    grown = outgrown(trial)
    if grown:
        return [r if r.passed or r.verdict in CRASHES or round_off_candidate(r) else
                replace(r, passed=True, warning=True, verdict=BEYOND_FLOAT64,
                        explanation=grown) for r in results]
    if trial.case.dtype == "float32" and not any(map(round_off_candidate, failed)) and \
            any(map(float32_range, failed)):
        again = rerun(trial.case.upcast())
        if all(r.passed for r in again):
            by_key = {(r.tensor, r.oracle): r for r in again}
            return [r if r.passed or not float32_range(r) else
                    beyond_float32(r, by_key.get((r.tensor, r.oracle))) or
                    replace(r, note=join_notes(r.note, FLOAT32_RANGE)) for r in results]
        return results
    if trial.case.dtype != "float32" or not any(map(round_off_candidate, failed)):
        return results
    again = rerun(trial.case.upcast())
    if not all(r.passed for r in again):
        return [r if r.passed or not round_off_candidate(r) else
                replace(r, note=" ".join(filter(None, [r.note, "the float64 copy of this case "
                                                       "fails too: not a float32 round-off"])))
                for r in results]
    by_key = {(r.tensor, r.oracle): r for r in again}
    inputs = [np.asarray(x) for x in trial.inputs]
    return [as_warning(r, by_key.get((r.tensor, r.oracle)), inputs)
            if not r.passed and round_off_candidate(r) else r for r in results]


FLOAT32_RANGE = ("in float64 the same case is finite and passes: float32's range is what broke (an "
                 "exp that overflows, a probability that underflows to 0 under a log; a guard "
                 "such as 1e-300 is 0 in float32). Compute it in a form that stays in range "
                 "(log-softmax, a stable softplus) or with a guard float32 can hold")


FLOAT32_MAX = float(np.finfo(np.float32).max)


def beyond_float32(r, r64):
    """The float32 failure ``r`` as a warning when the value itself is beyond float32's range:
    the float64 copy's ``r64`` passes with that tensor larger than float32's largest number
    (a Poisson loss's exp(88.75), 3.5e38), which no float32 layer can hold, however written.
    None when the value fits (an overflow inside the layer that a stable form avoids stays a
    failure)."""
    layer = None if r64 is None else r64.arrays.get("layer")
    if layer is None:
        return None
    values = np.abs(np.asarray(layer, np.float64))
    biggest = float(values[np.isfinite(values)].max(initial=0.0))
    if biggest <= FLOAT32_MAX:
        return None
    return replace(r, passed=True, warning=True, verdict=BEYOND_FLOAT32, explanation=(
        f"the float64 copy of this case passes, with {r.tensor} up to {biggest:.3g}: beyond "
        f"float32's largest number ({FLOAT32_MAX:.3g}), so no float32 layer can hold it, "
        f"however written; not counted as a failure (inputs this large are the 'large' kind's)"))


def outgrown(trial):
    """Why the function's own values are beyond float64 here, or "": its float64 forward is
    NaN or inf at the case's inputs and, at half of them, finite and past the square root of
    float64's largest number (an exp(x) loss at x = 710: 3e154 at 355). A forward whose values
    stay small (a softmax, a log-sum-exp written naively) is no such function: an overflow
    inside it is the layer's to avoid, and stays a failure."""
    try:
        xs = [np.asarray(x, np.float64) for x in trial.inputs]
        if not xs or _finite(_forward64(trial, xs, trial.targets)):
            return ""
        half = _forward64(trial, [x * 0.5 for x in xs], trial.targets)
        if not _finite(half):
            return ""
        biggest = max(float(np.max(np.abs(np.asarray(p, np.float64)), initial=0.0))
                      for p in O.parts(half))
    except Exception:       # whatever cannot be run again leaves the results as they are
        return ""
    if biggest < math.sqrt(np.finfo(np.float64).max):
        return ""
    return (f"the forward's own values grow beyond float64's range here: at half these inputs "
            f"they already reach {biggest:.3g}, and here they are inf, so no layer can hold "
            f"them in float64, however written; not counted as a failure (the 'overflow' "
            f"kind's inputs are for layers whose values stay in range)")


def undefined_here(trial):
    """Whether the trial's inputs (the last run's, and the case's own) sit at a point where the
    layer's function is not defined: its float64 forward NaN or inf there, and its TF twin's
    too, or, with no twin, finite at a point moved by ``NEARBY`` of the inputs' scale."""
    given = getattr(trial, "given", None)
    points = [(trial.inputs, trial.targets)]
    if given and given[0] is not trial.inputs:      # another batch (batch_resize)
        points.append((given[0], getattr(trial, "given_targets", trial.targets)))
    try:
        rng = np.random.default_rng(0)
        for inputs, targets in points:
            xs = [np.asarray(x, np.float64) for x in inputs]
            if _finite(_forward64(trial, xs, targets)):
                continue
            if not trial.case.entry.no_twin and _twin_undefined(trial, inputs, targets):
                return True       # the oracle has no value here either (every label ignored)
            moved = [x + NEARBY * max(1.0, float(np.max(np.abs(x), initial=0.0)))
                     * rng.standard_normal(x.shape) for x in xs]
            if trial.case.entry.no_twin and (_finite(_forward64(trial, moved, targets)) or
                                             _undefined_at_shape(trial, xs, targets, rng)):
                return True
    except Exception:      # whatever cannot be run again leaves the results as they are
        return False
    return False


def _undefined_at_shape(trial, xs, targets, rng):
    """True when the forward is NaN or inf at every draw of these inputs' shapes, small and
    typical (a contrastive loss over pairs given a batch of 1: no pair, no value): these
    shapes are outside its domain. An exp that overflows is finite at small inputs, and
    stays a failure."""
    return all(not _finite(_forward64(trial, [scale * rng.standard_normal(x.shape) for x in xs],
                                      targets)) for scale in (1e-2, 1.0, 1.0))


def _forward64(trial, xs, targets):
    """The output of a float64 layer with the case's params on ``xs`` and ``targets``."""
    layer = trial.case.upcast().build() if trial.case.dtype != "float64" else trial.case.build()
    with kept_global_rng(), seeded_global_rng(trial.case.seed):
        return C.run_forward(trial.case.layer, layer, [x.copy() for x in xs], targets,
                             C.FloatEvents())


def _twin_undefined(trial, inputs, targets):
    from oracle.tape import tape_forward
    try:
        out = tape_forward(trial.twin(), trial.layer, list(inputs), trial.params0, targets,
                           name=trial.case.layer)
    except Exception:       # a twin that cannot run here says nothing of the function
        return False
    return not _finite(out)


def _finite(out):
    try:
        return all(bool(np.all(np.isfinite(np.asarray(p, np.float64)))) for p in O.parts(out))
    except (TypeError, ValueError):
        return False


def float32_range(r):
    """A value mismatch where the layer gave NaN or inf (not a crash, not a shape)."""
    layer = r.arrays.get("layer")
    if layer is None or r.verdict in CRASHES or r.verdict == NOT_DETERMINISTIC:
        return False
    return not bool(np.all(np.isfinite(np.asarray(layer, np.float64))))


def round_off_candidate(r):
    """A finite value mismatch (not a crash, a NaN, a shape or a mutation) could be round-off."""
    layer = r.arrays.get("layer")
    return (r.n_total > 0 and math.isfinite(r.ratio) and r.verdict not in CRASHES
            and r.verdict != NOT_DETERMINISTIC and layer is not None
            and bool(np.all(np.isfinite(np.asarray(layer, np.float64)))))


def as_warning(r, r64, inputs):
    """The float32 failure ``r`` as a float32-precision warning, with its conditioning."""
    amplification = r.max_abs_err / (ROUND_OFF * max(r.scale, 1e-300))
    biggest = max((float(np.max(np.abs(x))) for x in inputs if x.size), default=0.0)
    ratio64 = f"{r64.ratio:.2g}" if r64 is not None else "within"
    # an element off by a large part of itself jumped (a kink crossed); a small relative error
    # grew (conditioning)
    cause = ("a value float32 rounds onto the other side of a kink (a hinge margin, a max or a "
             "ReLU input that is exactly 0 in float32): a jump, not a drift"
             if r.max_rel_err > 0.1 else
             "the case is ill-conditioned (saturation, near-zero variance), which float32 "
             "cannot resolve")
    explanation = (f"the same params and inputs in float64 pass ({ratio64} of the float64 "
                   f"tolerance), so the layer's maths is right; in float32 the error is "
                   f"{amplification:.3g}x float32's unit round-off at this tensor's scale "
                   f"({r.scale:.3g}), inputs up to |x| = {biggest:.3g}: {cause}")
    return replace(r, passed=True, warning=True, verdict=FLOAT32_PRECISION, explanation=explanation)
