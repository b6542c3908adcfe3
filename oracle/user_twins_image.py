"""Candidate TF twins for users' convolution and pooling layers.

NCHW layers with hyperparameters as attributes (deep-learning-from-scratch's
``Convolution(W, b, stride, pad)``, ``Pooling(pool_h, pool_w, stride, pad)``)
or in an options dict (cs231n's ``conv_param`` / ``pool_param``) reuse the
project's twins in :mod:`oracle.twins_conv`; seed 003's single-image layers
(``Conv3x3``: (h, w) -> (h-2, w-2, n); ``MaxPool2``: (h, w, c) -> (h/2, w/2, c))
get twins of their own layout. Hyperparameters are read when the twin runs.
"""
from types import SimpleNamespace

import numpy as np

from oracle import twins_conv
from oracle.tf_runtime import tf
from oracle.twin_match import TwinMatch
from oracle.user_hyper import find_hyper, hyper, pair

STRIDE_NAMES = ("stride", "strides")
PAD_NAMES = ("pad", "padding")
POOL_H_NAMES = ("pool_h", "pool_height", "pool_size", "pool_shape", "kernel_size", "ksize", "size")
POOL_LEN_NAMES = POOL_H_NAMES + ("pool",)     # a 1-D pool's window length
POOL_W_NAMES = ("pool_w", "pool_width", "pool_size", "pool_shape", "kernel_size", "ksize", "size")


def _from(layer, names, default, what):
    return pair(hyper(layer, names, default), what)


def _source(layer, names, default):
    found = find_hyper(layer, names)
    return f"{found[0]}={found[1]!r}" if found else f"{names[0]}={default} (default: not set)"


# ---- convolution -----------------------------------------------------------------------------

def _conv_twin(weight, bias):
    def twin(layer, x, **p):
        (sh, sw), (ph, pw) = _from(layer, STRIDE_NAMES, 1, "stride"), _from(layer, PAD_NAMES, 0, "pad")
        view = SimpleNamespace(stride=(sh, sw), padding=((ph, ph), (pw, pw)), dilation=(1, 1))
        b = tf().reshape(p[bias], (-1,)) if bias else 0.0
        return twins_conv.conv2d(view, x, p[weight], b)
    return twin


def _conv_nhwc_twin(weight, bias):
    def twin(layer, x, **p):
        (sh, sw), (ph, pw) = _from(layer, STRIDE_NAMES, 1, "stride"), _from(layer, PAD_NAMES, 0, "pad")
        out = tf().nn.conv2d(x, p[weight], strides=[1, sh, sw, 1],
                             padding=[[0, 0], [ph, ph], [pw, pw], [0, 0]])
        return out + tf().reshape(p[bias], (-1,)) if bias else out
    return twin


def conv_candidates(layer, params, weight, bias, x_shape):
    """W (F, C, KH, KW) on x (N, C, H, W), or TF's layout: W (KH, KW, C, F) on x (N, H, W, C);
    cross-correlation, stride and pad from the layer."""
    W_shape = np.shape(params[weight])
    pad = find_hyper(layer, PAD_NAMES)
    if len(x_shape) == 4 and x_shape[3] == W_shape[2] and (pad is None or not isinstance(pad[1], str)) \
            and (bias is None or np.size(params[bias]) == W_shape[3]):
        yield TwinMatch(_conv_nhwc_twin(weight, bias), "conv2d", (
            f"conv2d: NHWC, {weight} (KH, KW, C, F), cross-correlation{' + ' + bias if bias else ''}; "
            f"{_source(layer, STRIDE_NAMES, 1)}, {_source(layer, PAD_NAMES, 0)}"))
    if len(x_shape) != 4 or x_shape[1] != W_shape[1]:
        return
    if bias is not None and np.size(params[bias]) != W_shape[0]:
        return
    if pad is not None and isinstance(pad[1], str):
        return
    how = (f"conv2d: NCHW, {weight} (F, C, KH, KW), cross-correlation{' + ' + bias if bias else ''}; "
           f"{_source(layer, STRIDE_NAMES, 1)}, {_source(layer, PAD_NAMES, 0)}")
    yield TwinMatch(_conv_twin(weight, bias), "conv2d", how)


