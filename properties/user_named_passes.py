"""deeplearning.ai's networks as the course's notebooks write them, their functions called by
their arguments' names:

* ``grads = backward_propagation(parameters, cache, X, Y)`` (course 1's planar network), or
  ``(X, Y, cache)``, ``(X, Y, cache, lambd)``, ``(X, Y, cache, keep_prob)`` (course 2's),
  beside ``A, cache = forward_propagation(X, parameters)`` (the same suffix:
  ``forward_propagation_with_dropout`` for ``backward_propagation_with_dropout``, else the
  plain one) and a cost ``compute_cost(A, Y[, parameters, lambd])`` (the same suffix:
  ``compute_cost_with_regularization``, else the plain one); or a forward that returns the
  cost itself, ``cost, cache = forward_propagation_n(X, Y, parameters)``;
* ``grads, cost = propagate(w, b, X, Y)`` (course 1's logistic regression): the gradient of
  the cost with respect to each argument that ``grads`` holds as ``"d" + name``.

Each ``grads["d" + name]`` is checked against finite differences of the cost with respect to
``parameters[name]`` (``owncode_networks.check_network``: at the initial parameters and after
moving them in place). Examples are columns; ``Y`` holds 0s and 1s in the output's shape (one-
hot columns for several outputs). The parameters come from an ``initialize_parameters...``
function when the module has one, else from the keys the forward reads (``W1``, ``b1``...,
``W3``, ``b3``) as a chain of sizes 3, 5, 4, 1 (biases near 0.5, so ReLUs are active). ``lambd`` is 0.7 and ``keep_prob`` 0.8 (the
masks are drawn alike for every evaluation: NumPy's global state is seeded before each).
"""
import ast
import inspect
import re
import textwrap

import numpy as np

from properties.user_entry import CannotCheck, Found
from properties.user_params_network import EXAMPLES, init_arguments, labels_for, shown_sizes
from properties.user_targets import _positional, is_target_name

VALUES = {"lambd": 0.7, "lambda_": 0.7, "lam": 0.7, "keep_prob": 0.8}
PARAMS_NAMES = ("parameters", "params")
CACHE_NAMES = ("cache", "caches")
CHAIN = [3, 5, 4, 1]


def _suffix(name, word):
    return name.split(word, 1)[1] if word in name else None


def _pick(names, prefix, suffix):
    """``prefix + suffix`` among the module's functions, else ``prefix`` alone."""
    for n in (prefix + suffix, prefix):
        if inspect.isfunction(names.get(n)):
            return n
    return None


class NamedPasses:
    """forward, backward and cost called by their arguments' names, as a network with
    ``loss(x, t)`` / ``gradient(x, t)``; ``params`` is the very dict they read."""

    batch_axis = -1      # examples are columns

    @staticmethod
    def grad_key(name):
        return "d" + name

    def __init__(self, params, forward, backward, cost, calls, scale=1.0):
        self.params, self._f, self._b, self._c, self.calls = params, forward, backward, cost, calls
        self.scale = scale        # 1/m where the cost sums over the examples (see _sums)

    def _call(self, fn, x, t, out=None, cache=None):
        kw = {p: VALUES[p] for p in inspect.signature(fn).parameters   # keep_prob=0.5 left at
              if p in VALUES and p not in _positional(fn)}             # its default: not the
        return fn(*self._given(fn, x, t, out, cache), **kw)            # backward's

    def _given(self, fn, x, t, out, cache):
        given = []
        for a in _positional(fn):
            low = a.lower()
            if low == "x":
                given.append(x)
            elif low in PARAMS_NAMES:
                given.append(self.params)
            elif low in CACHE_NAMES:
                given.append(cache)
            elif low in VALUES:
                given.append(VALUES[low])
            elif is_target_name(a):
                given.append(t)
            else:                       # A2, AL, a3: the forward's output
                given.append(out)
        return given

    def _forward(self, x, t):
        first, cache = self._call(self._f, x, t)[:2]
        return first, cache

    def loss(self, x, t):
        first, cache = self._forward(x, t)
        value = first if self._c is None else self._call(self._c, x, t, out=first)
        return float(np.squeeze(value)) * self.scale

    def gradient(self, x, t):
        first, cache = self._forward(x, t)
        grads = self._call(self._b, x, t, out=first, cache=cache)
        return {k: grads["d" + k] for k in self.params}


