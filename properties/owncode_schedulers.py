"""Learning-rate schedulers written PyTorch's way: given an optimizer, each ``step()`` sets its rate.

A class whose constructor takes an optimizer first and that has a ``step()`` is a scheduler.
Its kind is read off its name, as an optimizer's is: a step decay (``StepLR``: the rate times
gamma every step_size epochs), a decay at milestones (``MultiStepLR``), an exponential one
(``ExponentialLR``) or a cosine annealing (``CosineAnnealingLR``, to eta_min over T_max
epochs). It is given a stand-in optimizer (``lr`` and PyTorch's ``param_groups``, both read and
written), stepped ``EPOCHS`` times, and the rate it set after each step is compared with
Keras's own schedule of that kind (``tf.keras.optimizers.schedules``) at the same epoch, with
the hyperparameters read off the scheduler. Keras computes its schedules in float32: they are
compared at float32's tolerance, and an epoch late or a gamma missed is far beyond it. Other
schedulers (a lambda, a plateau, one cycle) are listed, not checked.
"""
import inspect

import numpy as np

from oracle.compare import compare
from oracle.tf_runtime import tf
from oracle.user_hyper import words

EPOCHS = 12
BASE_LR = 0.1
KINDS = (("multistep", "MultiStep"), ("cosine", "Cosine"), ("exponential", "Exponential"),
         ("step", "Step"))
GUESSES = {"step_size": 3, "t_max": 8, "milestones": [2, 5], "gamma": 0.5, "eta_min": 0.001}


class StandIn:
    """The optimizer a scheduler is given: its rate as ``lr`` and in ``param_groups``."""

    def __init__(self, lr):
        self.lr = self.initial = lr
        self.param_groups = [{"lr": lr, "initial_lr": lr}]
        self.defaults = {"lr": lr}

    def rate(self):
        """The rate the scheduler set, wherever it writes it (``lr`` or ``param_groups``)."""
        group = self.param_groups[0]["lr"]
        return group if group != self.initial or self.lr == self.initial else self.lr


def scheduler_kind(cls):
    """"Step", "MultiStep", "Exponential" or "Cosine" from the class name, else None."""
    text = words(cls.__name__).replace(" ", "")
    return next((kind for key, kind in KINDS if key in text), None)


def build_scheduler(cls, given=None):
    """The scheduler on a fresh stand-in: its required arguments guessed by name (``GUESSES``),
    ``given`` (a hint's keywords) set as given."""
    params = list(inspect.signature(cls).parameters.values())[1:]
    kwargs = {p.name: GUESSES[p.name.lower()] for p in params
              if p.default is p.empty and p.name.lower() in GUESSES}
    missing = [p.name for p in params if p.default is p.empty and p.name not in kwargs
               and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
               and p.name not in (given or {})]
    if missing:
        raise ValueError(f"{cls.__name__} requires {', '.join(missing)} besides its optimizer; "
                         f"add a hint: # gradcheck: {cls.__name__}({missing[0]}=...)")
    opt = StandIn(BASE_LR)
    return cls(opt, **{**kwargs, **(given or {})}), opt


def _hyper(sched, names, default=None):
    for n in names:
        v = getattr(sched, n, None)
        if v is not None and not callable(v):
            return v
    if default is None:
        raise ValueError(f"{type(sched).__name__}: cannot read its {names[0]} (an attribute "
                         f"named {' or '.join(names)})")
    return default


def schedule_hypers(kind, sched):
    """The hyperparameters Keras's schedule of ``kind`` needs, read off the scheduler (a
    ValueError naming one it does not hold): gamma, and the step size, milestones or T_max
    and eta_min."""
    hypers = {}
    if kind != "Cosine":      # read, never assumed: a gamma taken for 0.1 would fail a right one
        hypers["gamma"] = float(_hyper(sched, ("gamma", "decay", "factor")))
    if kind == "Step":
        hypers["step_size"] = int(_hyper(sched, ("step_size", "step")))
    elif kind == "MultiStep":
        hypers["milestones"] = sorted(int(m) for m in _hyper(sched, ("milestones",)))
    elif kind == "Cosine":
        hypers["t_max"] = int(_hyper(sched, ("T_max", "t_max", "period")))
        hypers["eta_min"] = float(_hyper(sched, ("eta_min", "min_lr", "lr_min"), 0.0))
    return hypers


def keras_schedule(kind, sched, base):
    """Keras's schedule of ``kind`` with the scheduler's hyperparameters: epoch -> rate."""
    s, h = tf().keras.optimizers.schedules, schedule_hypers(kind, sched)
    if kind == "Step":
        return s.ExponentialDecay(base, h["step_size"], h["gamma"], staircase=True)
    if kind == "Exponential":
        return s.ExponentialDecay(base, 1, h["gamma"])
    if kind == "MultiStep":
        return s.PiecewiseConstantDecay([m - 1 for m in h["milestones"]],     # step >= m: next
                                        [base * h["gamma"] ** i
                                         for i in range(len(h["milestones"]) + 1)])
    return s.CosineDecay(base, h["t_max"], alpha=h["eta_min"] / base)


def check_scheduler(cls, kind, label, given=None):
    """[Result]: the rates the scheduler set over ``EPOCHS`` steps against Keras's schedule."""
    sched, opt = build_scheduler(cls, given)
    rates = []
    for _ in range(EPOCHS):
        sched.step()
        rates.append(float(opt.rate()))
    epochs = range(1, EPOCHS + 1) if kind != "Cosine" else \
        range(1, min(EPOCHS, schedule_hypers(kind, sched)["t_max"]) + 1)
    schedule = keras_schedule(kind, sched, BASE_LR)
    want = np.array([float(schedule(e)) for e in epochs])
    got = np.array(rates[:len(want)], np.float64)
    shown = ", ".join(f"{r:.6g}" for r in got)
    return [compare(got, want, layer=label, prop="keras_schedule", tensor="lr (epoch 1, ...)",
                    oracle="tf", dtype="float32", diagnosed=False,
                    config={"kind": kind, "epochs": len(want), "lr": BASE_LR},
                    note=f"the rates it set after each step(): {shown}",
                    verdict="layer bug",
                    explanation=f"its rates are not Keras's {kind} schedule's at the same epochs "
                                f"(PyTorch's: the rate after step() k is the schedule at epoch "
                                f"k): a decay an epoch early or late, a gamma or a bound missed")]
