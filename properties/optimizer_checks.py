"""Optimizer cases drawn by Hypothesis, and the trajectory property that checks them against Keras.

A case fixes an optimizer (class, learning rate, hyperparameters, convention
options, schedule), the number of params and their shapes, the number of steps
and steps per epoch, and a seed from which the initial params and the gradient
sequence are generated. ``trajectory_results(case)`` runs our optimizer and its
Keras twin (oracle/keras_optimizers.py) on identical float64 params and
gradients and compares the parameter trajectories, step by step:

    ./harness replay optimizer '<case JSON>'   # re-runs one case
"""
import json
from dataclasses import asdict, dataclass, replace

import numpy as np
from hypothesis import strategies as st

from layers import optimizers as O
from layers import schedules as S
from oracle.compare import compare
from properties.cases import replay_command
from oracle.keras_optimizers import run_keras
from oracle.result import Result, join_notes
from oracle.tolerance import Tolerance

# Twin and ours differ only by float64 rounding (observed: ~1e-16); a float32-rounded
# hyperparameter shows up as ~1e-8 and must fail. A per-call override of the ("float64", "tf") row.
TRAJECTORY_TOLERANCE = {"tf": {"rtol": 1e-11, "atol": 1e-12}}

KINDS = ("SGD", "Momentum", "Nesterov", "RMSProp", "Adam", "AdaGrad")
SCHEDULES = {"HyperbolicDecay": S.HyperbolicDecay, "StepDecay": S.StepDecay,
             "ExponentialDecay": S.ExponentialDecay}
GRAD_KINDS = ("normal", "sparse", "repeated")


@dataclass(frozen=True)
class OptimizerCase:
    kind: str
    hyper: dict            # constructor keyword arguments, lr and convention options included
    schedule: tuple        # () for a constant lr, else (name, *args)
    shapes: tuple          # one shape per param
    steps: int
    steps_per_epoch: int
    grad_kind: str
    grad_scale: float
    seed: int

    def build(self, cls=None):
        """Our optimizer for this case (``cls`` replaces the class, e.g. a planted variant)."""
        schedule = SCHEDULES[self.schedule[0]](*self.schedule[1:]) if self.schedule else None
        return (cls or getattr(O, self.kind))(**self.hyper, schedule=schedule)

    def names(self):
        return [f"p{i}" for i in range(len(self.shapes))]

    def params0(self):
        rng = np.random.default_rng([self.seed, 1])
        return [rng.standard_normal(s) for s in self.shapes]

    def grad_steps(self):
        """One list of gradients (one per param) per step."""
        rng = np.random.default_rng([self.seed, 2])
        steps = []
        for k in range(self.steps):
            if self.grad_kind == "repeated" and steps:
                steps.append([g.copy() for g in steps[0]])
                continue
            grads = [rng.standard_normal(s) * self.grad_scale for s in self.shapes]
            if self.grad_kind == "sparse":
                grads = [np.where(rng.random(s) < 0.5, 0.0, g) for g, s in zip(grads, self.shapes)]
            steps.append(grads)
        return steps

    def describe(self):
        return asdict(self)

    def replay_line(self):
        return replay_command("", "optimizer", json.dumps(asdict(self), sort_keys=True))

    @classmethod
    def from_plain(cls, fields):
        """The case back from its JSON fields (lists turned back into tuples)."""
        fields = dict(fields)
        fields["shapes"] = tuple(tuple(s) for s in fields["shapes"])
        fields["schedule"] = tuple(fields["schedule"])
        return cls(**fields)


def _unit(min_value=0.0, max_value=0.99):
    return st.one_of(st.sampled_from([min_value, 0.9]), st.floats(min_value, max_value))


def _log_uniform(low_exp, high_exp):
    return st.floats(low_exp, high_exp).map(lambda e: float(10.0 ** e))


