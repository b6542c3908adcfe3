"""Functional pairs whose parameters come in one dict: ``out, cache = ffn_forward(x, params)``
with ``dx, grads = ffn_backward(dout, cache)`` (``grads`` a dict by the same keys), the
params made by an initializer beside them (``init_ffn(d_model, d_ff)`` -> {"W1": ..., ...}).

The dict's arrays are the layer's params (``layers.FunctionalLayer``: the forward is handed
them back as one dict, the backward's dict read by key: ``W1``, ``dW1`` or ``grad_W1``); the
initializer is called with sizes by its arguments' names, as a constructor is
(``properties.user_build``). Without an initializer the pair cannot be built, and says so.
"""
import inspect

import numpy as np

from layers.functional import FunctionalLayer
from properties.user_cost_match import gradient_key
from properties.user_entry import CannotCheck, layer_entry
from properties.user_shapes import PROBES, infer_input_shapes
from properties.user_targets import _positional

DICT_NAMES = ("params", "parameters", "param", "model", "weights", "p", "theta")
INIT_WORDS = ("init", "initialize", "initialise", "make", "create", "build", "new")


def dict_argument(args):
    """The name of the forward's argument that holds its params as a dict, or None."""
    return next((a for a in args[1:] if a.lower() in DICT_NAMES), None)


def initializer(base, names):
    """The module function making the dict (``init_ffn``, ``init_params``), or None."""
    for name, fn in names.items():
        low = name.lower()
        stem = low.split("_", 1)[1] if "_" in low else ""     # init_vae beside vae_loss
        if inspect.isfunction(fn) and low.startswith(INIT_WORDS) and (
                base.lower() in low or "param" in low or "weight" in low or
                len(stem) > 1 and stem in base.lower().split("_")):
            return name, fn
    return None


def _keyed(grads, key):
    found = gradient_key(grads, key)
    if found is None:
        raise KeyError(f"the backward's gradients hold no {key!r} (nor d{key}, grad_{key}): "
                       f"they hold {sorted(grads)}")
    return grads[found]


def dict_params_item(name, fwd, bwd, base, label, path, names, args, dict_arg):
    """The Found of a pair whose ``dict_arg`` is a params dict; CannotCheck when no
    initializer makes one."""
    from properties.user_build import CannotBuild, constructor_args
    found = initializer(base, names)
    if found is None:
        raise CannotCheck(f"{name} takes its params as one dict ({dict_arg}) and no function "
                          f"beside it makes one (init_{base}(...) returning {{'W1': ...}}): "
                          f"add one, or check the layer as a class")
    init_name, init = found
    try:
        params = init(**constructor_args(init))
    except CannotBuild as exc:
        raise CannotCheck(f"{init_name}(): cannot tell what to pass for {list(exc.missing)}") from None
    except Exception as exc:
        raise CannotCheck(f"{init_name}() raised {type(exc).__name__}: {exc}") from None
    if not isinstance(params, dict) or not params or not all(
            isinstance(v, np.ndarray) and v.dtype.kind == "f" for v in params.values()):
        raise CannotCheck(f"{init_name}() does not return a dict of float arrays")
    keys = list(params)
    inputs = tuple(args[:args.index(dict_arg)])
    # a backward taking the params too (``backward(dout, cache, params)``): the forward's
    given = [a for a in _positional(bwd)[2:] if a.lower() in DICT_NAMES][:1]
    current = {}

    def forward(*values):
        n = len(values) - len(keys)
        current["params"] = dict(zip(keys, values[n:]))
        return fwd(*values[:n], current["params"])

    def backward(*douts_and_cache):
        got = bwd(*douts_and_cache, *[current["params"] for _ in given])
        *dxs, grads = got if isinstance(got, tuple) else (got,)
        dxs = dxs or [None] * len(inputs)     # the params' gradients alone: no dx to check
        if not isinstance(grads, dict):
            raise TypeError(f"{getattr(bwd, '__name__', 'backward')} must return (dx, grads) "
                            f"with grads a dict by the params' keys, got {type(grads).__name__}")
        return (*dxs, *[_keyed(grads, k) for k in keys])

    forward.__name__, backward.__name__ = fwd.__name__, bwd.__name__

    def adapt(obj_unused, probe_unused):
        arrays = {k: np.array(v, dtype=np.float64) for k, v in params.items()}
        return FunctionalLayer(forward, backward, arrays, name=base, inputs=inputs), "functional"

    layer = adapt(None, None)[0]
    spec = infer_input_shapes(layer, name=name, doc=inspect.getdoc(fwd) or "",
                              rng=np.random.default_rng(0))
    if spec is None:
        why = PROBES.why() or "no input shape made forward and backward run"
        raise CannotCheck(f"{name} with {init_name}'s params: {why}")
    shown = ", ".join(f"{k} {np.shape(v)}" for k, v in params.items())
    from dataclasses import replace
    spec = replace(spec, how=f"{spec.how}; params from {init_name}(): {shown}")
    return layer_entry(label, path, "functional", base, lambda: None, adapt, layer, spec, False)
