"""Optimizers: ``step(params, grads)`` updates every param array in place.

``params`` and ``grads`` are mappings name -> array (a dict, or a Sequential's
flat views). The arrays in ``params`` are changed in place, never rebound: a
layer (or a seed-style network) holding the same array object sees the update.

Each optimizer keeps

* ``lr0`` and an optional ``schedule(lr0, epoch)`` (layers.schedules); the
  learning rate of a step is ``lr = schedule(lr0, epoch)``;
* ``epoch`` (set by the training loop) and ``t``, the number of steps taken:
  one counter for the whole optimizer, advanced once per ``step`` call;
* per-parameter state ("slots": velocities, moments), created as zeros (or
  AdaGrad's initial accumulator) on the first step and kept between steps.

Where seed 002's formulas and Keras differ by convention, the convention is an
explicit constructor option (defaults follow seed 002); each option is checked
against a Keras optimizer that implements it (oracle/keras_optimizers.py).
"""
import math

import numpy as np

from layers.schedules import Constant

MOMENTUM_CONVENTIONS = ("ema", "velocity")
EPSILON_ON = ("v_hat", "v")


def _check_number(name, arg, value, low, high, *, low_open=False, high_open=True):
    ok = isinstance(value, (int, float, np.floating)) and not isinstance(value, bool)
    ok = ok and math.isfinite(value) and (value > low if low_open else value >= low)
    ok = ok and (value < high if high_open else value <= high)
    if not ok:
        lo, hi = "(" if low_open else "[", ")" if high_open else "]"
        raise ValueError(f"{name}: {arg} must be a number in {lo}{low}, {high}{hi}, got {value!r}")
    return float(value)


def _check_choice(name, arg, value, choices):
    if value not in choices:
        raise ValueError(f"{name}: {arg} must be one of {choices}, got {value!r}")
    return value


class Optimizer:
    """Base class. Subclasses set ``slot_names`` and ``hyper`` and write ``_update``."""

    slot_names = ()       # per-parameter state arrays, e.g. ("m", "v")
    hyper = ()            # names of the hyperparameter attributes (reported in config())

    def __init__(self, lr, *, schedule=None):
        self.lr0 = _check_number(type(self).__name__, "lr", lr, 0, math.inf, low_open=True)
        if schedule is not None and not callable(schedule):
            raise TypeError(f"{type(self).__name__}: schedule must be callable as "
                            f"schedule(lr0, epoch), got {type(schedule).__name__}")
        self.schedule = schedule if schedule is not None else Constant()
        self.epoch = 0
        self.t = 0
        self.slots = {}   # param name -> {slot name: array shaped like the param}

    @property
    def lr(self):
        """The learning rate of the next step: ``schedule(lr0, epoch)``."""
        return float(self.schedule(self.lr0, self.epoch))

    def step(self, params, grads):
        """One update of every array in ``params`` by its gradient in ``grads``, in place."""
        names = self._checked_names(params, grads)
        self.t += 1
        lr = self.lr
        for name in names:
            p = params[name]
            self._update(p, np.asarray(grads[name]), self._slots_for(name, p), lr)

    def _update(self, p, g, slots, lr):
        """Change ``p`` in place from gradient ``g``; ``slots`` is this param's state dict."""
        raise NotImplementedError

    def _initial_slot(self, slot):
        return 0.0

    def _slots_for(self, name, p):
        slots = self.slots.get(name)
        if slots is None:
            slots = self.slots[name] = {s: np.full_like(p, self._initial_slot(s)) for s in self.slot_names}
        for s, arr in slots.items():
            if arr.shape != p.shape:
                raise ValueError(f"{type(self).__name__}.step: state {s!r} of param {name!r} has shape "
                                 f"{arr.shape} but the param has shape {p.shape}")
        return slots

    def _checked_names(self, params, grads):
        who = f"{type(self).__name__}.step"
        names = list(params)
        missing = [k for k in names if k not in grads]
        if missing:
            raise KeyError(f"{who}: no gradient for param(s) {missing}; grads has {list(grads)}")
        extra = [k for k in grads if k not in params]
        if extra:
            raise KeyError(f"{who}: gradient(s) {extra} have no param; params has {names}")
        for k in names:
            p, g = params[k], grads[k]
            if not isinstance(p, np.ndarray) or p.dtype.kind != "f":
                raise TypeError(f"{who}: params[{k!r}] must be a float NumPy array (it is updated in "
                                f"place), got {type(p).__name__} {getattr(p, 'dtype', '')}")
            if g is None or np.shape(g) != p.shape:
                raise ValueError(f"{who}: grads[{k!r}] must have the param's shape {p.shape}, "
                                 f"got {None if g is None else np.shape(g)}")
        return names

    def config(self):
        """Class, learning rate, schedule and hyperparameters as plain JSON-safe values."""
        return {"class": type(self).__name__, "lr": self.lr0, "schedule": repr(self.schedule),
                **{h: getattr(self, h) for h in self.hyper}}

    def get_state(self):
        """Counters and slots: {"t", "epoch", "slots": {param: {slot: array copy}}}."""
        return {"t": self.t, "epoch": self.epoch,
                "slots": {k: {s: a.copy() for s, a in v.items()} for k, v in self.slots.items()}}

    def set_state(self, state):
        """Restore what ``get_state`` returned (arrays are copied)."""
        for key in ("t", "epoch", "slots"):
            if key not in state:
                raise KeyError(f"{type(self).__name__}.set_state: state has no {key!r}")
        self.t, self.epoch = int(state["t"]), int(state["epoch"])
        bad = {s for v in state["slots"].values() for s in v} - set(self.slot_names)
        if bad:
            raise ValueError(f"{type(self).__name__}.set_state: unknown state {sorted(bad)}; "
                             f"this optimizer keeps {list(self.slot_names)}")
        self.slots = {k: {s: np.array(a, copy=True) for s, a in v.items()}
                      for k, v in state["slots"].items()}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "class")
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """p -= lr * g."""

    def _update(self, p, g, slots, lr):
        p -= lr * g


