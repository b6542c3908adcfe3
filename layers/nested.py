"""Parameters a layer keeps in its sublayers: a block written from objects of its own.

A block (``MLPBlock`` holding ``self.fc1 = Linear(...)``, a ``Sequential`` holding
``self.layers = [Linear(...), ReLU(), ...]``) has no weights of its own; its
sublayers' weights are its parameters, and the gradients its backward leaves in
them (``self.fc1.dW``) are its gradients. They are named the way PyTorch names a
module's parameters: the path to the sublayer, then the parameter (``fc1.W``,
``layers.0.W``, ``blocks.attn.Wq``); a sublayer keeping ``params`` / ``grads``
dicts gives ``fc1.W`` for ``fc1.params['W']`` too, and one holding hand-written
PyTorch Parameters ``fc1.weight`` for ``fc1.weight.data`` (its gradient ``.grad``).

:func:`nested_pairs` finds the ones declared before any backward (``self.dW``
made in ``__init__``), :func:`probe_nested_pairs` the ones a backward writes, on a
deep copy. A sublayer reached twice (one object under two names) is found once; a
weight array two sublayers share (tied weights) is not a param: which gradient stands
for it (either sublayer's, or their sum) is the block's training loop's choice.
"""
import copy
import types

import numpy as np

from layers.attribute_probe import float_array_attributes, grad_attribute, looks_like_grad

MAX_DEPTH = 3
_NOT_SUBLAYERS = (np.ndarray, np.generic, np.random.Generator, np.random.RandomState, type,
                  types.ModuleType, types.FunctionType, types.MethodType, str, bytes, int, float,
                  complex, bool, type(None))
PARAM_DICTS = ("params", "weights", "parameters")
GRAD_DICTS = ("grads", "gradients", "dparams", "param_grads")


def sublayers(obj, depth=MAX_DEPTH):
    """[(steps, sub)] for the objects ``obj`` holds in attributes, or in lists, tuples and dicts
    there (``self.layers = [...]``), down to ``depth`` levels, each object once, in the order
    the attributes were defined. ``steps`` is a tuple of ("attr", name) / ("item", key)."""
    found, seen = [], {id(obj)}

    def walk(o, steps, d):
        if d == 0:
            return
        if isinstance(o, dict):
            children = [(("item", k), v) for k, v in o.items() if isinstance(k, (str, int))]
        elif isinstance(o, (list, tuple)):
            children = [(("item", i), v) for i, v in enumerate(o)]
        else:
            children = [(("attr", k), v) for k, v in vars(o).items()]
        for step, child in children:
            if isinstance(child, _NOT_SUBLAYERS) or id(child) in seen:
                continue
            seen.add(id(child))
            if isinstance(child, (list, tuple, dict)):
                walk(child, steps + (step,), d)
            elif hasattr(child, "__dict__") and callable(getattr(child, "forward", None) or
                                                        getattr(child, "__call__", None)):
                found.append((steps + (step,), child))
                walk(child, steps + (step,), d - 1)

    if hasattr(obj, "__dict__"):
        walk(obj, (), depth)
    return found


def resolve(obj, steps):
    """The object at ``steps`` below ``obj``."""
    for kind, key in steps:
        obj = getattr(obj, key) if kind == "attr" else obj[key]
    return obj


def assign(obj, steps, value):
    """Set the attribute or item at ``steps`` below ``obj`` to ``value``."""
    holder, (kind, key) = resolve(obj, steps[:-1]), steps[-1]
    if kind == "attr":
        setattr(holder, key, value)
    else:
        holder[key] = value


def dotted(steps):
    """``fc1.W``, ``layers.0.W``: a path as PyTorch names a module's parameters."""
    return ".".join(str(key) for _, key in steps)


def _dict_pairs(sub):
    """[(param name, param steps, grad steps)] of a sublayer keeping params and grads dicts."""
    for p_attr in PARAM_DICTS:
        held = getattr(sub, p_attr, None)
        if isinstance(held, dict) and held and all(
                isinstance(v, np.ndarray) and v.dtype.kind == "f" for v in held.values()):
            g_attr = next((g for g in GRAD_DICTS if isinstance(getattr(sub, g, None), dict)), None)
            if g_attr is not None:
                return [(k, (("attr", p_attr), ("item", k)), (("attr", g_attr), ("item", k)))
                        for k in held]
    return []


