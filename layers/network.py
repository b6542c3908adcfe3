"""Sequential: a stack of layers with a loss on top.

``params`` and ``grads`` are flat, live views of every layer's arrays under
stable names ``"<index>.<name>"`` ("0.W", "2.b", ...): an optimizer that updates
``net.params["0.W"]`` in place (or assigns a new array of the same shape)
changes what the next forward computes, and nothing is copied at construction.
"""
from collections.abc import MutableMapping

import numpy as np

from layers.base import Layer


class _FlatView(MutableMapping):
    """``"<i>.<name>"`` -> ``layers[i].<attr>[name]``; reads and writes go to the layers."""

    def __init__(self, layers, attr):
        self._layers, self._attr = layers, attr

    def _split(self, key):
        index, _, name = str(key).partition(".")
        if not index.isdigit() or int(index) >= len(self._layers) or not name:
            raise KeyError(f"{key!r} is not a parameter name of the form '<layer index>.<name>' "
                           f"with an index below {len(self._layers)}")
        layer = self._layers[int(index)]
        if name not in layer.params:
            raise KeyError(f"layer {index} ({type(layer).__name__}) has no parameter {name!r}; "
                           f"its parameters: {list(layer.params)}")
        return layer, name

    def __getitem__(self, key):
        layer, name = self._split(key)
        try:
            return getattr(layer, self._attr)[name]
        except KeyError:
            raise KeyError(f"no {self._attr[:-1]} {key!r} yet: run backward first") from None

    def __setitem__(self, key, value):
        layer, name = self._split(key)
        old = np.shape(layer.params[name])
        if np.shape(value) != old:
            raise ValueError(f"Sequential.{self._attr}[{key!r}]: new value has shape "
                             f"{np.shape(value)}, the parameter has shape {old}")
        getattr(layer, self._attr)[name] = value

    def __delitem__(self, key):
        raise TypeError("parameters of a Sequential cannot be deleted")

    def __iter__(self):
        for i, layer in enumerate(self._layers):
            for name in layer.params:
                yield f"{i}.{name}"

    def __len__(self):
        return sum(len(layer.params) for layer in self._layers)


def _check_layer(what, obj):
    for method in ("forward", "backward"):
        if not callable(getattr(obj, method, None)):
            raise TypeError(f"Sequential: {what} ({type(obj).__name__}) has no {method}() method")
    if not isinstance(getattr(obj, "params", None), MutableMapping):
        raise TypeError(f"Sequential: {what} ({type(obj).__name__}) has no params mapping")


class Sequential(Layer):
    """``layers`` applied in order, then ``loss``. x: (N, ...) -> last layer's output.

    ``forward(x)`` returns the last layer's output; ``loss_forward(x, t)`` also
    applies the loss and returns the scalar; ``backward(dout)`` runs every
    layer's backward in reverse order (starting at the loss when
    ``loss_forward`` was the last call, with ``dout`` the gradient of the loss,
    default 1.0) and returns dx, the gradient with respect to x.
    """

    def __init__(self, layers, loss=None):
        layers, seen = list(layers), {}
        for i, layer in enumerate(layers):
            _check_layer(f"layer {i}", layer)
            if id(layer) in seen:
                raise ValueError(f"Sequential: layer {i} is the same object as layer {seen[id(layer)]}; "
                                 "a layer caches its forward for backward, so build a new one")
            seen[id(layer)] = i
        if loss is not None:
            _check_layer("the loss", loss)
        self.layers, self.loss = layers, loss
        # No Layer.__init__: its ``training = True`` would reset the layers' own flags.
        self.params = _FlatView(self.layers, "params")
        self.grads = _FlatView(self.layers, "grads")
        self._last = None       # "forward" or "loss" once a forward has run

    @property
    def training(self):
        return all(getattr(layer, "training", True) for layer in self.layers)

    @training.setter
    def training(self, value):
        for layer in self.layers:
            layer.training = value

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        self._last = "forward"
        return x

    def loss_forward(self, x, t):
        """x: (N, ...), t: the loss's targets -> the scalar loss."""
        if self.loss is None:
            raise ValueError("Sequential.loss_forward: this network has no loss")
        value = self.loss.forward(self.forward(x), t)
        self._last = "loss"
        return value

    def backward(self, dout=1.0):
        """dout: gradient of the loss (scalar) after loss_forward, else of the output -> dx."""
        if self._last is None:
            raise RuntimeError("Sequential.backward: call forward or loss_forward first")
        if self._last == "loss":
            dout = self.loss.backward(dout)
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout

    def __repr__(self):
        inner = ", ".join(repr(layer) for layer in self.layers)
        return f"Sequential([{inner}], loss={self.loss!r})"
