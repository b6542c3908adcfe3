"""Elementwise activations and Softmax. None has params; each keeps the input dtype."""
import numpy as np

from layers.base import Layer, check_input


class ReLU(Layer):
    """max(0, x). Derivative at exactly 0 is 0 (TensorFlow's convention)."""

    def forward(self, x):
        check_input(self, "x", x)
        self._mask = x > 0
        return np.where(self._mask, x, np.zeros((), x.dtype))

    def backward(self, dout):
        return np.where(self._mask, dout, np.zeros((), dout.dtype))


class LeakyReLU(Layer):
    """x for x > 0, alpha * x otherwise. Derivative at exactly 0 is alpha (as TF's leaky_relu)."""

    def __init__(self, alpha=0.01):
        super().__init__()
        if not 0 <= alpha < 1:
            raise ValueError(f"LeakyReLU: alpha must lie in [0, 1), got {alpha!r}")
        self.alpha = float(alpha)

    def forward(self, x):
        check_input(self, "x", x)
        self._mask = x > 0
        return np.where(self._mask, x, x * x.dtype.type(self.alpha))

    def backward(self, dout):
        return np.where(self._mask, dout, dout * dout.dtype.type(self.alpha))


class Sigmoid(Layer):
    """1 / (1 + exp(-x)), evaluated without overflow for large |x|."""

    def forward(self, x):
        check_input(self, "x", x)
        e = np.exp(-np.abs(x))
        self._out = np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)
        return self._out

    def backward(self, dout):
        return dout * self._out * (1 - self._out)


class Tanh(Layer):
    def forward(self, x):
        check_input(self, "x", x)
        self._out = np.tanh(x)
        return self._out

    def backward(self, dout):
        return dout * (1 - self._out ** 2)


class Softmax(Layer):
    """Softmax over the last axis. x: (..., C) -> out: (..., C), rows summing to 1."""

    def forward(self, x):
        check_input(self, "x", x)
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        self._out = e / e.sum(axis=-1, keepdims=True)
        return self._out

    def backward(self, dout):
        y = self._out
        return y * (dout - (dout * y).sum(axis=-1, keepdims=True))
