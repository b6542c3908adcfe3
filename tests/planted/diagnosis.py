"""Broken layers for the diagnosis classes the other planted modules lack; one bug each.

Built like the correct layers they break (same params, same draws). They are
not registered: ``tests/test_diagnosis.py`` runs them on chosen cases and
compares them with the real oracles. ``SiLU``, ``Embedding`` and ``CumSum``
are small correct layers (with TF twins in the test) that exist here only to
carry a bug of a kind no registered layer shows.
"""
import numpy as np

import layers as L
from layers.base import Layer
from layers.im2col import unpad, window


class TanhSignFlipped(L.Tanh):
    """Bug: dx = dout * (y^2 - 1), the derivative 1 - y^2 written the wrong way round."""

    def backward(self, dout):
        return dout * (self._out ** 2 - 1)


class MSEMissingTwo(L.MSE):
    """Bug: dx = dout * (x - t) / size, the 2 of the square's derivative dropped."""

    def backward(self, dout=1.0):
        return self._diff * (self._diff.dtype.type(dout) / self._diff.size)


class SoftmaxCEDividedTwice(L.SoftmaxCrossEntropy):
    """Bug: the 1/N of the mean applied twice (once in a helper, once again here)."""

    def backward(self, dout=1.0):
        return super().backward(dout) / self._n


class SoftmaxCEDividesByClasses(L.SoftmaxCrossEntropy):
    """Bug: the mean's 1/N uses x.shape[1] (the classes) where it means x.shape[0] (the batch)."""

    def backward(self, dout=1.0):
        return (self._p - self._t) * (self._p.dtype.type(dout) / self._p.shape[1])


class MSECachedScale(L.MSE):
    """Bug: 2 / x.size is computed at the first forward and kept: stale for another batch size."""

    _scale = None

    def backward(self, dout=1.0):
        if self._scale is None:
            self._scale = 2.0 / self._diff.size
        return self._diff * self._diff.dtype.type(self._scale * dout)


class DenseBackwardInFloat32(L.Dense):
    """Bug: backward casts to float32 "to save memory", so a float64 layer returns float32 grads."""

    def backward(self, dout):
        d, x2, W = (a.astype(np.float32) for a in (dout, self._x2, self.params["W"]))
        self.grads["W"] = x2.T @ d
        self.grads["b"] = d.sum(axis=0)
        return (d @ W.T).reshape(self._x_shape)


class DenseBiasKeepdims(L.Dense):
    """Bug: db = dout.sum(axis=0, keepdims=True): shape (1, M) where b is (M,)."""

    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["b"] = dout.sum(axis=0, keepdims=True)
        return dx


class Conv2DChannelZeroSkipped(L.Conv2D):
    """Bug: the loop over input channels runs range(1, C), so channel 0's dx stays zero."""

    def backward(self, dout):
        dx = super().backward(dout)
        dx[:, 0] = 0
        return dx


class Conv2DBorderZeroed(L.Conv2D):
    """Bug: after cropping the padding off dx, zeroes dx's outer rows and columns again
    (as if they still were the padding)."""

    def backward(self, dout):
        dx = super().backward(dout)
        (top, bottom), (left, right) = self.padding
        h, w = dx.shape[2:]
        dx[:, :, :top], dx[:, :, h - bottom:] = 0, 0
        dx[:, :, :, :left], dx[:, :, :, w - right:] = 0, 0
        return dx


class Conv2DCol2imAssigned(L.Conv2D):
    """Bug: col2im writes each kernel offset's columns with ``=`` instead of ``+=``: cells that
    strided windows share keep only the last offset's share."""

    def backward(self, dout):
        super().backward(dout)
        f, (kh, kw), (oh, ow) = self.out_channels, self.kernel_size, self._out_hw
        n, c, hp, wp = self._xp_shape
        dout_mat = dout.transpose(1, 0, 2, 3).reshape(f, -1)
        dcols = (self.params["W"].reshape(f, -1).T @ dout_mat).reshape(c, kh, kw, n, oh, ow)
        dxt = np.zeros((c, n, hp, wp), dout.dtype)
        for i in range(kh):
            rows = window(i, self.dilation[0], self.stride[0], oh)
            for j in range(kw):
                dxt[:, :, rows, window(j, self.dilation[1], self.stride[1], ow)] = dcols[:, i, j]
        return np.ascontiguousarray(unpad(dxt.transpose(1, 0, 2, 3), self.padding))


class SiLU(Layer):
    """out = x * sigmoid(x); dx = dout * (sigmoid(x) + x * sigmoid(x) * (1 - sigmoid(x)))."""

    def forward(self, x):
        self._x, self._s = x, 1 / (1 + np.exp(-x))
        return x * self._s

    def backward(self, dout):
        s = self._s
        return dout * (s + self._x * s * (1 - s))


class SiLUProductRuleHalf(SiLU):
    """Bug: dx = dout * x * s'(x): the product rule's term for the other factor, s(x), missing."""

    def backward(self, dout):
        s = self._s
        return dout * self._x * s * (1 - s)


class Embedding(Layer):
    """out[n] = W[ids[n]]: a gather of rows. ids: integers (N,) in [0, V); W: (V, D)."""

    input_names = ("ids",)

    def __init__(self, vocabulary, dim, *, rng):
        super().__init__()
        self.params["W"] = rng.standard_normal((vocabulary, dim))

    def forward(self, ids):
        self._ids = ids
        return self.params["W"][ids]

    def backward(self, dout):
        dW = np.zeros_like(self.params["W"])
        np.add.at(dW, self._ids, dout)
        self.grads["W"] = dW
        return None


class EmbeddingAssigned(Embedding):
    """Bug: dW[ids] = dout: a row whose index repeats keeps only its last dout, not their sum."""

    def backward(self, dout):
        dW = np.zeros_like(self.params["W"])
        dW[self._ids] = dout
        self.grads["W"] = dW
        return None


class CumSum(Layer):
    """out[:, t] = x[:, 0] + ... + x[:, t] over time steps. x: (N, T, D)."""

    def forward(self, x):
        return np.cumsum(x, axis=1)

    def backward(self, dout):
        return np.cumsum(dout[:, ::-1], axis=1)[:, ::-1]


class CumSumFirstStepSkipped(CumSum):
    """Bug: the backward loop over time runs t = T-1 ... 1, so step 0's dx stays zero."""

    def backward(self, dout):
        dx = np.zeros_like(dout)
        running = np.zeros_like(dout[:, 0])
        for t in range(dout.shape[1] - 1, 0, -1):
            running = running + dout[:, t]
            dx[:, t] = running
        return dx
