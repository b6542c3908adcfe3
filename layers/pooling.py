"""Pooling over NCHW images: max and average over windows, and the global average.

MaxPool2D and AvgPool2D loop over the PH * PW offsets inside a window, each
step handling every output pixel at once; windows may overlap (stride smaller
than the window), and their gradients then accumulate.
"""
import numpy as np

from layers.base import Layer, check_input
from layers.im2col import output_size, pair, window


def _check_nchw(layer, x):
    check_input(layer, "x", x)
    if x.ndim != 4:
        raise ValueError(f"{type(layer).__name__}.forward: x must be (N, C, H, W), "
                         f"got shape {x.shape}")


class _WindowPool(Layer):
    """pool_size and stride (default: pool_size): an int or a pair (height, width). No padding."""

    def __init__(self, pool_size, stride=None):
        super().__init__()
        name = type(self).__name__
        self.pool_size = pair(name, "pool_size", pool_size)
        self.stride = self.pool_size if stride is None else pair(name, "stride", stride)

    def _windows(self):
        """Yield (offset index k, rows, cols): the input cells at offset k of every window."""
        oh, ow = self._out_hw
        for k, (i, j) in enumerate(np.ndindex(*self.pool_size)):
            yield k, window(i, 1, self.stride[0], oh), window(j, 1, self.stride[1], ow)

    def _check(self, x):
        _check_nchw(self, x)
        self._x_shape = x.shape
        self._out_hw = output_size(type(self).__name__, x.shape, self.pool_size, self.stride,
                                   arg="pool_size")


class MaxPool2D(_WindowPool):
    """x: (N, C, H, W) -> out: (N, C, OH, OW), OH = (H - PH) // SH + 1, the max of each window.

    backward sends each window's dout to one cell: its first maximum in row-major
    window order (TF's rule on tied maxima).
    """

    def forward(self, x):
        self._check(x)
        out = None
        for _, rows, cols in self._windows():
            if out is None:
                out = x[:, :, rows, cols].copy()
            else:
                np.maximum(out, x[:, :, rows, cols], out=out)
        self._x, self._out = x, out
        return out

    def backward(self, dout):
        """dout: (N, C, OH, OW) -> dx: (N, C, H, W), non-zero at one winner per window."""
        dx = np.zeros(self._x_shape, dout.dtype)
        taken = np.zeros(dout.shape, bool)            # windows whose winner is already found
        for _, rows, cols in self._windows():         # offsets in row-major window order
            first = np.greater(self._x[:, :, rows, cols] == self._out, taken)
            taken |= first
            dx[:, :, rows, cols] += dout * first
        return dx


class AvgPool2D(_WindowPool):
    """x: (N, C, H, W) -> out: (N, C, OH, OW), the mean of each PH x PW window."""

    def forward(self, x):
        self._check(x)
        out = np.zeros((*x.shape[:2], *self._out_hw), x.dtype)
        for _, rows, cols in self._windows():
            out += x[:, :, rows, cols]
        return out / out.dtype.type(np.prod(self.pool_size))

    def backward(self, dout):
        """dout: (N, C, OH, OW) -> dx: (N, C, H, W); each window cell gets dout / (PH * PW)."""
        share = dout / dout.dtype.type(np.prod(self.pool_size))
        dx = np.zeros(self._x_shape, dout.dtype)
        for _, rows, cols in self._windows():
            dx[:, :, rows, cols] += share
        return dx


class GlobalAvgPool2D(Layer):
    """x: (N, C, H, W) -> out: (N, C), the mean over each channel's H x W cells."""

    def forward(self, x):
        _check_nchw(self, x)
        self._x_shape = x.shape
        return x.mean(axis=(2, 3))

    def backward(self, dout):
        """dout: (N, C) -> dx: (N, C, H, W), dout / (H * W) in every cell."""
        h, w = self._x_shape[2:]
        dx = np.empty(self._x_shape, dout.dtype)
        dx[...] = (dout / dout.dtype.type(h * w))[:, :, None, None]
        return dx