class Momentum(Optimizer):
    """Gradient descent with momentum ``beta``, in one of two conventions.

    convention "ema" (seed 002): v = beta * v + (1 - beta) * g;  p -= lr * v
        (v is an exponential moving average of the gradients; lr outside it).
    convention "velocity" (Keras SGD, Sutskever et al.): v = beta * v - lr * g;  p += v
        (lr inside the velocity; same trajectory as "ema" only at constant lr
        and with lr scaled by 1 / (1 - beta)).
    """

    slot_names = ("v",)
    hyper = ("beta", "convention")

    def __init__(self, lr, beta=0.9, *, convention="ema", schedule=None):
        super().__init__(lr, schedule=schedule)
        self.beta = _check_number(type(self).__name__, "beta", beta, 0, 1)
        self.convention = _check_choice(type(self).__name__, "convention", convention,
                                        MOMENTUM_CONVENTIONS)

    def _update(self, p, g, slots, lr):
        b = self.beta
        if self.convention == "ema":
            slots["v"] = b * slots["v"] + (1 - b) * g
            p -= lr * slots["v"]
        else:
            slots["v"] = b * slots["v"] - lr * g
            p += slots["v"]


class Nesterov(Optimizer):
    """Nesterov momentum in the velocity form (Keras ``SGD(nesterov=True)``):

    v = beta * v - lr * g;  p += beta * v - lr * g
    """

    slot_names = ("v",)
    hyper = ("beta",)

    def __init__(self, lr, beta=0.9, *, schedule=None):
        super().__init__(lr, schedule=schedule)
        self.beta = _check_number(type(self).__name__, "beta", beta, 0, 1)

    def _update(self, p, g, slots, lr):
        slots["v"] = self.beta * slots["v"] - lr * g
        p += self.beta * slots["v"] - lr * g


