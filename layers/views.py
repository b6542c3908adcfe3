"""Live views onto where a user's layer keeps its parameters and gradients: attributes, paths
into sublayers, two lists, a dict beside a gradients dict, hand-written Parameters' ``.data``
and ``.grad``. Reading gives the very arrays; assigning rebinds them in the user's object.
"""
from collections.abc import MutableMapping

import numpy as np

from layers.nested import assign, resolve


class _PathView(MutableMapping):
    """A mapping ``"fc1.W"`` -> the array at that path below ``obj`` (a sublayer's weight, or its
    gradient: ``layers.nested``)."""

    def __init__(self, obj, paths, owner, grads=False):
        self._obj, self._paths, self._owner, self._grads = obj, dict(paths), owner, grads

    def _what(self, name):
        return name

    def __getitem__(self, name):
        if name not in self._paths:
            raise KeyError(name)
        try:
            value = resolve(self._obj, self._paths[name])
        except (AttributeError, KeyError, IndexError, TypeError):
            value = None
        if value is None:
            raise KeyError(f"{self._owner}: {self._what(name)} is missing or None"
                           + (" (backward has not set it)" if self._grads else ""))
        return value

    def __setitem__(self, name, value):
        if name not in self._paths:
            raise KeyError(f"{self._owner}: no parameter {name!r}; known: {list(self._paths)}")
        assign(self._obj, self._paths[name], value)

    def __delitem__(self, name):
        raise TypeError(f"{self._owner}: parameters of an adapted layer cannot be deleted")

    def __iter__(self):
        return iter(self._paths)

    def __len__(self):
        return len(self._paths)


class _AttrView(_PathView):
    """A mapping whose item ``name`` is the attribute ``attrs[name]`` of ``obj``."""

    def __init__(self, obj, attrs, owner, grads=False):
        super().__init__(obj, {n: (("attr", a),) for n, a in dict(attrs).items()}, owner, grads)

    def _what(self, name):
        return f"attribute {self._paths[name][0][1]!r}"


class _NamedView(MutableMapping):
    """A fixed set of ``_names``: nothing can be deleted, iteration is in their order."""

    def __delitem__(self, name):
        raise TypeError("parameters of an adapted layer cannot be deleted")

    def __iter__(self):
        return iter(self._names)

    def __len__(self):
        return len(self._names)


class _ListView(_NamedView):
    """A mapping ``"params[i]"`` -> the i-th array of the list attribute ``attr`` of ``obj``
    (deep-learning-from-scratch 2's ``self.params = [W, b]``, ``self.grads = [dW, db]``)."""

    def __init__(self, obj, attr, names):
        self._obj, self._attr, self._names = obj, attr, tuple(names)

    def __getitem__(self, name):
        if name not in self._names:
            raise KeyError(name)
        return getattr(self._obj, self._attr)[self._names.index(name)]

    def __setitem__(self, name, value):
        if name not in self._names:
            raise KeyError(name)
        getattr(self._obj, self._attr)[self._names.index(name)] = value


def list_params(obj):
    """``("params[0]", ...)`` when ``obj`` keeps its parameters and gradients in two lists of
    arrays of equal length (``self.params = [W]``, ``self.grads = [np.zeros_like(W)]``), else
    None."""
    params, grads = getattr(obj, "params", None), getattr(obj, "grads", None)
    if not isinstance(params, list) or not isinstance(grads, list) or not params or \
            len(params) != len(grads):
        return None
    if not all(isinstance(p, np.ndarray) and p.dtype.kind == "f" for p in params):
        return None
    return tuple(f"params[{i}]" for i in range(len(params)))


class _HeldView(_NamedView):
    """A mapping ``name`` -> an array held inside an attribute of ``obj``: ``obj.<attr>[name]``
    for a dict (``self.weights['W']`` beside ``self.gradients['W']``), or the field ``field``
    of the object ``obj.<name>`` (PyTorch style: ``self.weight.data`` / ``self.weight.grad``)."""

    def __init__(self, obj, names, *, attr=None, field=None):
        self._obj, self._names, self._attr, self._field = obj, tuple(names), attr, field

    def __getitem__(self, name):
        if name not in self._names:
            raise KeyError(name)
        if self._attr is not None:
            return getattr(self._obj, self._attr)[name]
        value = getattr(getattr(self._obj, name), self._field)
        if value is None:
            raise KeyError(f"{name}.{self._field} is None (backward has not set it)")
        return value

    def __setitem__(self, name, value):
        if name not in self._names:
            raise KeyError(name)
        if self._attr is not None:
            getattr(self._obj, self._attr)[name] = value
        else:
            setattr(getattr(self._obj, name), self._field, value)


