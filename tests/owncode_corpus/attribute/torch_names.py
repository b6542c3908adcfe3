"""Layers written with PyTorch's names: ``weight`` / ``bias`` and ``grad_weight`` / ``bias_grad``.

A new user's file: the harness must find these parameters by their gradients' names
(not only ``dW``), or it checks dx alone and misses every bug in a parameter gradient.
``Linear`` and ``GuardedXent`` are correct (the loss adds 1e-12 inside the log: a
convention, named as such); ``MeanBiasLinear`` averages the bias gradient over the
batch (caught by grads_tf, layer bug); ``TransposedLinear`` writes dW transposed for a
square weight (caught by grads_tf, layer bug).
"""
import numpy as np


class Linear:
    def __init__(self, n_in=4, n_out=3):
        g = np.random.default_rng(1)
        self.weight = g.standard_normal((n_in, n_out)) * np.sqrt(2.0 / n_in)
        self.bias = np.zeros(n_out)
        self.grad_weight = None
        self.grad_bias = None

    def forward(self, x):
        self._inp = x
        return x @ self.weight + self.bias

    def backward(self, dout):
        self.grad_weight = self._inp.T @ dout
        self.grad_bias = dout.sum(axis=0)
        return dout @ self.weight.T


class MeanBiasLinear:
    def __init__(self, n_in=4, n_out=3):
        g = np.random.default_rng(2)
        self.weight = g.standard_normal((n_in, n_out))
        self.bias = g.standard_normal(n_out)

    def forward(self, x):
        self._inp = x
        return x @ self.weight + self.bias

    def backward(self, dout):
        self.weight_grad = self._inp.T @ dout
        self.bias_grad = dout.mean(axis=0)          # BUG: the batch's gradients are summed
        return dout @ self.weight.T


class TransposedLinear(Linear):
    def __init__(self, width=5):
        super().__init__(width, width)

    def backward(self, dout):
        self.grad_weight = dout.T @ self._inp       # BUG: transposed
        self.grad_bias = dout.sum(axis=0)
        return dout @ self.weight.T


class GuardedXent:
    """Mean softmax cross-entropy over the batch; labels one-hot; 1e-12 against log(0)."""

    def forward(self, logits, labels):
        z = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(z)
        self._p = e / e.sum(axis=1, keepdims=True)
        self._t = labels
        return -np.sum(labels * np.log(self._p + 1e-12)) / logits.shape[0]

    def backward(self, dout=1.0):
        return dout * (self._p - self._t) / self._p.shape[0]