def named_passes_item(name, fn, names, label, path, used):
    """The Found of a backward written as the course writes it (module docstring), or None."""
    if not name.startswith("backward_propagation"):
        return None
    back_args = [a.lower() for a in _positional(fn)]
    if not any(a in CACHE_NAMES for a in back_args):
        return None
    suffix = _suffix(name, "backward_propagation")
    f_name = _pick(names, "forward_propagation", suffix)
    if f_name is None:
        return None
    forward = names[f_name]
    f_args = [a.lower() for a in _positional(forward)]
    if not any(a in PARAMS_NAMES for a in f_args) or "x" not in f_args:
        return None
    computes_cost = any(is_target_name(a) for a in _positional(forward))
    c_name = None if computes_cost else _pick(names, "compute_cost", suffix)
    if not computes_cost and c_name is None:
        raise CannotCheck(f"{f_name} and {name} are a network's passes, but the module has no "
                          f"compute_cost{suffix or ''} to check them with")
    used.update({name})
    params, made_how = _parameters(names, forward, f_name)
    cost = None if c_name is None else names[c_name]
    calls = (f"{name}({', '.join(_positional(fn))})",
             f"{f_name}(...)[0]" if c_name is None else f"{c_name}({f_name}(...)[0], ...)")

    def make(scale=1.0):
        np.random.seed(1)
        return NamedPasses(params(), forward, fn, cost, calls, scale)
    net = make()
    if "W1" not in net.params:
        raise CannotCheck(f"{made_how} gives no W1: the input's size is not known")
    x = np.random.default_rng(0).standard_normal((net.params["W1"].shape[1], EXAMPLES))
    try:
        np.random.seed(2)
        first = np.asarray(net._call(forward, x, np.zeros((1, EXAMPLES)))[0])
        out_rows = net.params[_last_w(net.params)].shape[0] if computes_cost else first.shape[0]
    except Exception as exc:
        raise CannotCheck(f"{f_name} on X {x.shape} with parameters from {made_how} raised "
                          f"{type(exc).__name__}: {exc}") from exc
    y = labels_for((out_rows, EXAMPLES))
    sums = _sums(make(), x, y)
    return Found(label, path, "network", (
        f"network of {f_name} -> {calls[0]} -> grads, its cost {calls[1]}, parameters from "
        f"{made_how}; X {x.shape} (examples are columns), Y {y.shape}"
        + "".join(f"; {k} = {v}" for k, v in VALUES.items() if k in back_args)),
        check=lambda: _checked(make, x, y, label, sums, calls))


def _sums(net, x, y):
    """The cost sums over the examples (course 2's optimization notebook: its model divides
    by m): the cost function given the same outputs and labels twice gives twice the cost."""
    if net._c is None:
        return False
    try:
        np.random.seed(3)
        out = np.asarray(net._forward(x, y)[0], dtype=np.float64)
        double = lambda a: np.concatenate([a, a], axis=-1)      # noqa: E731
        once = float(np.squeeze(net._call(net._c, x, y, out=out)))
        twice = float(np.squeeze(net._call(net._c, double(x), double(y), out=double(out))))
    except Exception:
        return False
    return bool(np.isfinite(once) and once != 0 and np.isclose(twice, 2 * once, rtol=1e-9))


def _checked(make, x, y, label, sums, calls):
    """check_network; where the cost sums over the m examples, against the cost / m, and, when
    that passes, a ``convention`` warning saying so."""
    from dataclasses import replace
    from properties.owncode_networks import check_network
    m = x.shape[-1]
    results = check_network(lambda: make(1.0 / m if sums else 1.0), x, y, label=label)
    if not sums:
        return results
    said = (f"{calls[1]} is the sum over the {m} examples, and {calls[0]} the gradients of the "
            f"mean: checked against the cost / {m}")
    if not all(r.passed for r in results):
        return [replace(r, note=f"{r.note}; {said}" if r.note else said) for r in results]
    return [replace(r, warning=True, verdict="convention", explanation=(
        f"{said}. Consistent where the caller divides the summed cost by m, as the course's "
        f"model() does; a gradient step on the summed cost would take m times this one."))
        for r in results]


def _last_w(params):
    return max((k for k in params if re.fullmatch(r"W\d+", k)), key=lambda k: int(k[1:]))


