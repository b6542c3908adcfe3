"""Find a seed-style layer's parameters by watching what its backward writes.

A layer in the tutorials' style keeps ``self.W`` and writes ``self.dW`` in
``backward``; many create ``self.dW`` only there, so looking for a ``dW``
attribute before any backward finds nothing. The probe runs ``forward`` and
``backward`` once on a deep copy of the layer (the user's object is never
touched) and reports every ``dX`` attribute the backward wrote. The
parameters are exactly the ``X`` that existed before the forward as float
arrays and got a ``dX`` from the backward: a cache such as ``self.x`` (set by
forward) or ``self.mask`` (no ``dmask``) is not a parameter.
"""
import copy
import inspect
from typing import NamedTuple

import numpy as np

from layers.stored_results import INPUT_GRAD_ATTRS, OUTPUT_ATTRS, call_keeping, rebound

TRAINING_NAMES = ("train_flg", "training", "train")
# How the gradient of a parameter ``X`` is named, most usual first: ``dX`` (the tutorials'),
# ``d_X``, ``grad_X``, ``X_grad``, ``gradX``, ``g_X``, ``delta_X``, ``X_grads``; after a prefix
# without an underscore, ``X`` capitalised too (``gradWeight``, ``dWeight``).
GRAD_NAMINGS = (("d", ""), ("d_", ""), ("grad_", ""), ("", "_grad"), ("grad", ""), ("g_", ""),
                ("delta_", ""), ("", "_grads"))



# a learning rate by name (``xuexilv``: pinyin); one a method takes with a default (a loss's
# ``backprop(self, lr=None)``, beside layers' ``backprop(d, lr)``) is no upstream gradient
RATE_NAMES = ("lr", "learning_rate", "learn_rate", "eta", "alpha", "rate", "step_size", "learn",
              "xuexilv")


def takes_upstream(method):
    """Whether a backward ``method`` takes an upstream gradient: a positional parameter (not a
    learning rate with a default) or ``*douts``. A loss's ``backward(self)`` (PyTorch's
    ``loss.backward()``) takes none, nor its ``backprop(self, lr=None)``."""
    try:
        params = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
               and not (p.name.lower() in RATE_NAMES and p.default is not p.empty)
               for p in params)


def grad_names_for(name, grad_prefix=None):
    """The attribute names the gradient of parameter ``name`` may have, most usual first
    (``grad_prefix`` given: that prefix alone)."""
    if grad_prefix is not None:
        return (grad_prefix + name,)
    names = []
    for pre, suf in GRAD_NAMINGS:
        names.append(pre + name + suf)
        if pre and not pre.endswith("_") and name[:1].islower():
            names.append(pre + name[:1].upper() + name[1:] + suf)
    return tuple(dict.fromkeys(names))


def looks_like_grad(attr, grad_prefix=None):
    """Could ``attr`` be the gradient of some parameter under one of the namings?"""
    if grad_prefix is not None:
        return attr.startswith(grad_prefix) and len(attr) > len(grad_prefix)
    return any(attr.startswith(pre) and attr.endswith(suf) and len(attr) > len(pre) + len(suf)
               for pre, suf in GRAD_NAMINGS)


def grad_attribute(name, present, grad_prefix=None):
    """The first of ``grad_names_for(name)`` in ``present`` (attribute names), or None."""
    return next((g for g in grad_names_for(name, grad_prefix) if g in present), None)


class BackwardRaised(RuntimeError):
    """The layer's backward raised on the probe's inputs (its forward ran)."""


class ProbeReport(NamedTuple):
    """What one forward/backward on a copy showed.

    written: gradient attribute name -> its shape, for every ndarray attribute
    whose name reads as a gradient (``looks_like_grad``) and that backward wrote (new,
    rebound or changed in place). params: the names ``X`` with a written gradient
    (``dX``, ``grad_X``, ``X_grad``...: ``grad_names_for``), in the order the attributes
    were defined; grad_attrs: each one's gradient attribute. shape_mismatch: the subset of
    params whose ``dX`` does not have ``X``'s shape (a finding for the checks,
    not a reason to drop the parameter). candidates: float array attributes that
    existed before the forward (what a parameter could be). updated: candidates
    whose values backward changed (a layer that updates itself). dicts: (params dict
    attribute, gradients dict attribute, the names backward gave a gradient) for a dict
    of params beside a gradients dict backward made (``self.grads = {...}``), else None.
    """

    written: dict
    params: tuple
    shape_mismatch: tuple
    candidates: tuple
    updated: tuple = ()
    grad_attrs: dict = {}
    dicts: tuple = None


def float_array_attributes(obj):
    """Names of attributes of ``obj`` holding float NumPy arrays, in definition order."""
    return tuple(k for k, v in vars(obj).items()
                 if isinstance(v, np.ndarray) and v.dtype.kind == "f")


def probe_dout(out, seed=0):
    """A fixed, non-constant upstream gradient shaped like ``out`` (all-ones hides too much);
    for a forward returning a tuple of outputs, a tuple of them, one per output."""
    if isinstance(out, tuple):
        return tuple(probe_dout(o, seed + i) for i, o in enumerate(out))
    out = np.asarray(out)
    dtype = out.dtype if out.dtype.kind == "f" else np.float64
    return np.random.default_rng(seed).standard_normal(out.shape).astype(dtype)


