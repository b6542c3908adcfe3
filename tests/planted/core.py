"""Broken variants of the core layers and losses; each docstring names its one bug."""
import numpy as np
from hypothesis import strategies as st

import layers as L
from properties.catalog.core import SHAPES, class_labels, dense, stateless
from properties.registry import Entry, register


class DenseTransposedDW(L.Dense):
    """Bug: dW = dout^T x, the transpose of x^T dout (silent when D == M)."""

    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["W"] = dout.T @ self._x2
        return dx


class DenseBiasMean(L.Dense):
    """Bug: db averaged over the batch instead of summed."""

    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["b"] = dout.mean(axis=0)
        return dx


class ReLUGradAtZeroIsOne(L.ReLU):
    """Bug (kink convention): the mask is x >= 0, so ReLU'(0) = 1 where TF says 0."""

    def forward(self, x):
        self._mask = x >= 0
        return np.where(x > 0, x, np.zeros((), x.dtype))


class LeakyReLUSlopeOne(L.LeakyReLU):
    """Bug (a new user's): every gradient passes with slope 1, negatives included; the mask is
    x < 0, so at exactly 0 the slope is 1 where TF's is alpha (a kink convention on its own).
    Shrinking drives inputs to 0: the failure must still be reported where x < 0."""

    def forward(self, x):
        self._neg = x < 0
        return np.where(self._neg, x * x.dtype.type(self.alpha), x)

    def backward(self, dout):
        return np.where(self._neg, dout, dout)


class ReLUMutatesDout(L.ReLU):
    """Bug (from seed 004): ``dout[mask] = 0`` writes into the caller's array."""

    def backward(self, dout):
        dout[~self._mask] = 0
        return dout


class SigmoidWrongDerivative(L.Sigmoid):
    """Bug: uses y * (1 + y) instead of y * (1 - y)."""

    def backward(self, dout):
        return dout * self._out * (1 + self._out)


class SoftmaxCEIgnoresDout(L.SoftmaxCrossEntropy):
    """Bug: backward(dout) ignores dout (the seeds' ``backward(self, dout=1)``)."""

    def backward(self, dout=1.0):
        return (self._p - self._t) / self._n


class SoftmaxCEMissingMean(L.SoftmaxCrossEntropy):
    """Bug: forward averages over the batch but backward forgets the 1/N."""

    def backward(self, dout=1.0):
        return (self._p - self._t) * self._p.dtype.type(dout)


class MSEMissingMean(L.MSE):
    """Bug: dx = 2 (x - t) dout, missing the 1/size of the mean."""

    def backward(self, dout=1.0):
        return self._diff * self._diff.dtype.type(2 * dout)


class SigmoidFloat64Creep(L.Sigmoid):
    """Bug (dtype): ``np.float64(1) - y`` turns a float32 backward into float64; values stay right."""

    def backward(self, dout):
        return dout * self._out * (np.float64(1.0) - self._out)


class MSEStaleSize(L.MSE):
    """Bug (stale cache): the element count is cached by the first forward and never updated."""

    def forward(self, x, t):
        out = super().forward(x, t)
        if getattr(self, "_size", None) is None:
            self._size = x.size
        return out

    def backward(self, dout=1.0):
        d = self._diff
        return d * (d.dtype.type(2 * dout) / self._size)


def _as(cls, build):
    """Build the correct layer, then give it the broken class (same params, same rng draws)."""
    def make(config, rng, dtype):
        layer = build(config, rng, dtype)
        layer.__class__ = cls
        return layer
    return make


SQUARE = st.integers(1, 4).map(lambda d: {"shape": (d,), "out": d})
CE = st.fixed_dictionaries({"classes": st.integers(2, 5), "labels": st.sampled_from(["int", "onehot"])})


def ce_shape(config, n):
    return [(n, config["classes"])]


def mse_targets(config, n, rng, dtype):
    return (rng.standard_normal((n, *config["shape"])).astype(dtype),)


for entry in [
    Entry("planted.DenseTransposedDW", _as(DenseTransposedDW, dense), SQUARE),
    Entry("planted.DenseBiasMean", _as(DenseBiasMean, dense), SQUARE),
    Entry("planted.ReLUGradAtZeroIsOne", stateless(ReLUGradAtZeroIsOne), SHAPES),
    Entry("planted.ReLUMutatesDout", stateless(ReLUMutatesDout), SHAPES),
    Entry("planted.LeakyReLUSlopeOne", stateless(LeakyReLUSlopeOne, "alpha"),
          st.fixed_dictionaries({"shape": st.just((5,)), "alpha": st.just(0.1)})),
    Entry("planted.SigmoidWrongDerivative", stateless(SigmoidWrongDerivative), SHAPES),
    Entry("planted.SoftmaxCEIgnoresDout", stateless(SoftmaxCEIgnoresDout), CE, input_shapes=ce_shape,
          targets=class_labels, batch_rule="mean"),
    Entry("planted.SoftmaxCEMissingMean", stateless(SoftmaxCEMissingMean), CE, input_shapes=ce_shape,
          targets=class_labels, batch_rule="mean"),
    Entry("planted.SigmoidFloat64Creep", stateless(SigmoidFloat64Creep), SHAPES),
    Entry("planted.MSEStaleSize", stateless(MSEStaleSize), SHAPES, targets=mse_targets, batch_rule="mean"),
    Entry("planted.MSEMissingMean", stateless(MSEMissingMean), SHAPES,
          targets=mse_targets, batch_rule="mean"),
]:
    register(entry, planted=__name__)
