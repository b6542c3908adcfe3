"""Layers that only move elements around."""
from layers.base import Layer, check_input


class Flatten(Layer):
    """x: (N, ...) -> (N, prod(...)); dx is dout reshaped back to x's shape."""

    def forward(self, x):
        check_input(self, "x", x, ndim_min=1)
        self._x_shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dout):
        return dout.reshape(self._x_shape)
