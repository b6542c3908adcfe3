"""A convolution whose stride and padding default to 1 and 0, written with plain loops.

Built as its constructor builds it, both classes are right: ``ConvSkipsStride`` steps its
backward one row and one column at a time, which is the same as its forward only at stride
1. The harness also checks a layer taking a stride and a padding at the other values
(``Conv(stride=2)``, ``Conv(pad=1)``, both): there ``ConvSkipsStride`` fails grads_tf
(layer bug), and ``Conv`` passes every check.
"""
import numpy as np


class Conv:
    def __init__(self, in_ch=2, out_ch=3, k=3, stride=1, pad=0):
        g = np.random.default_rng(5)
        self.W = g.standard_normal((out_ch, in_ch, k, k)) * 0.3
        self.b = np.zeros(out_ch)
        self.stride, self.pad, self.k = stride, pad, k

    def _step(self, i):
        return i * self.stride

    def forward(self, x):
        p, k = self.pad, self.k
        self.xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        n, _, h, w = self.xp.shape
        self.oh, self.ow = (h - k) // self.stride + 1, (w - k) // self.stride + 1
        out = np.empty((n, self.W.shape[0], self.oh, self.ow))
        for i in range(self.oh):
            for j in range(self.ow):
                r, c = i * self.stride, j * self.stride
                patch = self.xp[:, :, r:r + k, c:c + k]
                out[:, :, i, j] = np.tensordot(patch, self.W, axes=([1, 2, 3], [1, 2, 3])) + self.b
        return out

    def backward(self, dout):
        k, p = self.k, self.pad
        dxp = np.zeros_like(self.xp)
        self.dW = np.zeros_like(self.W)
        self.db = dout.sum(axis=(0, 2, 3))
        for i in range(self.oh):
            for j in range(self.ow):
                r, c = self._step(i), self._step(j)
                patch = self.xp[:, :, r:r + k, c:c + k]
                self.dW += np.tensordot(dout[:, :, i, j], patch, axes=([0], [0]))
                dxp[:, :, r:r + k, c:c + k] += np.tensordot(dout[:, :, i, j], self.W, axes=([1], [0]))
        return dxp[:, :, p:dxp.shape[2] - p, p:dxp.shape[3] - p]


class ConvSkipsStride(Conv):
    def _step(self, i):
        return i          # BUG: the backward ignores the stride
