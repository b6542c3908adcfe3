"""A network that learns by a step of its own: the classic blog ``BPNeuralNetwork`` with
``setup(ni, nh, no)``, ``predict(inputs)`` and ``back_propagate(case, label, learn, correct)``,
which computes the error of one example, moves its weights (lists of lists or arrays) by
``learn`` times the descent direction plus ``correct`` times its last change, and returns
the error it had before the move.

Such a class was passed over. It is checked as a network (``owncode_networks.check_network``)
through :class:`LearnerStep`: its loss is the error the step returns (at ``learn`` 0), its
gradient (w - w after the step) / learn with ``correct`` 0, against finite differences of
that error, at the first weights and after moving them. Then the momentum: after a first
step, the second step less ``correct`` times the first's change (the first move over
``learn``, the blogs' "correction", or the move itself, a velocity's) must be -learn times
the gradient there. The weights are the attributes a step moves by an amount that depends
on ``learn`` and that the error depends on (a correction matrix, or the cells ``predict``
fills, are not).
"""
import copy
import inspect
import re

import numpy as np

from layers.attribute_probe import RATE_NAMES
from properties.user_entry import CannotCheck, Found, NothingToCheck

STEP_NAMES = ("back_propagate", "backpropagate", "back_propagation", "backpropagation",
              "backprop", "back_prop", "train_step", "train_one", "learn", "update", "step")
MOMENTUM_NAMES = ("correct", "momentum", "mu", "beta", "m", "correction", "dongliang")
OPTIMIZER_ARGS = re.compile(r"(params|parameters|weights|w|param_dict) (grads?|gradients|dw|d)",
                            re.I)
SIZES = (3, 4, 2)       # setup(ni, nh, no): inputs, hidden units, outputs
ETA, MU = 0.5, 0.3


def learner_method(cls):
    """(method name, its argument names) of a class that learns one example at a step:
    ``back_propagate(case, label, learn[, correct])``; None when it has no such method."""
    for name in STEP_NAMES:
        fn = getattr(cls, name, None)
        try:
            args = list(inspect.signature(fn).parameters)[1:] if inspect.isfunction(fn) else []
        except (TypeError, ValueError):
            args = []
        # (an optimizer's update(params, grads, lr) takes no example: it is checked as one)
        if len(args) >= 3 and any(a.lower() in RATE_NAMES for a in args[2:]) and not \
                OPTIMIZER_ARGS.match(args[0] + " " + args[1]):
            return name, args
    return None


def _call(obj, method, args, x, t, learn, momentum):
    """``method(x, t, learn[, momentum])`` by its arguments' names; those after the last of
    these keep their defaults (``verbose=False``)."""
    roles = [x if i == 0 else t if i == 1 else learn if a.lower() in RATE_NAMES
             else momentum if a.lower() in MOMENTUM_NAMES else None for i, a in enumerate(args)]
    last = max(i for i, a in enumerate(args) if i < 2 or a.lower() in RATE_NAMES + MOMENTUM_NAMES)
    return getattr(obj, method)(*roles[:last + 1])


def _read(obj, name):
    return np.array(getattr(obj, name), dtype=np.float64)


def _write(obj, name, value):
    held = getattr(obj, name)
    if isinstance(held, np.ndarray):
        np.copyto(held, value.astype(held.dtype))
    elif value.ndim == 2:       # a list of lists, kept (other code may hold its rows)
        for i, row in enumerate(value):
            held[i][:] = [float(v) for v in row]
    else:
        held[:] = [float(v) for v in value]


def _numbers(value):
    """A float array, or a (list of) list(s) of numbers: what a weight may be."""
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return a.ndim in (1, 2) and a.size > 1 and (not isinstance(value, np.ndarray) or
                                                value.dtype.kind == "f")


class LearnerStep:
    """The learner as a network with ``loss(x, t)`` and ``gradient(x, t)`` (module docstring);
    ``params`` its weights as float64 arrays, pushed into a copy of ``obj`` at each call.
    ``first``: the first step's move per weight (the momentum check: the gradient of the
    second step, less ``MU`` times ``prior(move)``)."""

    batch_axis = 0       # x is (1, inputs): one example

    def __init__(self, obj, method, args, weights, first=None, prior=None):
        self.obj, self.method, self.args, self.first, self.prior = obj, method, args, first, prior
        self.params = {n: _read(obj, n) for n in weights}
        step = f"(w - w after {method}(x, t, learn={ETA}, correct=0)) / {ETA}" if not first \
            else (f"(w - w after a second {method}(x, t, learn={ETA}, correct={MU}), less "
                  f"{MU} times the first step's change) / {ETA}")
        self.calls = (step, f"the error {method}(x, t, ...) returns")

    def grad_term(self, name):
        """The claimed gradient of weight ``name``, as the results name it (a step, not a dict)."""
        return f"{self.calls[0]}, for {name},"

    def _fresh(self):
        obj = copy.deepcopy(self.obj)
        for n, v in self.params.items():
            _write(obj, n, v)
        return obj

    def loss(self, x, t):
        return float(_call(self._fresh(), self.method, self.args, x[0], t[0], 0.0, 0.0))

    def gradient(self, x, t):
        obj = self._fresh()
        _call(obj, self.method, self.args, x[0], t[0], ETA, MU if self.first else 0.0)
        moved = {n: _read(obj, n) - self.params[n] for n in self.params}
        if self.first:
            moved = {n: d - MU * self.prior(self.first[n]) for n, d in moved.items()}
        return {n: -d / ETA for n, d in moved.items()}