class RMSProp(Optimizer):
    """s = rho * s + (1 - rho) * g**2, then with s_hat = s / (1 - rho**t) if bias_correction else s:

    eps_inside_sqrt=True  (seed 002, Keras):  p -= lr * g / sqrt(s_hat + eps)
    eps_inside_sqrt=False (PyTorch):          p -= lr * g / (sqrt(s_hat) + eps)

    Defaults follow seed 002 (eps=1e-6 inside the root, bias-corrected); Keras's
    RMSprop is ``bias_correction=False, eps_inside_sqrt=True``.
    """

    slot_names = ("s",)
    hyper = ("rho", "eps", "eps_inside_sqrt", "bias_correction")

    def __init__(self, lr, rho=0.9, eps=1e-6, *, eps_inside_sqrt=True, bias_correction=True,
                 schedule=None):
        super().__init__(lr, schedule=schedule)
        name = type(self).__name__
        self.rho = _check_number(name, "rho", rho, 0, 1)
        self.eps = _check_number(name, "eps", eps, 0, math.inf, low_open=True)
        self.eps_inside_sqrt, self.bias_correction = bool(eps_inside_sqrt), bool(bias_correction)

    def _update(self, p, g, slots, lr):
        slots["s"] = self.rho * slots["s"] + (1 - self.rho) * g * g
        s = slots["s"] / (1 - self.rho ** self.t) if self.bias_correction else slots["s"]
        if self.eps_inside_sqrt:
            p -= lr * g / np.sqrt(s + self.eps)
        else:
            p -= lr * g / (np.sqrt(s) + self.eps)


class Adam(Optimizer):
    """m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g**2, then

    bias_correction=True:  m_hat = m / (1 - beta1**t),  v_hat = v / (1 - beta2**t)
    epsilon_on="v_hat" (seed 002, the paper's Algorithm 1, PyTorch):
        p -= lr * m_hat / (sqrt(v_hat) + eps)
    epsilon_on="v" (Keras/TF's "epsilon hat"):
        p -= lr * sqrt(1 - beta2**t) / (1 - beta1**t) * m / (sqrt(v) + eps)
    bias_correction=False (seed 002's correct_param=False): p -= lr * m / (sqrt(v) + eps)

    ``t`` is the optimizer's step count, shared by all params.
    """

    slot_names = ("m", "v")
    hyper = ("beta1", "beta2", "eps", "bias_correction", "epsilon_on")

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8, *, bias_correction=True,
                 epsilon_on="v_hat", schedule=None):
        super().__init__(lr, schedule=schedule)
        name = type(self).__name__
        self.beta1 = _check_number(name, "beta1", beta1, 0, 1)
        self.beta2 = _check_number(name, "beta2", beta2, 0, 1)
        self.eps = _check_number(name, "eps", eps, 0, math.inf, low_open=True)
        self.bias_correction = bool(bias_correction)
        self.epsilon_on = _check_choice(name, "epsilon_on", epsilon_on, EPSILON_ON)

    def _update(self, p, g, slots, lr):
        b1, b2 = self.beta1, self.beta2
        slots["m"] = b1 * slots["m"] + (1 - b1) * g
        slots["v"] = b2 * slots["v"] + (1 - b2) * g * g
        m, v = slots["m"], slots["v"]
        if not self.bias_correction:
            p -= lr * m / (np.sqrt(v) + self.eps)
        elif self.epsilon_on == "v_hat":
            p -= lr * (m / (1 - b1 ** self.t)) / (np.sqrt(v / (1 - b2 ** self.t)) + self.eps)
        else:
            p -= lr * math.sqrt(1 - b2 ** self.t) / (1 - b1 ** self.t) * m / (np.sqrt(v) + self.eps)


class AdaGrad(Optimizer):
    """acc = acc + g**2;  p -= lr * g / sqrt(acc + eps), acc starting at ``initial_accumulator``.

    initial_accumulator=0.0 is Duchi et al.'s (and PyTorch's) start; Keras's
    Adagrad starts at 0.1. eps sits inside the root, as in Keras.
    """

    slot_names = ("acc",)
    hyper = ("eps", "initial_accumulator")

    def __init__(self, lr=0.01, eps=1e-7, *, initial_accumulator=0.0, schedule=None):
        super().__init__(lr, schedule=schedule)
        name = type(self).__name__
        self.eps = _check_number(name, "eps", eps, 0, math.inf, low_open=True)
        self.initial_accumulator = _check_number(name, "initial_accumulator",
                                                 initial_accumulator, 0, math.inf)

    def _initial_slot(self, slot):
        return self.initial_accumulator

    def _update(self, p, g, slots, lr):
        slots["acc"] = slots["acc"] + g * g
        p -= lr * g / np.sqrt(slots["acc"] + self.eps)
