"""Layers following the project's protocol: params / grads dicts, with ONE bug.

Bug: Tanh's backward uses the cached INPUT where the derivative needs the
output: dout * (1 - x**2) instead of dout * (1 - tanh(x)**2).
Check: the property battery's grads_tf / grads_fd fail Tanh's dx ("layer bug");
Dense passes.
"""
import numpy as np


class Dense:
    def __init__(self, n_in, n_out, rng):
        self.params = {"W": rng.standard_normal((n_in, n_out)) / np.sqrt(n_in),
                       "b": np.zeros(n_out)}
        self.grads = {}
        self.training = True

    def forward(self, x):
        self.x = x
        return x @ self.params["W"] + self.params["b"]

    def backward(self, dout):
        self.grads["W"] = self.x.T @ dout
        self.grads["b"] = dout.sum(axis=0)
        return dout @ self.params["W"].T


class Tanh:
    def __init__(self):
        self.params, self.grads, self.training = {}, {}, True

    def forward(self, x):
        self.x = x
        return np.tanh(x)

    def backward(self, dout):
        return dout * (1.0 - self.x ** 2)
