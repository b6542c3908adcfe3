"""deeplearning.ai's whole network as module functions on a ``parameters`` dict:
``AL, caches = L_model_forward(X, parameters)``, ``grads = L_model_backward(AL, Y, caches)``
with ``grads["dW1"]``, ``grads["db1"]``..., a cost ``compute_cost(AL, Y)`` and the
parameters from ``initialize_parameters_deep(layer_dims)``.

The pair was taken for a layer's forward and backward and could not be driven. It is now
checked as a network (``owncode_networks.check_network``): each ``grads["d" + name]``
against finite differences of the cost of the forward, with respect to ``parameters[name]``,
at the initial parameters and after moving them in place. Examples are columns (``X`` of
shape (n_x, m), the course's layout); ``Y`` holds 0s and 1s in the output's shape.

Recognised by signatures: a ``*forward(X, parameters)`` beside ``*backward(AL, Y, caches)``,
a function with "cost" or "loss" in its name taking two arguments, and one whose name starts
``initiali`` and holds "param" taking the layer sizes (a list, ``layer_dims``, or
``n_x, n_h, n_y``). A missing piece is a skip saying which.
"""
import inspect

import numpy as np

from properties.user_entry import CannotCheck, Found
from properties.user_targets import _positional, is_target_name

SIZES = [3, 4, 2]
DEEP_SIZES = [3, 4, 3, 2]
EXAMPLES = 4


def is_params_forward(name, fn, names):
    """``name`` is a ``*forward(X, parameters)`` with its ``*backward(AL, Y, caches)`` (the
    labels second, the caches last: a ``backward(dout, cache, params)`` is something else)."""
    args = _positional(fn)
    back = names.get(name.replace("forward", "backward"))
    if "forward" not in name or len(args) != 2 or "param" not in args[1].lower() or \
            not inspect.isfunction(back):
        return False
    taken = _positional(back)        # (and its first the output, not X: the course-2 notebooks'
    return len(taken) == 3 and is_target_name(taken[1]) and "cache" in taken[2].lower() and \
        taken[0] != args[0] and taken[0].lower() not in ("x", "inputs", "input")   # (X, Y, cache))


class ParamsNetwork:
    """The three functions as a network with ``loss(x, t)`` / ``gradient(x, t)``; ``params``
    is the very dict the functions read, so moving it moves them."""

    batch_axis = -1      # examples are columns

    @staticmethod
    def grad_key(name):
        return "d" + name

    def __init__(self, params, forward, backward, cost, calls):
        self.params, self._f, self._b, self._c, self.calls = params, forward, backward, cost, calls

    def loss(self, x, t):
        return float(np.squeeze(self._c(self._f(x, self.params)[0], t)))

    def gradient(self, x, t):
        out, caches = self._f(x, self.params)
        grads = self._b(out, t, caches)
        return {k: grads["d" + k] for k in self.params}


def params_network_item(name, fn, names, label, path, used):
    from properties.owncode_networks import check_network
    back_name = name.replace("forward", "backward")
    cost_name = next((n for n, f in names.items() if inspect.isfunction(f) and n != name and
                      ("cost" in n.lower() or "loss" in n.lower()) and len(_positional(f)) == 2),
                     None)
    inits = [n for n, f in names.items() if inspect.isfunction(f) and
             n.lower().startswith("initiali") and "param" in n.lower()]
    # the one taking layer_dims first: two hidden layers run the deep loops a two-layer one skips
    init_name = next((n for n in inits if len(_positional(names[n])) == 1), inits[0] if inits else None)
    used.add(back_name)
    if cost_name is None or init_name is None:
        missing = "cost function (its name holding cost or loss, two arguments)" \
            if cost_name is None else "parameters initializer (initialize_parameters...)"
        raise CannotCheck(f"{name}(X, parameters) and {back_name}(AL, Y, caches) are a network's "
                          f"passes, but the module has no {missing} to check them with")
    init, forward, backward, cost = (names[n] for n in (init_name, name, back_name, cost_name))
    x = np.random.default_rng(0).standard_normal((SIZES[0], EXAMPLES))
    first = init_arguments(init, init_name)
    sizes, raised = None, None

    def make(chosen=None):
        np.random.seed(1)       # (the course's initializers draw from np.random)
        return ParamsNetwork(init(*(chosen or sizes)), forward, backward, cost,
                             (f"{back_name}(AL, Y, caches)",
                              f"{cost_name}({name}(X, parameters)[0], Y)"))
    # two outputs first; one where the forward asserts it, or the cost is the course's binary
    # one (np.dot(Y, log(AL).T) sums cross terms of several output rows)
    for tried in (first, one_output(first)):
        try:
            out = np.asarray(forward(x, make(tried).params)[0])
            y = labels_for(out.shape)
            if out.shape[0] > 1 and not rows_apart(cost, out, y):
                continue
            sizes = tried
            break
        except Exception as exc:
            raised = raised or exc
    if sizes is None:
        why = f"raised {type(raised).__name__}: {raised}" if raised else \
            f"gave a cost {cost_name} that sums cross terms of its output rows"
        raise CannotCheck(f"{init_name}({shown_sizes(first)}) then {name}(X {x.shape}, "
                          f"parameters) {why}")
    shown = shown_sizes(sizes)
    return Found(label, path, "network", f"network of {name}(X, parameters) -> (AL, caches), "
                 f"{back_name}(AL, Y, caches) -> grads, cost {cost_name}(AL, Y), parameters from "
                 f"{init_name}({shown}); X {x.shape} (examples are columns), Y {y.shape} (one-hot "
                 f"columns, or 0/1 in one row)",
                 check=lambda: check_network(make, x, y, label=label))


def one_output(sizes):
    """The initializer's sizes with one output unit (a binary classifier's n_y = 1)."""
    if len(sizes) == 1 and isinstance(sizes[0], list):
        return [sizes[0][:-1] + [1]]
    return list(sizes[:-1]) + [1]


def rows_apart(cost, out, y):
    """True when the cost of several output rows is the sum of each row's alone (a softmax
    cross-entropy's), not a sum of cross terms between rows (the course's binary cost)."""
    whole = float(np.sum(cost(out, y)))
    parts = sum(float(np.sum(cost(out[i:i + 1], y[i:i + 1]))) for i in range(out.shape[0]))
    return bool(np.isclose(whole, parts, rtol=1e-9, atol=1e-12))


def labels_for(shape):
    """Y for an output of ``shape``: one-hot columns (a softmax's), or 0s and 1s for one row."""
    rng = np.random.default_rng(1)
    if shape[0] == 1:
        return (rng.random(shape) < 0.5).astype(np.float64)
    return np.eye(shape[0])[:, rng.integers(0, shape[0], shape[1])]


def shown_sizes(sizes):
    return ", ".join(str(s) for s in sizes)


def init_arguments(init, init_name):
    """The sizes to call the initializer with: one list (``layer_dims``: two hidden layers) or
    one size each (input, hidden, output)."""
    args = _positional(init)
    if len(args) == 1:
        return [list(DEEP_SIZES)]
    if len(args) == len(SIZES):
        return list(SIZES)
    if len(args) > len(SIZES) and all(a.lower().startswith("n") for a in args):
        return [3] + [4, 3, 5, 4][:len(args) - 2] + [SIZES[-1]]    # n_x, n_h1, n_h2..., n_y
    raise CannotCheck(f"{init_name}{tuple(args)}: cannot tell which sizes to pass")