def _built(cls, module, hint):
    """The learner, built, then ``setup(ni, nh, no)`` where it has one (the classic's)."""
    from properties.discover import build_object
    from properties.owncode_networks import seeded
    obj = build_object(cls, module, hint)
    setup = getattr(cls, "setup", None)
    if inspect.isfunction(setup):
        n = len(inspect.signature(setup).parameters) - 1
        with seeded():
            setup(obj, *(list(SIZES) + [2] * n)[:n])
    return obj


def _example(obj, method, args):
    """(x, t) of one example the step runs on and returns a finite error for: x (1, inputs)
    of the setup's first size, else of the first weight's rows (less one: a bias cell)."""
    rng = np.random.default_rng(0)
    widths = [SIZES[0]] + [w for v in vars(obj).values() if _numbers(v)
                           for w in (np.shape(v)[0], np.shape(v)[0] - 1)]
    outs = [SIZES[-1]] + [np.shape(v)[-1] for v in vars(obj).values() if _numbers(v)]
    for width in dict.fromkeys(w for w in widths if w > 0):
        for out in dict.fromkeys(o for o in outs if o > 0):
            x, t = rng.uniform(-1, 1, (1, width)), rng.uniform(0.1, 0.9, (1, out))
            try:
                with np.errstate(all="ignore"):
                    got = _call(copy.deepcopy(obj), method, args, x[0], t[0], 0.0, 0.0)
                if np.isfinite(float(got)):
                    return x, t
            except Exception:
                continue
    return None


def _weights(obj, method, args, x, t):
    """The attributes a step moves by an amount that depends on ``learn`` (a correction
    matrix, or the cells ``predict`` fills, move alike whatever it is), and that the error
    depends on (cells ``predict`` fills again do not count)."""
    start = {n: _read(obj, n) for n, v in vars(obj).items() if _numbers(v)}
    after = {}
    for learn in (ETA, 2 * ETA):
        moved = copy.deepcopy(obj)
        with np.errstate(all="ignore"):
            _call(moved, method, args, x[0], t[0], learn, 0.0)
        after[learn] = {n: _read(moved, n) - v for n, v in start.items()
                        if np.shape(getattr(moved, n)) == v.shape}
    return [n for n, d in after[ETA].items() if np.any(d != 0) and n in after[2 * ETA]
            and not np.allclose(after[2 * ETA][n], d, rtol=1e-9, atol=1e-15)
            and _moves_error(obj, method, args, x, t, n, start[n])]


def _moves_error(obj, method, args, x, t, name, value):
    """True when the error the step returns changes with attribute ``name``."""
    errors = []
    for shift in (0.0, 1e-3):
        moved = copy.deepcopy(obj)
        _write(moved, name, value + shift * (1.0 + np.abs(value)))
        with np.errstate(all="ignore"):
            errors.append(float(_call(moved, method, args, x[0], t[0], 0.0, 0.0)))
    return errors[0] != errors[1]


def learner_item(cls, label, path, module, hint):
    from properties.owncode_networks import check_network
    method, args = learner_method(cls)
    obj = _built(cls, module, hint)
    held = list(vars(obj).values())
    if not any(_numbers(v) for v in held) and any(
            hasattr(v, "__dict__") or isinstance(v, (list, tuple)) and v and
            hasattr(v[0], "__dict__") for v in held):
        raise NothingToCheck(f"{cls.__name__}.{method} steps layers of its own (checked one by "
                             f"one where they are in a form the harness drives): the network "
                             f"as a whole is not checked")
    example = _example(obj, method, args)
    if example is None:
        raise CannotCheck(f"{cls.__name__}.{method}: no example tried gave a finite error (x "
                          f"of {SIZES[0]} inputs or of its first weight's rows); it must return "
                          f"the error of the example it learns from")
    x, t = example
    weights = _weights(obj, method, args, x, t)
    if not weights:
        raise CannotCheck(f"{cls.__name__}.{method}(x, t, learn, ...) moved no array or list "
                          f"of numbers it keeps by an amount depending on learn: nothing is "
                          f"learnt that a gradient could be of")
    momentum = any(a.lower() in MOMENTUM_NAMES for a in args[2:])

    def make():
        return LearnerStep(_built(cls, module, hint), method, args, weights)

    def stepped(prior):
        """The learner after a first step (its correction matrices filled by it)."""
        obj = _built(cls, module, hint)
        start = {n: _read(obj, n) for n in weights}
        _call(obj, method, args, x[0], t[0], ETA, 0.0)
        return LearnerStep(obj, method, args, weights,
                           {n: _read(obj, n) - start[n] for n in weights}, prior)

    def check():
        results = check_network(make, x, t, label=label)
        if not momentum or not all(r.passed for r in results):
            return results
        tried = [check_network(lambda p=p: stepped(p), x, t, label=f"{label}.momentum")
                 for p in (lambda m: m / ETA, lambda m: m)]      # the blogs', a velocity's
        return results + next((r for r in tried if all(one.passed for one in r)), tried[0])
    then = f"; then the momentum ({method}(x, t, {ETA}, {MU}) after a first step)" \
        if momentum else ""
    return Found(label, path, "network", f"network that learns by {method}({', '.join(args)}): "
                 f"its step as -learn times the gradient of the error it returns, against "
                 f"finite differences; weights {', '.join(weights)}; x {x.shape[1:]}, "
                 f"t {t.shape[1:]}{then}", check=check)
