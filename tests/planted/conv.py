"""Broken variants of Conv2D and the pools; each docstring names its one bug.

Each is built exactly as the correct layer (same config strategy, same params),
then given the broken class. ``Conv2DFlippedKernelDx`` is a control, not a bug:
the textbook dx (a full correlation of dout with the flipped kernel), correct;
``Conv2DKernelNotFlipped`` differs from it by the missing flip alone.
"""
import numpy as np

import layers as L
from layers.im2col import col2im, im2col, pad, spans, unpad
from properties.catalog.conv import MAX_BATCH, TIE_KINDS, conv2d, pool
from properties.conv_strategies import conv_geometries, image_shapes, pool_geometries
from properties.registry import Entry, register


def _dcols(layer, dout, filters=slice(None)):
    """dL/d(im2col columns) from the filters ``filters``: (C*KH*KW, N*OH*OW)."""
    f = layer.out_channels
    dout_mat = dout.transpose(1, 0, 2, 3).reshape(f, -1)[filters]
    return layer.params["W"].reshape(f, -1)[filters].T @ dout_mat


def _col2im(layer, dcols, stride=None):
    return col2im(dcols, layer._xp_shape, layer.kernel_size, stride or layer.stride,
                  layer.dilation, layer._out_hw)


class Conv2DStrideIgnoredInBackward(L.Conv2D):
    """Bug: dx scatters the columns back with step 1, as if the stride were 1."""

    def backward(self, dout):
        super().backward(dout)
        return np.ascontiguousarray(unpad(_col2im(self, _dcols(self, dout), (1, 1)), self.padding))


class Conv2DChannelSumDropped(L.Conv2D):
    """Bug: dx keeps only the last filter's share (``dx = ...``, not +=, in a loop over filters)."""

    def backward(self, dout):
        super().backward(dout)
        dcols = _dcols(self, dout, slice(-1, None))
        return np.ascontiguousarray(unpad(_col2im(self, dcols), self.padding))


class Conv2DPaddingCroppedWrongly(L.Conv2D):
    """Bug: dx is cut from the padded gradient's top-left corner, not from its interior."""

    def backward(self, dout):
        super().backward(dout)
        dxp = _col2im(self, _dcols(self, dout))
        h, w = self._xp_shape[2] - sum(self.padding[0]), self._xp_shape[3] - sum(self.padding[1])
        return np.ascontiguousarray(dxp[:, :, :h, :w])


class Conv2DFlippedKernelDx(L.Conv2D):
    """Control (correct): dx = full correlation of the stride-spread dout with the flipped W."""

    flip = True

    def backward(self, dout):
        super().backward(dout)
        n, f, oh, ow = dout.shape
        hp, wp = self._xp_shape[2:]
        (sh, sw), (kh, kw) = self.stride, self.kernel_size
        spread = np.zeros((n, f, (oh - 1) * sh + 1, (ow - 1) * sw + 1), dout.dtype)
        spread[:, :, ::sh, ::sw] = dout
        span_h, span_w = spans(self.kernel_size, self.dilation)
        full = pad(spread, ((span_h - 1, hp - spread.shape[2]), (span_w - 1, wp - spread.shape[3])))
        W = self.params["W"].transpose(1, 0, 2, 3)                        # (C, F, KH, KW)
        W = W[:, :, ::-1, ::-1] if self.flip else W
        cols = im2col(full, (kh, kw), (1, 1), self.dilation, (hp, wp))
        dxp = (W.reshape(self.in_channels, -1) @ cols).reshape(self.in_channels, n, hp, wp)
        return np.ascontiguousarray(unpad(dxp.transpose(1, 0, 2, 3), self.padding))


class Conv2DKernelNotFlipped(Conv2DFlippedKernelDx):
    """Bug: dx correlates dout with the kernel as it is, not rotated by 180 degrees."""

    flip = False


