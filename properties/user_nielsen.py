"""Networks in the style of Nielsen's "Neural Networks and Deep Learning" (network.py and
network2.py): weights and biases kept as lists of arrays, one per layer, ``feedforward(a)``
on a column vector, and ``backprop(x, y)`` returning ``(nabla_b, nabla_w)`` for one example.

Such a class was "nothing recognised to check". It is now checked as any network with
``loss(x, t)`` and ``gradient(x, t)`` (``owncode_networks.check_network``: every gradient
against finite differences of the loss, at the initial weights and after moving them in
place), through :class:`BackpropNetwork`. The loss is the network's own cost:

* ``self.cost.fn(a, y)`` (network2.py's ``QuadraticCost`` and ``CrossEntropyCost``);
* else the quadratic cost 0.5 ||a - y||^2 when ``cost_derivative(a, y)`` is ``a - y``
  (network.py's), found by calling it: its derivative is the one backprop starts from;
* else nothing to differentiate: skipped, saying what would make it checkable.

The example is one column: ``x`` of the first weight's input width, ``y`` a one-hot column
(what ``vectorized_result`` makes; a cross-entropy cost needs targets in [0, 1]).

When backprop passes, ``update_mini_batch(mini_batch, eta[, lmbda, n])`` is checked too
(:func:`check_step`): SGD on the mini-batch's mean cost, plus network2's weight decay,
moves the params by -eta times the gradient of that objective, so (w - w after) / eta is
checked as that gradient, against finite differences of the objective.
"""
import inspect
from dataclasses import replace

import numpy as np

from oracle.result import join_notes
from properties.user_entry import CannotCheck, Found

SIZES = [3, 4, 2]       # a hidden layer between input and output


class BackpropNetwork:
    """A Nielsen network as a network with ``loss(x, t)`` and ``gradient(x, t)``: ``params``
    are its own arrays (live: ``weights[0]``, ``biases[0]``...), the loss its ``cost`` of
    ``feedforward(x)``, the gradient what ``backprop(x, y)`` returns, by name."""

    batch_axis = -1      # examples are columns

    def __init__(self, net, cost, cost_text):
        self.net, self._cost = net, cost
        self.calls = ("backprop(x, y)", cost_text)      # what the results call the two halves

    @property
    def params(self):
        return {**{f"weights[{i}]": w for i, w in enumerate(self.net.weights)},
                **{f"biases[{i}]": b for i, b in enumerate(self.net.biases)}}

    def loss(self, x, t):
        return float(self._cost(self.net.feedforward(x), t))

    def gradient(self, x, t):
        first, second = self.net.backprop(x, t)
        # (nabla_b, nabla_w) as Nielsen returns them; (nabla_w, nabla_b) when the first list
        # has the weights' shapes and the second the biases'
        swapped = [np.shape(g) for g in second] == [b.shape for b in self.net.biases] and \
            [np.shape(g) for g in first] != [b.shape for b in self.net.biases]
        nabla_b, nabla_w = (second, first) if swapped else (first, second)
        return {**{f"weights[{i}]": g for i, g in enumerate(nabla_w)},
                **{f"biases[{i}]": g for i, g in enumerate(nabla_b)}}


def is_backprop_network(cls, has):
    """``backprop(x, y)`` beside ``feedforward(a)`` (``has``: ``discover._has``)."""
    return has(cls, "backprop", 2) and not has(cls, "backprop", 3) and has(cls, "feedforward", 1)


def backprop_network_item(cls, label, path, module, hint, overrides=None):
    from properties.discover import build_object
    from properties.owncode_networks import check_network
    given = dict(overrides or {})
    if (hint is None or not hint.build) and "sizes" in _arguments(cls):
        given.setdefault("sizes", list(SIZES))
    net = build_object(cls, module, hint, given or None)
    for attr in ("weights", "biases"):
        if not isinstance(getattr(net, attr, None), list) or not all(
                isinstance(a, np.ndarray) for a in getattr(net, attr)):
            raise CannotCheck(f"{cls.__name__} has backprop(x, y) and feedforward(a) but no list "
                              f"of arrays named {attr} (one per layer, as network.py keeps them)")
    cost, text = _cost(net, cls)
    x = np.random.default_rng(0).standard_normal((net.weights[0].shape[1], 1))
    y = np.zeros((net.weights[-1].shape[0], 1))
    y[-1] = 1.0

    def make():
        return BackpropNetwork(build_object(cls, module, hint, given or None), cost, text)

    extra = _step_arguments(cls)

    def check():
        results = check_network(make, x, y, label=label)
        if all(r.passed for r in results) and extra is not None:
            results += check_step(lambda: build_object(cls, module, hint, given or None),
                                  extra, cost, text, label)
        return results
    step = "" if not callable(getattr(cls, "update_mini_batch", None)) else \
        "; update_mini_batch not checked: it takes arguments other than (mini_batch, eta) or " \
        "(mini_batch, eta, lmbda, n)" if extra is None else "; then update_mini_batch's step"
    return Found(label, path, "network", f"network with backprop(x, y) -> (nabla_b, nabla_w) "
                 f"(Nielsen's), its loss {text}; x {x.shape}, y one-hot {y.shape}{step}",
                 check=check)