def _parameter_pairs(sub):
    """[(param name, param steps, grad steps)] of a sublayer holding PyTorch-style Parameters
    written by hand (``self.weight.data`` beside ``self.weight.grad``)."""
    return [(k, (("attr", k), ("attr", "data")), (("attr", k), ("attr", "grad")))
            for k, v in vars(sub).items() if not isinstance(v, np.ndarray) and hasattr(v, "grad")
            and isinstance(getattr(v, "data", None), np.ndarray) and v.data.dtype.kind == "f"]


def _declared(sub, grad_prefix=None):
    """[(param name, param steps, grad steps)] a sublayer shows before any backward."""
    pairs = _dict_pairs(sub) or _parameter_pairs(sub)
    if pairs:
        return pairs
    present = set(vars(sub))
    out = []
    for name in float_array_attributes(sub):
        g = grad_attribute(name, present, grad_prefix)
        if g is not None:
            out.append((name, (("attr", name),), (("attr", g),)))
    return out


def _checked(obj, pairs):
    """``pairs`` without the weights several sublayers share (tied: the block's gradient for one
    may be either sublayer's, or their sum, as its training loop adds them; it stays a constant
    of the block, untouched by the checks, which set each param through one path); None when
    none are left."""
    by_array = {}
    for name, (p, _) in pairs.items():
        by_array.setdefault(id(resolve(obj, p)), []).append(name)
    kept = {n: pairs[n] for names in by_array.values() if len(names) == 1 for n in names}
    return kept or None


def has_nested_arrays(obj):
    """Whether a sublayer of ``obj`` holds float arrays (weights a probe may show to be params)."""
    return any(float_array_attributes(sub) or _dict_pairs(sub) or _parameter_pairs(sub)
               for _, sub in sublayers(obj))


def nested_pairs(obj, grad_prefix=None):
    """{dotted name: (param steps, grad steps)} of the parameters ``obj``'s sublayers declare with
    their gradients before any backward (``self.dW`` made in ``__init__``, or params / grads
    dicts); None when there are none."""
    pairs = {}
    for steps, sub in sublayers(obj):
        for name, p, g in _declared(sub, grad_prefix):
            pairs[f"{dotted(steps)}.{name}"] = (steps + p, steps + g)
    return _checked(obj, pairs)


def probe_nested_pairs(obj, inputs, dout_for, *, forward="forward", backward="backward",
                       forward_kwargs=None, grad_prefix=None):
    """As :func:`nested_pairs`, for gradients a backward writes: forward(*inputs) and backward on
    a deep copy (``dout_for(out)`` gives backward's arguments); a float array a sublayer had
    before the forward is a parameter when the backward wrote its gradient (``dX``...).
    Raises what the layer raises."""
    twin = copy.deepcopy(obj)
    subs = sublayers(twin)
    declared = {id(sub): _declared(sub, grad_prefix) for _, sub in subs}
    candidates = {id(sub): float_array_attributes(sub) for _, sub in subs}
    before = {id(sub): {k: (v, np.array(v, copy=True)) for k, v in vars(sub).items()
                        if looks_like_grad(k, grad_prefix) and isinstance(v, np.ndarray)}
              for _, sub in subs}
    out = getattr(twin, forward)(*inputs, **(forward_kwargs or {}))
    getattr(twin, backward)(*dout_for(out))
    pairs = {}
    for steps, sub in subs:
        found = declared[id(sub)]
        if not found:
            written = set()
            for k, v in vars(sub).items():
                old = before[id(sub)].get(k)
                if looks_like_grad(k, grad_prefix) and isinstance(v, np.ndarray) and (
                        old is None or old[0] is not v or not np.array_equal(old[1], v, equal_nan=True)):
                    written.add(k)
            cached = {x for x in candidates[id(sub)] if any(getattr(sub, x) is a for a in inputs)}
            for name in candidates[id(sub)]:
                g = grad_attribute(name, written, grad_prefix)
                if g is not None and name not in cached:
                    found.append((name, (("attr", name),), (("attr", g),)))
        for name, p, g in found:
            pairs[f"{dotted(steps)}.{name}"] = (steps + p, steps + g)
    return _checked(obj, pairs) if pairs else None


def arrays_within(obj):
    """The float arrays ``obj`` holds, its own first, then its sublayers' (what its inputs may be
    sized from)."""
    own = [getattr(obj, k) for k in float_array_attributes(obj)] if hasattr(obj, "__dict__") else []
    return own + [resolve(sub, p) for _, sub in sublayers(obj)
                  for p in [(("attr", k),) for k in float_array_attributes(sub)]
                  + [p for _, p, _ in _parameter_pairs(sub)]]
