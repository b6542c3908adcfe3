"""Window geometry shared by convolution and pooling: argument checks, output sizes, im2col.

``im2col`` lays every receptive field of a padded image out as one column, so a
convolution becomes a single matrix product; ``col2im`` is its adjoint and adds
each column back where it came from (overlapping fields accumulate). Both loop
over the KH * KW kernel offsets, never over output pixels.
"""
import numpy as np


def pair(layer_name, arg, value, minimum=1):
    """(height, width) from an int or a pair of ints >= ``minimum``; a ValueError naming ``arg``."""
    values = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    ok = len(values) == 2 and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                  and v >= minimum for v in values)
    if not ok:
        what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{layer_name}: {arg} must be {what} or a pair (height, width) of "
                         f"them, got {value!r}")
    return tuple(int(v) for v in values)


def spans(kernel, dilation):
    """Rows and columns one dilated kernel covers: dilation * (K - 1) + 1 per axis."""
    return tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))


def resolve_padding(layer_name, padding, kernel, stride, dilation):
    """((top, bottom), (left, right)) zero rows/columns from an int, a pair, 'valid' or 'same'.

    'same' keeps the input size; it needs stride 1 (otherwise the amount would depend on
    the input size). An odd total goes to the bottom / right, as TensorFlow does.
    """
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return ((0, 0), (0, 0))
        if mode == "same":
            if stride != (1, 1):
                raise ValueError(f"{layer_name}: padding='same' needs stride 1 (with a larger "
                                 f"stride the padding would depend on the input size), got "
                                 f"stride {stride}; give the padding as numbers instead")
            totals = [s - 1 for s in spans(kernel, dilation)]
            return tuple((t // 2, t - t // 2) for t in totals)
        raise ValueError(f"{layer_name}: padding must be an int, a pair, 'valid' or 'same', "
                         f"got {padding!r}")
    ph, pw = pair(layer_name, "padding", padding, minimum=0)
    return ((ph, ph), (pw, pw))


def output_size(layer_name, x_shape, kernel, stride, dilation=(1, 1), padding=((0, 0), (0, 0)),
                arg="kernel_size"):
    """(OH, OW) for x: (N, C, H, W); a ValueError naming ``arg`` if the window does not fit."""
    h, w = x_shape[2:]
    hp, wp = h + sum(padding[0]), w + sum(padding[1])
    span = spans(kernel, dilation)
    if span[0] > hp or span[1] > wp:
        dil = f" with dilation {dilation}" if dilation != (1, 1) else ""
        pad = f" padded by {padding} to {hp}x{wp}" if hp != h or wp != w else ""
        raise ValueError(f"{layer_name}.forward: {arg} {kernel}{dil} spans {span[0]}x{span[1]}, "
                         f"larger than the input x of shape {tuple(x_shape)}{pad}")
    return (hp - span[0]) // stride[0] + 1, (wp - span[1]) // stride[1] + 1


def window(offset, dilation, stride, n_out):
    """The slice of input rows (or columns) that kernel offset ``offset`` meets, one per output."""
    start = offset * dilation
    return slice(start, start + stride * (n_out - 1) + 1, stride)


def pad(x, padding):
    """x: (N, C, H, W) with zeros added: padding ((top, bottom), (left, right))."""
    if padding == ((0, 0), (0, 0)):
        return x
    return np.pad(x, ((0, 0), (0, 0), *padding))


def unpad(xp, padding):
    """Inverse of ``pad``: the (N, C, H, W) interior of a padded xp."""
    (top, bottom), (left, right) = padding
    return xp[:, :, top:xp.shape[2] - bottom, left:xp.shape[3] - right]


def im2col(xp, kernel, stride, dilation, out_hw):
    """xp: (N, C, Hp, Wp) -> cols: (C * KH * KW, N * OH * OW), one column per receptive field."""
    n, c = xp.shape[:2]
    (kh, kw), (oh, ow) = kernel, out_hw
    cols = np.empty((c, kh, kw, n, oh, ow), xp.dtype)
    xt = xp.transpose(1, 0, 2, 3)
    for i in range(kh):
        rows = window(i, dilation[0], stride[0], oh)
        for j in range(kw):
            cols[:, i, j] = xt[:, :, rows, window(j, dilation[1], stride[1], ow)]
    return cols.reshape(c * kh * kw, n * oh * ow)


def col2im(dcols, xp_shape, kernel, stride, dilation, out_hw):
    """Adjoint of ``im2col``: dcols (C * KH * KW, N * OH * OW) -> dxp (N, C, Hp, Wp), summed."""
    n, c, hp, wp = xp_shape
    (kh, kw), (oh, ow) = kernel, out_hw
    d6 = dcols.reshape(c, kh, kw, n, oh, ow)
    dxt = np.zeros((c, n, hp, wp), dcols.dtype)
    for i in range(kh):
        rows = window(i, dilation[0], stride[0], oh)
        for j in range(kw):
            dxt[:, :, rows, window(j, dilation[1], stride[1], ow)] += d6[:, i, j]
    return dxt.transpose(1, 0, 2, 3)