def _arguments(cls):
    try:
        return list(inspect.signature(cls).parameters)
    except (TypeError, ValueError):
        return []


def _cost(net, cls):
    """(cost(a, y), how the results write it), or CannotCheck saying why there is none."""
    cost = getattr(net, "cost", None)
    if callable(getattr(cost, "fn", None)):
        name = getattr(cost, "__name__", type(cost).__name__)
        return cost.fn, f"{name}.fn(feedforward(x), y)"
    derivative = getattr(net, "cost_derivative", None)
    if callable(derivative):
        rng = np.random.default_rng(0)
        a, y = rng.standard_normal((3, 1)), rng.standard_normal((3, 1))
        try:
            got = np.asarray(derivative(a, y), dtype=np.float64)
        except Exception as exc:
            raise CannotCheck(f"{cls.__name__}.cost_derivative(a, y) raised {type(exc).__name__}: "
                              f"{exc}") from exc
        if got.shape == a.shape and np.allclose(got, a - y, rtol=1e-12, atol=1e-12):
            return (lambda out, t: 0.5 * np.sum((out - t) ** 2)), \
                "0.5 * ||feedforward(x) - y||^2 (the cost whose derivative cost_derivative(a, y) = a - y is)"
        raise CannotCheck(f"{cls.__name__}.cost_derivative(a, y) is not a - y, so which cost "
                          f"backprop differentiates is not known; give the network a cost "
                          f"object with fn(a, y) (network2.py's self.cost = QuadraticCost)")
    raise CannotCheck(f"{cls.__name__} has backprop(x, y) but no cost to differentiate: no "
                      f"self.cost with fn(a, y) and no cost_derivative(a, y)")


STEP = {"eta": 0.5, "lmbda": 0.4, "n": 8}     # n: the training set's size, as network2 takes it
MINI_BATCH = 3
# the objective's weight-decay term with lmbda / n = c, and how the results write it
DECAYS = {"L2": (lambda w, c: 0.5 * c * np.sum(w ** 2), "(lmbda / 2n) * sum ||w||^2"),
          "L1": (lambda w, c: c * np.sum(np.abs(w)), "(lmbda / n) * sum |w|")}


class StepNetwork(BackpropNetwork):
    """``update_mini_batch`` as a network's gradient: (params - params after one step) / eta,
    the step undone afterwards; its loss the mean cost over the mini-batch's columns plus the
    weight-decay term (``decay``: a DECAYS key, or None: no lmbda)."""

    def __init__(self, net, cost, cost_text, extra, decay):
        super().__init__(net, cost, cost_text)
        self.extra, self.decay = extra, decay
        objective = f"the mean over the mini-batch of {cost_text}"
        if decay:
            objective += f" + {DECAYS[decay][1]}"
        args = ", ".join(["mini_batch", "eta", *(["lmbda", "n"] if extra else [])])
        self.calls = (f"(w - w after update_mini_batch({args})) / eta", objective)

    def loss(self, x, t):
        m = x.shape[-1]
        total = sum(BackpropNetwork.loss(self, x[:, k:k + 1], t[:, k:k + 1]) for k in range(m)) / m
        if self.decay:
            c = STEP["lmbda"] / STEP["n"]
            total += sum(float(DECAYS[self.decay][0](np.asarray(w, np.float64), c))
                         for w in self.net.weights)
        return total

    def gradient(self, x, t):
        net = self.net
        weights, biases = net.weights, net.biases
        before = [a.copy() for a in weights + biases]
        batch = [(x[:, k:k + 1].copy(), t[:, k:k + 1].copy()) for k in range(x.shape[-1])]
        try:
            net.update_mini_batch(batch, STEP["eta"], *self.extra)
            moved = {**{f"weights[{i}]": w for i, w in enumerate(net.weights)},
                     **{f"biases[{i}]": b for i, b in enumerate(net.biases)}}
            names = [f"weights[{i}]" for i in range(len(weights))] + \
                [f"biases[{i}]" for i in range(len(biases))]
            return {k: (old - np.asarray(moved[k], np.float64)) / STEP["eta"]
                    for k, old in zip(names, before)}
        finally:        # the network as it was: its own lists, holding their first values
            net.weights, net.biases = weights, biases
            for a, old in zip(weights + biases, before):
                np.copyto(a, old)