def _single_channel_conv(weight):
    def twin(layer, x, **p):
        t = tf()
        f = p[weight]                                      # (n, k, k)
        kernel = t.transpose(f, (1, 2, 0))[:, :, None, :]  # (k, k, 1, n)
        batched = len(x.shape) == 3
        x4 = t.reshape(x, (-1, x.shape[-2], x.shape[-1], 1))
        out = t.nn.conv2d(x4, kernel, strides=1, padding="VALID")
        return out if batched else out[0]
    return twin


def single_image_conv_candidates(params, weight, x_shape):
    """Seed 003's Conv3x3: filters (n, k, k) over one (h, w) image (or a batch of them), no padding."""
    if len(np.shape(params[weight])) != 3 or len(x_shape) not in (2, 3):
        return
    yield TwinMatch(_single_channel_conv(weight), "conv2d_single_channel",
                    f"conv2d_single_channel: one-channel image (h, w) [or (N, h, w)], {weight} "
                    f"(n, k, k), stride 1, no padding -> (h-k+1, w-k+1, n) (seed 003's Conv3x3)")


# ---- pooling ---------------------------------------------------------------------------------

def _pool_nchw(kind, x, size, stride, pad, fill=0.0):
    if pad != (0, 0):
        x = tf().pad(x, [[0, 0], [0, 0], [pad[0], pad[0]], [pad[1], pad[1]]], constant_values=fill)
    view = SimpleNamespace(pool_size=size, stride=stride)
    fn = twins_conv.max_pool2d if kind == "max_pool" else twins_conv.avg_pool2d
    return fn(view, x)


def _pool_twin(kind, layout, fixed, fill=0.0):
    """Pooling in ``layout`` (NCHW, NHWC, HWC, or NCL: sequences); ``fixed`` = (size, stride)
    when the layer has no attributes; ``fill``: what the padding holds (a max-pool's may be
    -inf, as TF's SAME and PyTorch pad, or 0, as deep-learning-from-scratch's im2col does)."""
    def twin(layer, x):
        if fixed:
            size, stride, pad = fixed[0], fixed[1], (0, 0)
        else:
            size = pair(hyper(layer, POOL_LEN_NAMES), "pool") if layout == "NCL" else (  # one length
                pair(hyper(layer, POOL_H_NAMES), "pool_h")[0],
                pair(hyper(layer, POOL_W_NAMES), "pool_w")[-1])
            stride = _from(layer, STRIDE_NAMES, size, "stride")
            pad = _from(layer, PAD_NAMES, 0, "pad")
        t = tf()
        if layout == "NCHW":
            return _pool_nchw(kind, x, size, stride, pad, fill)
        if layout == "NCL":       # a 1-D pool over sequences (N, C, L): one row of an image
            pooled = _pool_nchw(kind, x[:, :, None, :], (1, size[-1]), (1, stride[-1]),
                                (0, pad[-1]), fill)
            return pooled[:, :, 0, :]
        nhwc = x[None] if layout == "HWC" else x
        out = t.transpose(_pool_nchw(kind, t.transpose(nhwc, (0, 3, 1, 2)), size, stride, pad,
                                     fill), (0, 2, 3, 1))
        return out[0] if layout == "HWC" else out
    return twin


def pool_geometry_of(layer):
    """{"pool": (PH, PW), "stride": (SH, SW)} of a user's 2-D pooling layer, read off its
    hyperparameters as its twin reads them (for the diagnosis: the window's size as a factor,
    tied maxima where the output's shape says there is no padding), else {}."""
    if find_hyper(layer, POOL_H_NAMES) is None:
        return {}
    try:
        size = (pair(hyper(layer, POOL_H_NAMES), "pool_h")[0],
                pair(hyper(layer, POOL_W_NAMES), "pool_w")[-1])
        stride = _from(layer, STRIDE_NAMES, size, "stride")
    except (ValueError, TypeError):
        return {}
    return {"pool": size, "stride": stride}


