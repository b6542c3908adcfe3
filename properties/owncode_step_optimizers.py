"""A user's optimizer given its params at construction and moved by ``step()`` (PyTorch's style).

    opt = SGD(params, lr=0.1)           # Parameter objects with .data and .grad
    opt = Adam(list(zip(params, grads)))  # or (param, grad) array pairs, grads filled in place
    opt = Momentum(params, grads, lr=0.1)  # or a list of params and a list of their grads
    ...; opt.step()

:class:`StepOptimizer` presents such an optimizer as the dict style ``update(params,
grads)`` the trajectory check drives (``properties.owncode_optimizers``): it builds the
user's optimizer once, on arrays of the check's shapes it keeps, and each ``update`` writes
the drawn gradients into the gradient arrays the optimizer holds (in place, as a backward
fills them), calls ``step()``, and reads the params back (``.data`` rebound or written in
place). Which of the three ways the constructor takes its params is found by trying them:
the first under which one ``step()`` moves every param is the one.
"""
from types import SimpleNamespace

import copy
import inspect

import numpy as np

STYLES = ("objects", "pairs", "lists")


class AbstractStep(ValueError):
    """Every way of driving ``step()`` raised NotImplementedError: a base class."""


class StepOptimizer:
    """The user's step() optimizer built by ``build(*containers)`` on params of ``shapes``,
    driven as ``update(params, grads)``. Attributes are read off the user's object."""

    def __init__(self, build, shapes, style, class_name):
        self.class_name, self.style = class_name, style
        self._params = [np.zeros(s) for s in shapes]
        self._grads = [np.zeros(s) for s in shapes]
        if style == "objects":
            self._objects = [SimpleNamespace(data=p, grad=g) for p, g in zip(self._params, self._grads)]
            self.optimizer = build(self._objects)
        elif style == "pairs":
            self.optimizer = build(list(zip(self._params, self._grads)))
        else:
            self.optimizer = build(self._params, self._grads)

    def __getattr__(self, name):        # hyperparameters (lr, momentum, ...) are the user's
        if name.startswith("_") or name == "optimizer":
            raise AttributeError(name)
        return getattr(self.optimizer, name)

    def update(self, params, grads):
        names = list(params)
        for i, n in enumerate(names):
            self._current(i)[...] = params[n]
            self._grad(i)[...] = grads[n]
        self.optimizer.step()
        for i, n in enumerate(names):
            params[n][...] = self._current(i)

    def _current(self, i):
        return self._objects[i].data if self.style == "objects" else self._params[i]

    def _grad(self, i):
        if self.style == "objects" and not isinstance(self._objects[i].grad, np.ndarray):
            self._objects[i].grad = np.zeros_like(self._params[i])   # zero_grad() set it to None
        return self._objects[i].grad if self.style == "objects" else self._grads[i]


class LayerUpdateOptimizer(StepOptimizer):
    """nnfs's optimizer, driven as ``update(params, grads)``: ``update_params(layer)`` steps one
    layer's ``weights`` by its ``dweights`` (and ``biases`` by ``dbiases``), called for every
    layer between ``pre_update_params()`` (a learning-rate decay) and ``post_update_params()``
    (the step count), its state (momentums, caches) kept on the layer. Each param is the
    weights of a layer of its own, whose biases are a zero with a zero gradient."""

    style = "layers"

    def __init__(self, optimizer):
        self.optimizer, self.class_name = optimizer, type(optimizer).__name__
        self._layers = {}

    def update(self, params, grads):
        for n in params:
            layer = self._layers.setdefault(n, SimpleNamespace(biases=np.zeros((1, 1)),
                                                               dbiases=np.zeros((1, 1))))
            layer.weights = np.array(params[n], dtype=np.float64)
            layer.dweights = np.array(grads[n], dtype=np.float64)
        if callable(getattr(self.optimizer, "pre_update_params", None)):
            self.optimizer.pre_update_params()
        for n in params:
            self.optimizer.update_params(self._layers[n])
        if callable(getattr(self.optimizer, "post_update_params", None)):
            self.optimizer.post_update_params()
        for n in params:
            params[n][...] = self._layers[n].weights


