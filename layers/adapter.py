"""Check a layer written in the seeds' style without rewriting it.

Seed layers keep ``self.W`` and write ``self.dW`` in ``backward``; they have no
``params`` dict. :class:`AttributeLayer` wraps such an object and presents the
protocol: ``params`` and ``grads`` are live views onto its attributes, so an
update through ``params`` reaches the wrapped layer and nothing is copied.
"""
from collections.abc import MutableMapping

import numpy as np

from layers.base import Layer


class _AttrView(MutableMapping):
    """A mapping whose item ``name`` is the attribute ``prefix + name`` of ``obj``."""

    def __init__(self, obj, names, prefix, owner):
        self._obj, self._names, self._prefix, self._owner = obj, names, prefix, owner

    def __getitem__(self, name):
        if name not in self._names:
            raise KeyError(name)
        attr = self._prefix + name
        value = getattr(self._obj, attr, None)
        if value is None:
            raise KeyError(f"{self._owner}: attribute {attr!r} is missing or None"
                           + (" (backward has not set it)" if self._prefix else ""))
        return value

    def __setitem__(self, name, value):
        if name not in self._names:
            raise KeyError(f"{self._owner}: no parameter {name!r}; known: {list(self._names)}")
        setattr(self._obj, self._prefix + name, value)

    def __delitem__(self, name):
        raise TypeError(f"{self._owner}: parameters of an adapted layer cannot be deleted")

    def __iter__(self):
        return iter(self._names)

    def __len__(self):
        return len(self._names)


def find_param_names(obj, grad_prefix="d"):
    """Names ``X`` of ndarray attributes that have a matching ``dX`` attribute (maybe None)."""
    return tuple(sorted(name for name, value in vars(obj).items()
                        if isinstance(value, np.ndarray) and hasattr(obj, grad_prefix + name)))


class AttributeLayer(Layer):
    """Protocol view of a seed-style layer: ``self.W`` / ``self.dW`` become params / grads.

    ``names`` lists the parameter attributes; by default every ndarray attribute
    ``X`` with a ``dX`` attribute beside it (``W``/``dW``, ``b``/``db``).
    """

    def __init__(self, layer, names=None, grad_prefix="d", input_names=("x",)):
        self.layer = layer
        self.input_names = tuple(input_names)
        label = f"AttributeLayer({type(layer).__name__})"
        if not callable(getattr(layer, "forward", None)) or not callable(getattr(layer, "backward", None)):
            raise TypeError(f"{label}: the wrapped object needs forward() and backward() methods")
        names = find_param_names(layer, grad_prefix) if names is None else tuple(names)
        for name in names:
            if not isinstance(getattr(layer, name, None), np.ndarray):
                raise ValueError(f"{label}: parameter attribute {name!r} is not a NumPy array")
        self.params = _AttrView(layer, names, "", label)
        self.grads = _AttrView(layer, names, grad_prefix, label)

    @property
    def name(self):
        return type(self.layer).__name__

    @property
    def training(self):
        return getattr(self.layer, "training", True)

    @training.setter
    def training(self, value):
        if hasattr(self.layer, "training"):
            self.layer.training = value

    def forward(self, *inputs):
        return self.layer.forward(*inputs)

    def backward(self, *args):
        return self.layer.backward(*args)

    def __getattr__(self, attr):
        # Hyperparameters (stride, pad, alpha, ...) are read off the wrapped layer.
        if attr == "layer":
            raise AttributeError(attr)
        return getattr(self.layer, attr)

    def __repr__(self):
        return f"AttributeLayer({type(self.layer).__name__}, params={list(self.params)})"