def hyperparameters(kind):
    """Constructor keywords for ``kind``: lr, hyperparameters and every convention option.

    The second-moment decay (Adam's beta2, RMSProp's rho) is drawn from [0.5, 0.999]:
    below about 0.5, Keras's incremental form ``v += (g**2 - v) * (1 - beta2)``
    cancels catastrophically when the gradient shrinks sharply (v_old >> g**2),
    so the twin itself loses float64 accuracy there (seen: 7e-9 relative at beta2 = 0).
    """
    lr = _log_uniform(-4, 0)
    if kind == "SGD":
        return st.fixed_dictionaries({"lr": lr})
    if kind == "Momentum":
        return st.fixed_dictionaries({"lr": lr, "beta": _unit(),
                                      "convention": st.sampled_from(O.MOMENTUM_CONVENTIONS)})
    if kind == "Nesterov":
        return st.fixed_dictionaries({"lr": lr, "beta": _unit()})
    if kind == "RMSProp":
        return st.fixed_dictionaries({"lr": lr, "rho": _unit(0.5, 0.999), "eps": _log_uniform(-10, -3),
                                      "eps_inside_sqrt": st.booleans(),
                                      "bias_correction": st.booleans()})
    if kind == "Adam":
        return st.fixed_dictionaries({"lr": lr, "beta1": _unit(), "beta2": _unit(0.5, 0.999),
                                      "eps": _log_uniform(-10, -3), "bias_correction": st.booleans(),
                                      "epsilon_on": st.sampled_from(O.EPSILON_ON)})
    if kind == "AdaGrad":
        return st.fixed_dictionaries({"lr": lr, "eps": _log_uniform(-10, -3),
                                      "initial_accumulator": st.sampled_from([0.0, 0.1, 1.0])})
    raise ValueError(f"hyperparameters: unknown optimizer kind {kind!r}; known: {KINDS}")


def schedules():
    """() for a constant learning rate, or (name, *args) of a layers.schedules class."""
    return st.one_of(
        st.just(()),
        st.tuples(st.just("HyperbolicDecay"), st.floats(0.0, 2.0)),
        st.tuples(st.just("StepDecay"), st.floats(0.05, 1.0), st.integers(1, 3)),
        st.tuples(st.just("ExponentialDecay"), st.floats(0.05, 1.0)))


def param_shapes(*, min_params=1, max_params=4):
    """``min_params`` to ``max_params`` shapes of 0 to 3 axes of 1 to 4 (a scalar param is shape ())."""
    if not 1 <= min_params <= max_params:
        raise ValueError(f"param_shapes: need 1 <= min_params <= max_params, got {min_params}, {max_params}")
    shape = st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple)
    return st.lists(shape, min_size=min_params, max_size=max_params).map(tuple)


@st.composite
def optimizer_cases(draw, *, kinds=KINDS, max_steps=10, min_params=1, max_params=4):
    """Cases; they shrink toward the first kind, one scalar param, one step, a constant lr, seed 0."""
    kind = draw(st.sampled_from(tuple(kinds)))
    shapes = draw(param_shapes(min_params=min_params, max_params=max_params))
    return OptimizerCase(kind=kind, hyper=draw(hyperparameters(kind)), schedule=draw(schedules()),
                         shapes=shapes, steps=draw(st.integers(1, max_steps)),
                         steps_per_epoch=draw(st.integers(1, 4)),
                         grad_kind=draw(st.sampled_from(GRAD_KINDS)),
                         grad_scale=draw(st.sampled_from([1.0, 1e-3, 1e2])),
                         seed=draw(st.integers(0, 2 ** 32 - 1)))


def run_ours(optimizer, case):
    """Our trajectory (params after each step, read through the arrays we passed in) and laws."""
    arrays = case.params0()
    params = dict(zip(case.names(), arrays))
    trajectory, rebound, grads_mutated = [], set(), set()
    for k, grads in enumerate(case.grad_steps()):
        optimizer.epoch = k // case.steps_per_epoch
        grad_map = dict(zip(case.names(), [g.copy() for g in grads]))
        optimizer.step(params, grad_map)
        rebound |= {n for n, a in zip(case.names(), arrays) if params[n] is not a}
        grads_mutated |= {n for n, g in zip(case.names(), grads) if not np.array_equal(grad_map[n], g)}
        trajectory.append([a.copy() for a in arrays])
    return trajectory, rebound, grads_mutated


