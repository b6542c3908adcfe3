"""Sequential: a stack of layers with a loss on top.

``params`` and ``grads`` are flat, live views of every layer's arrays under
stable names ``"<index>.<name>"`` ("0.W", "2.b", ...): an optimizer that updates
``net.params["0.W"]`` in place changes what the next forward computes, and
nothing is copied at construction.
"""
from collections.abc import MutableMapping

from layers.base import Layer


class _FlatView(MutableMapping):
    def __init__(self, layers, attr):
        self._layers, self._attr = layers, attr

    def _split(self, key):
        index, _, name = key.partition(".")
        if not index.isdigit() or int(index) >= len(self._layers) or not name:
            raise KeyError(f"{key!r} is not a parameter name of the form '<layer index>.<name>'")
        return self._layers[int(index)], name

    def __getitem__(self, key):
        layer, name = self._split(key)
        return getattr(layer, self._attr)[name]

    def __setitem__(self, key, value):
        layer, name = self._split(key)
        if name not in layer.params:
            raise KeyError(f"layer {key.partition('.')[0]} ({type(layer).__name__}) has no "
                           f"parameter {name!r}")
        getattr(layer, self._attr)[name] = value

    def __delitem__(self, key):
        raise TypeError("parameters of a Sequential cannot be deleted")

    def __iter__(self):
        for i, layer in enumerate(self._layers):
            for name in layer.params:
                yield f"{i}.{name}"

    def __len__(self):
        return sum(len(layer.params) for layer in self._layers)


class Sequential(Layer):
    """layers applied in order, then ``loss``. x: (N, ...) -> logits; loss(x, t) -> scalar.

    ``forward(x)`` returns the last layer's output; ``loss_forward(x, t)`` also
    applies the loss; ``backward(dout)`` runs every layer's backward in reverse
    order (from the loss when ``loss_forward`` was the last call) and returns dx.
    """

    def __init__(self, layers, loss=None):
        self.layers = list(layers)
        super().__init__()
        self.loss = loss
        self.params = _FlatView(self.layers, "params")
        self.grads = _FlatView(self.layers, "grads")
        self._from_loss = False

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
        self._from_loss = False
        return x

    def loss_forward(self, x, t):
        if self.loss is None:
            raise ValueError("Sequential.loss_forward: this network has no loss")
        value = self.loss.forward(self.forward(x), t)
        self._from_loss = True
        return value

    def backward(self, dout=1.0):
        if self._from_loss:
            dout = self.loss.backward(dout)
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout
