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
"""
import inspect

import numpy as np

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
    return Found(label, path, "network", f"network with backprop(x, y) -> (nabla_b, nabla_w) "
                 f"(Nielsen's), its loss {text}; x {x.shape}, y one-hot {y.shape}",
                 check=lambda: check_network(make, x, y, label=label))


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