def conv_geometry_of(layer):
    """{"kernel": (KH, KW), "stride": (SH, SW), "padding": (PH, PW)} of a user's 2-D convolution
    with a kernel (F, C, KH, KW), read off its weight and hyperparameters as its twin reads them
    (for the diagnosis: cells that windows share, a padded border), else {}."""
    try:
        kernels = [v for v in layer.params.values() if np.ndim(v) == 4]
    except Exception:
        return {}
    if len(kernels) != 1:
        return {}
    try:
        stride, pad = _from(layer, STRIDE_NAMES, 1, "stride"), _from(layer, PAD_NAMES, 0, "pad")
    except (ValueError, TypeError):
        return {}
    return {"kernel": tuple(int(d) for d in np.shape(kernels[0])[2:]), "stride": stride,
            "padding": pad}


POOL_HOW = {"max_pool": "max over each window (TF: gradient to the first maximum)",
            "avg_pool": "mean over each window"}
GLOBAL_HOW = {"max_pool": "max over all of H and W (TF: gradient to the first maximum)",
              "avg_pool": "mean over all of H and W"}


def _global_pool_twin(kind, layout, keepdims):
    """Pooling over a whole image: one window of its height and width (a max's gradient to the
    first maximum, as the windowed pools'), giving (N, C), or (N, C, 1, 1) / (N, 1, 1, C)."""
    def twin(layer, x):
        t = tf()
        nchw = x if layout == "NCHW" else t.transpose(x, (0, 3, 1, 2))
        side = (int(nchw.shape[2]), int(nchw.shape[3]))
        pooled = _pool_nchw(kind, nchw, side, side, (0, 0))          # (N, C, 1, 1)
        if keepdims:
            return pooled if layout == "NCHW" else t.transpose(pooled, (0, 2, 3, 1))
        return pooled[:, :, 0, 0]
    return twin


def global_pool_candidates(kinds, x_shape):
    """Global max / average pooling over the height and width of (N, C, H, W) or (N, H, W, C)."""
    if len(x_shape) != 4:
        return
    for kind in kinds:
        for layout in ("NCHW", "NHWC"):
            for keepdims in (False, True):
                shape = "(N, C, 1, 1)" if keepdims and layout == "NCHW" else \
                    "(N, 1, 1, C)" if keepdims else "(N, C)"
                yield TwinMatch(_global_pool_twin(kind, layout, keepdims), kind,
                                f"global {kind}: {GLOBAL_HOW[kind]}, {layout} to {shape}")


def pool_candidates(layer, kinds, x_shape):
    """Max / average pooling: sizes from pool_h / pool_w / stride / pad (or pool_param), or probed."""
    layouts = {4: ("NCHW", "NHWC"), 3: ("NCL", "HWC")}.get(len(x_shape), ())
    for kind in kinds:
        for layout in layouts:
            names = POOL_LEN_NAMES if layout == "NCL" else POOL_H_NAMES
            if find_hyper(layer, names) is not None:
                height, width = _source(layer, names, '?'), _source(layer, POOL_W_NAMES, '?')
                # one name for both sides (kernel_size=2, pool_size): said once
                width = "" if layout == "NCL" or width == height else f"{width}, "
                how = (f"{kind}: {POOL_HOW[kind]}, {layout}; {height}, "
                       f"{width}{_source(layer, STRIDE_NAMES, 'pool size')}, "
                       f"{_source(layer, PAD_NAMES, 0)}")
                yield TwinMatch(_pool_twin(kind, layout, None), kind, how)
                if kind == "max_pool" and find_hyper(layer, PAD_NAMES) is not None:
                    yield TwinMatch(_pool_twin(kind, layout, None, -np.inf), kind,
                                    how + ", padded with -inf (as TF's SAME and PyTorch pad)")
                continue
            for size in (2, 3):
                for stride in (size, 1):
                    how = (f"{kind}: {POOL_HOW[kind]}, {layout}; {size}x{size} windows, stride {stride}, "
                           f"no padding, found by probing (the layer has no pool-size attribute)")
                    yield TwinMatch(_pool_twin(kind, layout, ((size, size), (stride, stride))), kind, how)


def pool_kinds(text):
    """Which pooling kinds a name asks for: max, average, or both to probe."""
    if "pool" not in text:
        return []
    if "max" in text:
        return ["max_pool"]
    if any(w in text for w in ("avg", "average", "mean")):
        return ["avg_pool"]
    return ["max_pool", "avg_pool"]
