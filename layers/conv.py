"""2-D convolution over NCHW images, as one matrix product on im2col columns."""
import numpy as np

from layers.base import Layer, check_input, check_positive_int
from layers.im2col import col2im, im2col, output_size, pad, pair, resolve_padding, unpad
from layers.init import initialise


class Conv2D(Layer):
    """Cross-correlation (what every framework calls convolution) plus a bias per filter.

    x: (N, C, H, W); W: (F, C, KH, KW); b: (F,); out: (N, F, OH, OW) with
    OH = (H + top + bottom - dilation_h * (KH - 1) - 1) // stride_h + 1, likewise OW.

    kernel_size, stride, dilation: an int or a pair (height, width). padding: an int,
    a pair (rows added above and below, columns left and right), 'valid' (none) or
    'same' (stride 1 only; out keeps the input's size, an odd total going to the
    bottom / right as in TF). After construction ``padding`` is always
    ((top, bottom), (left, right)).
    """

    def __init__(self, in_channels, out_channels, kernel_size, *, stride=1, padding=0, dilation=1,
                 rng, init="he", dtype=np.float64):
        super().__init__()
        check_positive_int("Conv2D", "in_channels", in_channels)
        check_positive_int("Conv2D", "out_channels", out_channels)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = pair("Conv2D", "kernel_size", kernel_size)
        self.stride = pair("Conv2D", "stride", stride)
        self.dilation = pair("Conv2D", "dilation", dilation)
        self.padding = resolve_padding("Conv2D", padding, self.kernel_size, self.stride,
                                       self.dilation)
        kh, kw = self.kernel_size
        self.params["W"] = initialise(rng, init, in_channels * kh * kw, out_channels * kh * kw,
                                      (out_channels, in_channels, kh, kw), dtype)
        self.params["b"] = np.zeros(out_channels, dtype=dtype)

    def forward(self, x):
        check_input(self, "x", x)
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"Conv2D.forward: x must be (N, C, H, W) with C = in_channels = "
                             f"{self.in_channels}, got shape {x.shape}")
        self._out_hw = output_size("Conv2D", x.shape, self.kernel_size, self.stride,
                                   self.dilation, self.padding)
        xp = pad(x, self.padding)
        self._xp_shape, self._cols = xp.shape, None   # free the last batch's columns first
        self._cols = im2col(xp, self.kernel_size, self.stride, self.dilation, self._out_hw)
        W, b = self.params["W"], self.params["b"]
        out = W.reshape(self.out_channels, -1) @ self._cols               # (F, N * OH * OW)
        out += b[:, None]
        out = out.reshape(self.out_channels, x.shape[0], *self._out_hw)
        return np.ascontiguousarray(out.transpose(1, 0, 2, 3))

    def backward(self, dout):
        """dout: (N, F, OH, OW) -> dx: (N, C, H, W); sets grads W: (F, C, KH, KW), b: (F,)."""
        W = self.params["W"]
        dout_mat = dout.transpose(1, 0, 2, 3).reshape(self.out_channels, -1)   # (F, N * OH * OW)
        self.grads["W"] = (dout_mat @ self._cols.T).reshape(W.shape)
        self.grads["b"] = dout_mat.sum(axis=1)
        dcols = W.reshape(self.out_channels, -1).T @ dout_mat               # (C*KH*KW, N*OH*OW)
        dxp = col2im(dcols, self._xp_shape, self.kernel_size, self.stride, self.dilation,
                     self._out_hw)
        return np.ascontiguousarray(unpad(dxp, self.padding))