class MaxPoolAllTiedMaxima(L.MaxPool2D):
    """Bug (seed 003's): dout goes to every cell equal to the window's max, not to the first."""

    def backward(self, dout):
        dx = np.zeros(self._x_shape, dout.dtype)
        for _, rows, cols in self._windows():
            dx[:, :, rows, cols] += np.where(self._x[:, :, rows, cols] == self._out, dout, 0)
        return dx


class MaxPoolOverlapAssigned(L.MaxPool2D):
    """Bug: winners get ``dx[...][first] = dout[first]``; a cell winning two overlapping windows
    keeps the last window's dout instead of the sum."""

    def backward(self, dout):
        dx = np.zeros(self._x_shape, dout.dtype)
        taken = np.zeros(dout.shape, bool)
        for _, rows, cols in self._windows():
            first = np.greater(self._x[:, :, rows, cols] == self._out, taken)
            taken |= first
            region = dx[:, :, rows, cols]
            region[first] = dout[first]
        return dx


class MaxPoolLastMaximum(L.MaxPool2D):
    """Not a bug: a tied window's dout goes to its last maximum (row-major), not its first as
    TF's; the total each window sends is right. A tie-breaking convention, said as such."""

    def backward(self, dout):
        dx = np.zeros(self._x_shape, dout.dtype)
        taken = np.zeros(dout.shape, bool)
        for _, rows, cols in reversed(list(self._windows())):
            last = np.greater(self._x[:, :, rows, cols] == self._out, taken)
            taken |= last
            dx[:, :, rows, cols] += dout * last
        return dx


class AvgPoolNoDivision(L.AvgPool2D):
    """Bug: every cell of a window gets the whole dout, not dout / (PH * PW)."""

    def backward(self, dout):
        dx = np.zeros(self._x_shape, dout.dtype)
        for _, rows, cols in self._windows():
            dx[:, :, rows, cols] += dout
        return dx


def _as(cls):
    """Build the correct Conv2D from the config, then give it the broken class."""
    def make(config, rng, dtype):
        layer = conv2d(config, rng, dtype)
        layer.__class__ = cls
        return layer
    return make


def _conv(name, cls, configs=None):
    configs = conv_geometries() if configs is None else configs
    return Entry(f"planted.{name}", _as(cls), configs, input_shapes=image_shapes, tf_kinds=TIE_KINDS,
                 max_batch=MAX_BATCH)


def _pool(cls):
    return Entry(f"planted.{cls.__name__}", pool(cls), pool_geometries(), input_shapes=image_shapes,
                 tf_kinds=TIE_KINDS, max_batch=MAX_BATCH)


for entry in [
    _conv("Conv2DStrideIgnoredInBackward", Conv2DStrideIgnoredInBackward),
    _conv("Conv2DChannelSumDropped", Conv2DChannelSumDropped),
    _conv("Conv2DPaddingCroppedWrongly", Conv2DPaddingCroppedWrongly),
    _conv("Conv2DKernelNotFlipped", Conv2DKernelNotFlipped),
    _conv("Conv2DDilatedChannelSumDropped", Conv2DChannelSumDropped,
          conv_geometries(dilations=(2,))),
    _pool(MaxPoolAllTiedMaxima),
    _pool(MaxPoolOverlapAssigned),
    _pool(AvgPoolNoDivision),
]:
    register(entry, planted=__name__)

TIE_CONVENTION = register(Entry("control.MaxPoolLastMaximum", pool(MaxPoolLastMaximum),
                                pool_geometries(), input_shapes=image_shapes, tf_kinds=TIE_KINDS,
                                max_batch=MAX_BATCH), planted=__name__)

CONTROL = register(Entry("control.Conv2DFlippedKernelDx", _as(Conv2DFlippedKernelDx),
                         conv_geometries(dilations=(1, 2)), input_shapes=image_shapes, tf_kinds=TIE_KINDS,
                         max_batch=MAX_BATCH), planted=__name__)