def trajectory_results(case, cls=None):
    """Results: each param's whole trajectory vs Keras's, then the in-place and no-mutation laws."""
    ours = case.build(cls)
    label = type(ours).__name__
    mine, rebound, mutated = run_ours(ours, case)
    theirs, how = run_keras(case.build(), case.params0(), case.grad_steps(),
                            steps_per_epoch=case.steps_per_epoch)
    config = {**case.describe(), "twin": how}
    line = case.replay_line()     # on every result, passed or not
    results = []
    for i, name in enumerate(case.names()):
        got = np.stack([step[i] for step in mine])
        want = np.stack([step[i] for step in theirs])
        r = compare(got, want, layer=label, prop="keras_trajectory", tensor=f"{name} (step, ...)",
                    oracle="tf", dtype="float64", config=config, overrides=TRAJECTORY_TOLERANCE,
                    diagnosed=False)
        parted = {} if r.passed or not r.worst else dict(
            note=join_notes(parting_note(got, want, r), r.note), verdict="optimizer bug",
            explanation=f"our {label} moves the params differently from {how}.")
        results.append(replace(r, reproduce=line, **parted))
    for name in case.names():
        results.append(_law(label, f"{name} (in place)", name not in rebound, config, line,
                            "step() rebound the param to a new array instead of updating it in "
                            "place: a layer holding the array never sees the update"))
        results.append(_law(label, f"d{name} (not mutated)", name not in mutated, config, line,
                            "step() wrote into the caller's gradient array"))
    return results


def parting_note(got, want, res):
    """Where two trajectories (step, ...) part: the first step at which any element is outside
    the tolerance of ``res``, their comparison."""
    allowed = Tolerance(rtol=res.rtol, atol=res.atol).allowed(want, res.scale)
    bad = (np.abs(got - want) > allowed).reshape(len(got), -1).any(axis=1)
    return (f"the trajectories part at step {int(np.argmax(bad)) + 1} of {len(got)} "
            "(index 0 of the tensor is the step)")


def step_note(got, want, start, res, momentum=None):
    """What the step at which two trajectories (step, ...) part does, when it is the oracle's
    step scaled (``start``: the params before the first step): the wrong sign, or c times it
    (c named when it is 1 + ``momentum`` or its inverse: a Nesterov step's look-ahead term)."""
    allowed = Tolerance(rtol=res.rtol, atol=res.atol).allowed(want, res.scale)
    bad = (np.abs(got - want) > allowed).reshape(len(got), -1).any(axis=1)
    s = int(np.argmax(bad))
    before = want[s - 1] if s else np.asarray(start, np.float64)
    mine, theirs = (got[s] - before).ravel(), (want[s] - before).ravel()
    norm = float(theirs @ theirs)
    if norm == 0.0:
        return ""
    c = float(mine @ theirs) / norm
    if np.linalg.norm(mine - c * theirs) > 1e-6 * max(np.linalg.norm(mine), 1e-300):
        return ""
    if abs(c + 1.0) < 1e-6:
        return (f"Step {s + 1} is minus the oracle's step: the update moves the params the "
                f"wrong way (a sign flipped)")
    named = _momentum_factor(c, momentum)
    return (f"Step {s + 1} is {c:.4g} times the oracle's step " +
            (named or "(a learning rate or a factor off by that)"))


def _momentum_factor(c, momentum):
    """What a step c times the oracle's is, when c is 1 + momentum or its inverse, else ""."""
    if not momentum:
        return ""
    one_plus = 1.0 + float(momentum)
    if abs(c - 1.0 / one_plus) <= 1e-6 * abs(c):
        return (f"= 1 / (1 + momentum), momentum {momentum:g}: the look-ahead term of a Nesterov "
                f"step (momentum times the new velocity) is missing")
    if abs(c - one_plus) <= 1e-6 * abs(c):
        return (f"= 1 + momentum, momentum {momentum:g}: a look-ahead term (momentum times the "
                f"new velocity) is added where the oracle has none")
    return ""


def _law(label, tensor, ok, config, reproduce, why):
    return Result(layer=label, prop="in_place", tensor=tensor, oracle="law", passed=ok,
                  dtype="float64", config=config, ratio=0.0 if ok else float("inf"),
                  note="" if ok else why, verdict="" if ok else "optimizer bug",
                  explanation="" if ok else why, reproduce=reproduce)