PARAM_DICTS = ("params", "weights", "parameters", "param", "W")
GRAD_DICTS = ("grads", "gradients", "grad", "dparams", "d_params", "param_grads", "dW")


def grads_dict_made(obj, backward="backward"):
    """True for a params dict whose gradients dict backward makes (``self.grads = {...}``
    first assigned there): not held as dicts until a backward has run."""
    code = getattr(getattr(type(obj), backward, None), "__code__", None)
    return held_params(obj) is None and code is not None and any(
        isinstance(getattr(obj, p, None), dict) for p in PARAM_DICTS) and any(
        g in code.co_names and not hasattr(obj, g) for g in GRAD_DICTS)


def held_params(obj):
    """(params view, grads view) for parameters held in containers, else None: a dict of float
    arrays (``self.weights``) beside a gradients dict (``self.gradients``: there at
    construction, maybe empty), or attributes that are objects with a float array ``.data``
    and a ``.grad`` (PyTorch's Parameter, written by hand)."""
    for p_attr in PARAM_DICTS:
        held = getattr(obj, p_attr, None)
        if isinstance(held, dict) and held and all(
                isinstance(v, np.ndarray) and v.dtype.kind == "f" for v in held.values()):
            g_attr = next((g for g in GRAD_DICTS if g != p_attr and isinstance(getattr(obj, g, None), dict)), None)
            if g_attr is not None:
                # a gradients dict already filled names the trainable ones (numpy-ml's batch
                # norm keeps its running statistics among its parameters, with no gradient)
                grads = getattr(obj, g_attr)
                names = tuple(k for k in held if k in grads) if set(grads) & set(held) \
                    else tuple(held)
                return _HeldView(obj, names, attr=p_attr), _HeldView(obj, names, attr=g_attr)
    objects = tuple(k for k, v in vars(obj).items() if not isinstance(v, np.ndarray)
                    and isinstance(getattr(v, "data", None), np.ndarray)
                    and getattr(v, "data").dtype.kind == "f" and hasattr(v, "grad"))
    if objects:
        return _HeldView(obj, objects, field="data"), _HeldView(obj, objects, field="grad")
    return None


def lazy_dicts(obj):
    """A dict of params its first forward fills (``{"W": None, "b": None}``) beside a
    gradients dict (numpy-ml's layers)."""
    return any(isinstance(d, dict) and d and any(v is None for v in d.values())
               for d in (getattr(obj, a, None) for a in PARAM_DICTS)) and \
        any(isinstance(getattr(obj, g, None), dict) for g in GRAD_DICTS)


class _ListsView(_NamedView):
    """A mapping ``"Ws[i]"`` -> the i-th array of the list attribute ``Ws`` of ``obj`` (with
    ``grads``, of the gradient list beside it: ``pairs['Ws']``, maybe made by backward only:
    reading it before is a KeyError)."""

    def __init__(self, obj, pairs, names, grads=False):
        self._obj, self._pairs, self._names, self._grads = obj, dict(pairs), tuple(names), grads

    def _list(self, name):
        if name not in self._names:
            raise KeyError(name)
        attr, index = name[:-1].split("[")
        held = getattr(self._obj, self._pairs[attr] if self._grads else attr, None)
        if not isinstance(held, list) or len(held) <= int(index):
            raise KeyError(f"{name}: {self._pairs[attr] if self._grads else attr} holds no "
                           f"item {index} (backward has not set it)")
        return held, int(index)

    def __getitem__(self, name):
        held, index = self._list(name)
        return held[index]

    def __setitem__(self, name, value):
        held, index = self._list(name)
        held[index] = value


def list_pairs(obj, written, grad_names_for):
    """{list attribute: its gradient list attribute} for the lists of float arrays ``obj``
    keeps (``self.Ws = [W1, W2]``, a maxout's pieces) whose gradient list (``dWs``) is there
    already or is one the backward writes (``written``: the names its code assigns), else {}."""
    pairs = {}
    for name, value in vars(obj).items():
        if isinstance(value, list) and value and all(
                isinstance(a, np.ndarray) and a.dtype.kind == "f" for a in value):
            grad = next((g for g in grad_names_for(name) if g in written or
                         isinstance(getattr(obj, g, None), list)), None)
            if grad is not None and grad != name:
                pairs[name] = grad
    return pairs


def list_pair_views(obj, pairs):
    """(params view, grads view) over ``pairs`` (:func:`list_pairs`)."""
    names = tuple(f"{a}[{i}]" for a in pairs for i in range(len(getattr(obj, a))))
    return _ListsView(obj, pairs, names), _ListsView(obj, pairs, names, grads=True)