def _step_arguments(cls):
    """update_mini_batch's arguments after the mini-batch and eta: () for network.py's, (lmbda,
    n) for network2's, in the order its names give; None: no such method, or another signature."""
    try:
        names = list(inspect.signature(cls.update_mini_batch).parameters)[1:]
    except (AttributeError, TypeError, ValueError):
        return None
    if len(names) == 2:
        return ()
    if len(names) != 4:
        return None
    third, fourth = (n.lower() for n in names[2:])
    if fourth.startswith(("lam", "reg")) or third in ("n", "n_train", "n_total"):
        return STEP["n"], STEP["lmbda"]
    return STEP["lmbda"], STEP["n"]


def check_step(build, extra, cost, cost_text, label):
    """Results of ``update_mini_batch``'s step as the gradient of its objective (module
    docstring; ``extra``: its arguments after eta): with lmbda, an L2 decay first, and an L1
    one when only that fits."""
    from properties.owncode_networks import check_network
    net = build()
    n_in, n_out = net.weights[0].shape[1], net.weights[-1].shape[0]
    x = np.random.default_rng(1).standard_normal((n_in, MINI_BATCH))
    t = np.eye(n_out)[:, np.arange(MINI_BATCH) % n_out]       # one-hot columns, classes mixed

    def run(decay):
        results = check_network(lambda: StepNetwork(build(), cost, cost_text, extra, decay),
                                x, t, label=f"{label}.update_mini_batch")
        return [_as_step(r, decay) for r in results]
    if not extra:
        return run(None)
    l2 = run("L2")
    if all(r.passed for r in l2):
        return l2
    l1 = run("L1")
    if all(r.passed for r in l1):
        return l1
    from properties.owncode_networks import made_seeded
    start = made_seeded(build).weights     # the weights of the first check (made under the same seed)
    return [_decay_diagnosed(r, start) for r in l2]


def _decay_diagnosed(r, start):
    """A failing weights[i] whose error is c times those weights (the residual of the step's
    gradient less the L2 objective's): diagnosed as a weight-decay slip, naming c."""
    i = r.tensor[len("weights["):-1] if r.tensor.startswith("weights[") else ""
    if r.passed or r.prop != "network_sgd_step" or not i.isdigit() or \
            set(r.arrays) < {"layer", "fd"} or int(i) >= len(start):
        return r
    from properties.owncode_networks import proportional
    c = proportional(np.asarray(r.arrays["layer"], np.float64) - np.asarray(r.arrays["fd"]),
                     start[int(i)])
    if c is None:
        return r
    wanted = STEP["lmbda"] / STEP["n"]
    decay = c + wanted         # the coefficient the step decays the weights with
    why = ("the decay's sign is flipped: (1 + eta * lmbda / n) * w" if np.isclose(decay, -wanted)
           else "no weight decay at all" if np.isclose(decay, 0.0, atol=1e-6 * wanted)
           else "lmbda, not lmbda / n" if np.isclose(decay, STEP["lmbda"])
           else f"{decay:.6g} = {decay / wanted:.6g} * lmbda / n")
    return replace(r, diagnosis={
        "kind": "weight decay",
        "summary": f"the step's gradient is the objective's plus {c:.6g} * w: it decays the "
                   f"weights by {decay:.6g} * w where lmbda / n = {wanted:g} ({why}).",
        "evidence": "(the error is that multiple of the weights to 1e-3)"})


def _as_step(r, decay):
    if not r.prop.startswith("network_gradient"):
        return r
    note = join_notes(r.note, f"eta {STEP['eta']}, lmbda {STEP['lmbda']}, n {STEP['n']}, "
                      f"{MINI_BATCH} examples" + (f", {decay} decay" if decay else ""))
    changes = {"prop": r.prop.replace("network_gradient", "network_sgd_step"), "note": note}
    if not r.passed and r.verdict == "layer bug":
        changes["explanation"] = (
            f"the step update_mini_batch takes on {r.tensor} is not -eta times the gradient of "
            "the mini-batch's mean cost" + (" plus the weight-decay term (neither an L2 nor an "
                                            "L1 decay fits)" if decay else "")
            + ", though backprop(x, y) passed: the step (its mean over the mini-batch, its "
              "weight decay, its sign) is wrong")
    return replace(r, **changes)
