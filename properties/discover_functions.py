"""Functional pairs and losses, cs231n style: ``X_forward``/``X_backward`` and ``X_loss``.

``out, cache = X_forward(x, *params[, X_param])`` with ``X_backward(dout, cache) ->
(dx, *dparams)`` becomes a ``layers.FunctionalLayer``; ``loss, dx = X_loss(x, y)``
a ``layers.FunctionalLoss``. Parameter shapes start from placeholders chosen by
name (a conv's ``w`` is 4-D) and the input shape is then inferred; the options
dict gets values that exercise its hyperparameters (a conv with stride 2 and
padding 1, where backward bugs hide).
"""
import inspect

import numpy as np

from layers.functional import FunctionalLayer, FunctionalLoss
from properties.user_entry import CannotCheck, layer_entry
from properties.user_shapes import infer_input_shapes


def function_item(name, fn, names, label, path, used):
    """A Found for ``fn`` (a forward with its backward beside it, or a loss), or None."""
    if name.endswith("_forward") or "_forward_" in name:
        back = name.replace("_forward", "_backward")
        if back not in names:
            raise CannotCheck(f"{name} has no {back} beside it: there is no gradient to check")
        used.add(back)
        return _functional(name, fn, names[back], label.removesuffix(name) + name.replace("_forward", ""), path)
    if "loss" in name and _positional(fn) == 2:
        return _functional_loss(name, fn, label, path)
    return None


def _positional(fn):
    try:
        return sum(1 for p in inspect.signature(fn).parameters.values()
                   if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))
    except (TypeError, ValueError):
        return -1


def _functional(name, fwd, bwd, label, path):
    params = list(inspect.signature(fwd).parameters)[1:]
    options = params.pop() if params and params[-1].endswith("_param") else None
    base = name.replace("_forward", "")
    shapes = {p: np.shape(_placeholder(p, base)) for p in params}

    def adapt(obj_unused, probe_unused):
        arrays = {p: np.random.default_rng(0).standard_normal(shapes[p]) for p in params}
        return FunctionalLayer(fwd, bwd, arrays, _default_options(base, options), name=base), \
            "functional"

    layer = adapt(None, None)[0]
    spec = infer_input_shapes(layer, name=name, doc=inspect.getdoc(fwd) or "",
                              rng=np.random.default_rng(0))
    if spec is None:
        raise CannotCheck(f"{name}: no input shape made forward and backward run")
    return layer_entry(label, path, "functional", base, lambda: None, adapt, layer, spec, False)


def _placeholder(p, base):
    conv = "conv" in base
    low = p.lower()
    if low in ("w", "weight", "weights"):
        return np.zeros((2, 3, 3, 3) if conv else (4, 3))
    if low in ("b", "bias"):
        return np.zeros(2 if conv else 3)
    return np.zeros(3)


def _default_options(base, options):
    if options is None:
        return None
    if "conv" in base:
        return {"stride": 2, "pad": 1}      # a stride and a padding, where backward bugs hide
    if "pool" in base:
        return {"pool_height": 2, "pool_width": 2, "stride": 2}
    if "norm" in base:
        return {"mode": "train", "eps": 1e-5, "momentum": 0.9}
    if "dropout" in base:
        return {"mode": "train", "p": 0.5, "seed": 0}
    return {}


def _functional_loss(name, fn, label, path):
    layer = FunctionalLoss(fn, name=name)
    spec = infer_input_shapes(layer, name=name, doc=inspect.getdoc(fn) or "", kind="loss",
                              rng=np.random.default_rng(0))
    if spec is None:
        raise CannotCheck(f"{name}: could not call it as loss, dx = {name}(x, y)")
    return layer_entry(label, path, "functional", name, lambda: None,
                       lambda obj, probe: (FunctionalLoss(fn, name=name), "functional"),
                       layer, spec, False)