def _parameters(names, forward, f_name):
    """(a function making fresh parameters, how they were made): the module's initializer,
    else a chain of the ``W<i>``/``b<i>`` keys the forward reads."""
    inits = [n for n, f in names.items() if inspect.isfunction(f) and
             n.lower().startswith("initiali") and "param" in n.lower()]
    init_name = next((n for n in inits if len(_positional(names[n])) == 1), inits[0] if inits else None)
    if init_name is not None:
        sizes = init_arguments(names[init_name], init_name)
        one_out = [s[:-1] + [1] if isinstance(s, list) else s for s in sizes]
        one_out = one_out[:-1] + [1] if not isinstance(sizes[0], list) else one_out
        one_out = one_out if one_out != sizes else sizes
        for tried in (sizes, one_out):      # (a forward asserting one output row: n_y = 1)
            try:
                np.random.seed(1)
                first = forward(*[np.zeros((_inputs(tried), EXAMPLES)) if a.lower() == "x" else
                                  names[init_name](*tried) if a.lower() in PARAMS_NAMES else
                                  np.zeros((1, EXAMPLES)) for a in _positional(forward)])
                if first is not None:
                    sizes = tried
                    break
            except Exception:
                continue
        return (lambda: names[init_name](*sizes)), f"{init_name}({shown_sizes(sizes)})"
    layers = _layers_read(forward)
    if not layers:
        raise CannotCheck(f"no initialize_parameters... function, and {f_name} reads no "
                          f"parameters['W1'], ['b1']...: the parameters' shapes are not known")
    sizes = (CHAIN[:1] + [5] * (layers - 1) + [1]) if layers != 3 else list(CHAIN)

    def chain():        # biases around 0.5: most ReLUs active, so no gradient is all zeros
        rng = np.random.default_rng(7)
        return {k: v for i in range(1, layers + 1) for k, v in (
            (f"W{i}", rng.standard_normal((sizes[i], sizes[i - 1])) * 0.8),
            (f"b{i}", rng.uniform(0.3, 0.7, (sizes[i], 1))))}
    return chain, f"the keys {f_name} reads, W1..W{layers} and b1..b{layers}, sizes {sizes}"


def _inputs(sizes):
    return sizes[0][0] if isinstance(sizes[0], list) else sizes[0]


def _layers_read(forward):
    """The number L of layers whose ``parameters["W<i>"]`` the forward reads (1..L all)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(forward)))
    except (OSError, TypeError, SyntaxError):
        return 0
    read = {int(n.value[1:]) for n in ast.walk(tree) if isinstance(n, ast.Constant) and
            isinstance(n.value, str) and re.fullmatch(r"W\d+", n.value)}
    return max(read) if read and read == set(range(1, max(read) + 1)) else 0


def propagate_item(name, fn, label, path):
    """``grads, cost = propagate(w, b, X, Y)``: the gradient of the cost with respect to each
    argument ``grads`` holds as ``"d" + name`` (logistic regression); None for another form."""
    args = _positional(fn)
    low = [a.lower() for a in args]
    if "x" not in low or not any(is_target_name(a) for a in args) or len(args) < 3:
        return None
    learn = [a for a in args if a.lower() != "x" and not is_target_name(a)]
    if not all(re.fullmatch(r"[wb]\d*|theta|weights?|bias", a.lower()) for a in learn):
        return None          # (an optimize(w, b, X, Y, num_iterations...) is not called)
    rng = np.random.default_rng(0)
    n_x = 3
    x = rng.standard_normal((n_x, EXAMPLES))
    y = labels_for((1, EXAMPLES))
    w = rng.standard_normal(n_x) * 0.5
    for shape in ((n_x, 1), (n_x,)):        # a column, as the course keeps w, or flat
        values = {a: (w.reshape(shape) if a.lower().startswith("w") else np.asarray(0.3))
                  for a in learn}
        try:
            with np.errstate(all="ignore"):
                got = fn(*[x if a.lower() == "x" else y if is_target_name(a) else values[a]
                           for a in args])
        except Exception:
            continue
        grads = next((g for g in got if isinstance(g, dict)), None) \
            if isinstance(got, tuple) else None
        if grads is not None and all("d" + a in grads for a in learn):
            break
    else:
        return None
    from properties.owncode_networks import check_network

    class Propagate:
        batch_axis, calls = -1, (f"{name}({', '.join(args)})[grads]", f"{name}(...)[cost]")

        @staticmethod
        def grad_key(k):
            return "d" + k

        def __init__(self):
            self.params = {a: np.array(v, dtype=np.float64) for a, v in values.items()}

        def _run(self, x, t):
            got = fn(*[x if a.lower() == "x" else t if is_target_name(a) else self.params[a]
                       for a in args])
            return next(g for g in got if isinstance(g, dict)), \
                next(float(np.squeeze(g)) for g in got if not isinstance(g, dict))

        def loss(self, x, t):
            return self._run(x, t)[1]

        def gradient(self, x, t):
            grads = self._run(x, t)[0]
            return {a: np.reshape(grads["d" + a], np.shape(self.params[a])) if np.size(
                grads["d" + a]) == np.size(self.params[a]) else grads["d" + a] for a in learn}
    return Found(label, path, "network", (
        f"{name}({', '.join(args)}) -> (grads, cost): grads['d' + name] as the gradient of the "
        f"cost with respect to {', '.join(learn)}; X {x.shape} (examples are columns), Y "
        f"{y.shape} of 0s and 1s"), check=lambda: check_network(Propagate, x, y, label=label))