def probe_grad_attributes(obj, inputs, dout=None, *, grad_prefix=None, forward_kwargs=None,
                          forward="forward", backward="backward"):
    """Run forward(*inputs) and backward(dout) on a deep copy of ``obj``; return a :class:`ProbeReport`.

    ``dout`` defaults to :func:`probe_dout` of the forward's output (a tuple of
    them, passed as separate arguments, for a forward returning several
    outputs); ``forward`` / ``backward``: the names of the two methods; ``grad_prefix``: the one
    naming of gradients to accept (default: any of ``GRAD_NAMINGS``). Raises a
    RuntimeError naming the layer if it cannot be copied or its forward or
    backward raises.
    """
    label = type(obj).__name__
    try:
        twin = copy.deepcopy(obj)
    except Exception as exc:
        raise RuntimeError(f"{label}: cannot deep-copy the layer to probe its parameters "
                           f"({type(exc).__name__}: {exc}); pass the parameter names explicitly") from exc
    candidates = float_array_attributes(twin)
    lazy = callable(getattr(twin, "build", None))     # Keras style: build() on the first call
    try:
        out = call_keeping(twin, forward, OUTPUT_ATTRS, *inputs, **(forward_kwargs or {}))
    except Exception as exc:
        raise RuntimeError(f"{label}.{forward} raised while probing its parameters: "
                           f"{type(exc).__name__}: {exc}") from exc
    if lazy:           # arrays the first forward built (not an input it kept) may be params
        candidates = tuple(dict.fromkeys([*candidates, *(
            x for x in float_array_attributes(twin) if not any(getattr(twin, x) is a for a in inputs))]))
    before = {k: (v, np.array(v, copy=True)) for k, v in vars(twin).items()
              if looks_like_grad(k, grad_prefix) and isinstance(v, (np.ndarray, np.floating, float))}
    values = {x: np.array(getattr(twin, x), copy=True) for x in candidates}
    dout = probe_dout(out) if dout is None else dout
    kept = {n: getattr(twin, n, None) for n in INPUT_GRAD_ATTRS}
    try:
        method = getattr(twin, backward)
        dx = method(*(dout if isinstance(dout, tuple) else (dout,)) if takes_upstream(method) else ())
    except Exception as exc:
        raise BackwardRaised(f"{label}.backward raised while probing its parameters: "
                           f"{type(exc).__name__}: {exc}") from exc
    written = {}
    dx_attr = rebound(twin, INPUT_GRAD_ATTRS, kept) if dx is None else None   # nnfs's dinputs
    for k, v in vars(twin).items():     # (a scalar's gradient may be a NumPy scalar)
        if k == dx_attr or not (looks_like_grad(k, grad_prefix)
                                and isinstance(v, (np.ndarray, np.floating, float))):
            continue
        old = before.get(k)
        if old is None or old[0] is not v or not np.array_equal(old[1], v, equal_nan=True):
            written[k] = np.shape(v)
    cached = {x for x in candidates if any(getattr(twin, x) is a for a in inputs)}   # self.x = x
    grads = {x: grad_attribute(x, written, grad_prefix) for x in candidates if x not in cached}
    grads = {x: g for x, g in grads.items() if g is not None}
    params = tuple(grads)
    mismatch = tuple(x for x in params if written[grads[x]] != getattr(twin, x).shape)
    updated = tuple(x for x in candidates if x not in params and not (
        isinstance(getattr(twin, x, None), np.ndarray) and getattr(twin, x).shape == values[x].shape
        and np.array_equal(getattr(twin, x), values[x], equal_nan=True)))
    return ProbeReport(written, params, mismatch, candidates, updated, grads,
                       _dicts_made(twin, set(vars(obj))))


def _dicts_made(twin, present):
    """(params dict, gradients dict, names) when backward made a gradients dict (it was not
    among the attributes ``present`` before) keyed by some of a params dict's names: the
    dicts ``views.held_params`` holds once a backward has run."""
    from layers.views import held_params
    held = held_params(twin)
    p_attr, g_attr = (getattr(view, "_attr", None) for view in held or (None, None))
    if g_attr is None or g_attr in present:
        return None
    made, params = getattr(twin, g_attr), getattr(twin, p_attr)
    return (p_attr, g_attr, held[0]._names) if made and set(made) <= set(params) else None


def param_names_by_probe(obj, inputs, dout=None, *, grad_prefix=None, forward_kwargs=None):
    """Names ``X`` of float array attributes whose gradient (``dX``, ``grad_X``...) backward
    wrote with ``X``'s shape.

    Runs on a deep copy (see :func:`probe_grad_attributes`); the user's object is unchanged.
    """
    report = probe_grad_attributes(obj, inputs, dout, grad_prefix=grad_prefix,
                                   forward_kwargs=forward_kwargs)
    return tuple(x for x in report.params if x not in report.shape_mismatch)


def training_switch(obj, method="forward"):
    """How ``obj`` is told training from evaluation: ("kwarg", name), ("attr", name) or (None, None).

    A keyword of the forward named ``train_flg``, ``training`` or ``train`` wins
    (deep-learning-from-scratch's ``forward(x, train_flg=True)``); else an
    attribute of that name on the object.
    """
    fn = getattr(obj, method, None)
    try:
        params = inspect.signature(fn).parameters if fn is not None else {}
    except (TypeError, ValueError):
        params = {}
    for name in TRAINING_NAMES:
        if name in params:
            return "kwarg", name
    for name in TRAINING_NAMES:
        if isinstance(getattr(obj, name, None), (bool, np.bool_, int)):
            return "attr", name
    return None, None


def written_scalars(obj):
    """Names of Python-float attributes whose gradient some method of the class writes or reads
    (``self.T`` beside ``self.dT`` made in backward): params a probe must find."""
    names = set()
    for fn in vars(type(obj)).values():
        names |= set(getattr(getattr(fn, "__code__", None), "co_names", ()))
    return [k for k, v in vars(obj).items() if isinstance(v, (float, np.floating))
            and not isinstance(v, bool) and any(g in names for g in grad_names_for(k))]