class PerArrayOptimizer(StepOptimizer):
    """An optimizer whose ``update(w, grad)`` returns the new ``w`` and keeps its state (a
    velocity, a cache) for that one array (ML-From-Scratch's: each layer copies the optimizer
    for its W and its w0), driven as ``update(params, grads)``: one fresh copy of the user's
    optimizer per param, never a shared one."""

    style = "arrays"

    def __init__(self, optimizer):
        self.optimizer, self.class_name = optimizer, type(optimizer).__name__
        self._fresh, self._each = copy.deepcopy(optimizer), {}
        self._named = takes_a_name(optimizer)

    def update(self, params, grads):
        for n in params:
            w, g = np.array(params[n], np.float64), np.array(grads[n], np.float64)
            if self._named:        # numpy-ml's update(param, param_grad, param_name): one
                new = self.optimizer.update(w, g, n)     # optimizer, its state kept by name
            else:
                new = self._each.setdefault(n, copy.deepcopy(self._fresh)).update(w, g)
            params[n] = np.array(new, np.float64)


class ListOptimizer(StepOptimizer):
    """An optimizer whose ``update(params, grads)`` takes lists of arrays (``opt.update([W1, b1],
    [dW1, db1])``), moving them in place or returning the new ones, driven with the dict's own
    arrays in its order."""

    style = "lists"

    def __init__(self, optimizer):
        self.optimizer, self.class_name = optimizer, type(optimizer).__name__

    def update(self, params, grads):
        names = list(params)
        out = self.optimizer.update([params[n] for n in names], [grads[n] for n in names])
        if isinstance(out, (list, tuple)) and len(out) == len(names):
            for n, new in zip(names, out):      # (new arrays returned, not moved in place)
                params[n] = np.array(new, np.float64)


def takes_lists(opt):
    """``opt.update(params, grads)`` takes lists of arrays, not dicts: handed dicts it raises
    (iterating their keys) or moves nothing, handed lists it moves them (on copies of ``opt``)."""
    def moved(params, grads):
        probe = copy.deepcopy(opt)
        before = [np.array(p, copy=True) for p in (params.values() if isinstance(params, dict)
                                                   else params)]
        try:
            with np.errstate(all="ignore"):
                out = probe.update(params, grads)
        except Exception:
            return False
        after = list(params.values()) if isinstance(params, dict) else params
        if isinstance(out, (list, tuple)) and len(out) == len(after):
            after = out
        return any(not np.array_equal(np.asarray(a, np.float64), b) for a, b in zip(after, before))
    shapes = ((3, 2), (2,))
    as_dict = moved({f"p{i}": np.ones(s) for i, s in enumerate(shapes)},
                    {f"p{i}": np.full(s, 0.5) for i, s in enumerate(shapes)})
    return not as_dict and moved([np.ones(s) for s in shapes], [np.full(s, 0.5) for s in shapes])


def takes_a_name(opt):
    """``update(w, grad, name[, ...])``: three required arguments, the third a param's name."""
    try:
        required = [p for p in inspect.signature(opt.update).parameters.values()
                    if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        return False
    return len(required) == 3 and "name" in required[2].name.lower()


def returns_new_array(opt):
    """``opt.update(w, grad)`` returns the new w (an array of w's shape), on a copy of ``opt``:
    the per-array style, not ``update(params, grads)`` on dicts (which returns None, or raises
    when handed arrays)."""
    probe = copy.deepcopy(opt)
    try:
        with np.errstate(all="ignore"):
            out = probe.update(np.linspace(0.5, 1.5, 3), np.full(3, 0.25),
                               *(("p0",) if takes_a_name(opt) else ()))
    except Exception:
        return False
    return isinstance(out, np.ndarray) and out.shape == (3,)


def step_style(build, shapes, class_name):
    """The first style under which ``build`` makes an optimizer whose one ``step()`` moves every
    param, or raises ValueError saying what was tried."""
    tried, abstract = [], True
    for style in STYLES:
        try:
            opt = StepOptimizer(build, shapes, style, class_name)
            params = {f"p{i}": np.ones(s) for i, s in enumerate(shapes)}
            opt.update(params, {n: np.full(np.shape(p), 0.5) for n, p in params.items()})
        except Exception as exc:     # the user's own constructor or step() refused this style
            abstract = abstract and isinstance(exc, NotImplementedError)
            tried.append(f"{style}: {type(exc).__name__}: {exc}")
            continue
        abstract = False
        if all(np.all(np.isfinite(p)) and not np.array_equal(p, np.ones_like(p))
               for p in params.values()):
            return style
        tried.append(f"{style}: one step() left a param where it was")
    if abstract:
        raise AbstractStep(f"{class_name}.step() is not implemented (a base class)")
    raise ValueError(f"{class_name}: cannot drive its step(): tried its params as objects with "
                     f".data and .grad, as (param, grad) pairs and as two lists ({'; '.join(tried)})")
