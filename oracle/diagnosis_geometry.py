"""What a diagnosis needs to know about a case: its meaningful constants and its windows.

Read from a case's flat config (the registry's config plus "batch"), in the
forms the strategies draw: an int or a pair for "pool"/"pool_size", "kernel",
"stride", "dilation"; "padding" as an int, a pair (symmetric per axis), a pair
of (before, after) pairs, "valid" or "same". Images are NCHW.
"""
import itertools

import numpy as np


def permutations(ndim):
    """Every axis permutation but the identity, the full reversal first."""
    ident = tuple(range(ndim))
    perms = [p for p in itertools.permutations(ident) if p != ident]
    return sorted(perms, key=lambda p: p != ident[::-1])


def named_factors(cfg, batch, given=None):
    """[(factor, what it would mean)]: the constants a backward is commonly off by.

    Factors that coincide (a batch of 2 and a factor 2) are named together. ``given``: a
    user's layer's first input, when the configuration does not give its shape: its size,
    and a sequence's (N, T, D) steps.
    """
    names = {}
    elements = None if given is None else int(np.size(given))
    if np.ndim(given) == 3 and "steps" not in cfg and "time_steps" not in cfg:
        cfg = {**cfg, "steps": int(np.shape(given)[1])}

    def add(c, text):
        if c > 0 and c != 1:
            names.setdefault(round(float(c), 12), []).append(text)

    n = int(batch) if batch else 0
    if n > 1:
        add(n, f"N = {n}, the batch size: a missing 1/N (a sum over the batch where the "
               "oracle averages)")
        add(1 / n, f"1/N with N = {n}, the batch size: an extra 1/N (a mean over the batch "
                   "where the oracle sums, or a mean divided by N twice)")
        add(1 / n ** 2, f"1/N^2 with N = {n}, the batch size: divided by the batch size twice")
    window = pool_geometry(cfg)
    if window is not None:
        k = window[0][0] * window[0][1]
        add(k, f"k = {k}, the pool window's size: the average's 1/k is missing")
        add(1 / k, f"1/k with k = {k}, the pool window's size: divided by it once too often")
    classes = cfg.get("classes")
    if isinstance(classes, int) and classes > 1:
        add(classes, f"K = {classes}, the number of classes: a missing 1/K")
        add(1 / classes, f"1/K with K = {classes}, the number of classes: an extra 1/K")
        if n:
            add(n / classes, f"N/K with N = {n}, K = {classes}: divided by the number of "
                             "classes where the oracle divides by the batch size "
                             "(x.shape[1] for x.shape[0])")
    steps = cfg.get("steps", cfg.get("time_steps"))
    if isinstance(steps, int) and steps > 1:
        add(steps, f"T = {steps}, the number of time steps: a missing 1/T")
        add(1 / steps, f"1/T with T = {steps}, the number of time steps: an extra 1/T")
        if n > 1:
            add(1 / (n * steps), f"1/(N*T) with N = {n}, T = {steps}: a mean over every "
                                 "(sample, step) row where the oracle sums")
    p = cfg.get("p")
    if isinstance(p, float) and 0 < p < 1:
        add(1 - p, f"1 - p = {1 - p:g}, the keep probability: the inverted dropout's "
                   "1/(1 - p) is missing")
    size = _elements(cfg, n) or elements
    if size and size != n and size > 1:
        add(size, f"{size}, the number of elements averaged over: a sum where the oracle "
                  "takes the mean over every element")
        add(1 / size, f"1/{size}, the number of elements: a mean over every element where the "
                      "oracle sums")
    if np.ndim(given) == 4:      # an image's positions, NCHW or NHWC: a global pool's H*W
        for h, w in dict.fromkeys((np.shape(given)[2:4], np.shape(given)[1:3])):
            add(h * w, f"H*W = {h * w}, the image's positions: a global average's 1/(H*W) "
                       f"missing")
            add(1 / (h * w), f"1/(H*W) with H*W = {h * w}, the image's positions: divided by "
                             f"them where nothing is averaged (a global max pool's backward "
                             f"copied from the average's)")
    width = int(np.shape(given)[-1]) if np.ndim(given) >= 2 else 0
    if width > 1:       # an attention's 1/sqrt(d_k), d_k the width of its queries and keys
        add(np.sqrt(width), f"sqrt(D) with D = {width}, the input's last axis: a scale "
                            f"1/sqrt(d_k) left out (an attention's)")
        add(1 / np.sqrt(width), f"1/sqrt(D) with D = {width}, the input's last axis: a scale "
                                f"1/sqrt(d_k) applied once too often")
    add(2, "a factor 2")
    add(0.5, "a factor 1/2")
    return [(c, " or ".join(texts)) for c, texts in names.items()]


def _elements(cfg, batch):
    shape = cfg.get("shape")
    if not batch or not isinstance(shape, (list, tuple)) or \
            not all(isinstance(d, int) for d in shape):
        return None
    return int(batch * np.prod(shape, dtype=np.int64))


def _pair(value, default=None):
    if value is None:
        return default
    if isinstance(value, int):
        return (value, value)
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return tuple(value)
    return None


def pool_geometry(cfg):
    """((PH, PW), (SH, SW)) of a pooling case, or None."""
    size = _pair(cfg.get("pool", cfg.get("pool_size")))
    if size is None:
        return None
    stride = _pair(cfg.get("stride"), size)
    return (size, stride) if stride else None


def conv_geometry(cfg):
    """(kernel, stride, dilation, ((top, bottom), (left, right))) of a conv case, or None."""
    kernel = _pair(cfg.get("kernel"))
    stride, dilation = _pair(cfg.get("stride"), (1, 1)), _pair(cfg.get("dilation"), (1, 1))
    if kernel is None or stride is None or dilation is None:
        return None
    padding = cfg.get("padding", 0)
    spans = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    if padding == "valid":
        pads = ((0, 0), (0, 0))
    elif padding == "same":
        pads = tuple(((s - 1) // 2, s - 1 - (s - 1) // 2) for s in spans)
    elif _pair(padding) is not None:
        pads = tuple((p, p) for p in _pair(padding))
    elif isinstance(padding, (list, tuple)) and len(padding) == 2 and \
            all(_pair(p) is not None for p in padding):
        pads = tuple(tuple(p) for p in padding)
    else:
        return None
    return kernel, stride, dilation, pads


def pooled_shape(shape, size, stride):
    n, c, h, w = shape
    return (n, c, (h - size[0]) // stride[0] + 1, (w - size[1]) // stride[1] + 1)


def _offsets(size, stride, out_hw):
    for i, j in np.ndindex(*size):
        yield (slice(i, i + stride[0] * (out_hw[0] - 1) + 1, stride[0]),
               slice(j, j + stride[1] * (out_hw[1] - 1) + 1, stride[1]))


def max_pool_grad_all_ties(x, dout, size, stride, split):
    """Max-pool dx that sends dout to every cell equal to the window max (split: dout / count)."""
    x = np.asarray(x, np.float64)
    out_hw = dout.shape[2:]
    windows = list(_offsets(size, stride, out_hw))
    top = np.max([x[:, :, r, c] for r, c in windows], axis=0)
    count = np.sum([x[:, :, r, c] == top for r, c in windows], axis=0)
    share = dout / count if split else dout
    dx = np.zeros(x.shape)
    for r, c in windows:
        dx[:, :, r, c] += np.where(x[:, :, r, c] == top, share, 0.0)
    return dx


def winning_douts(x, dout, size, stride):
    """cell index -> the douts of the windows whose first maximum (row-major) is that cell."""
    x = np.asarray(x, np.float64)
    windows = list(_offsets(size, stride, dout.shape[2:]))
    top = np.max([x[:, :, r, c] for r, c in windows], axis=0)
    taken = np.zeros(top.shape, bool)
    wins = {}
    for r, c in windows:
        first = (x[:, :, r, c] == top) & ~taken
        taken |= first
        for n, ch, i, j in zip(*np.nonzero(first)):
            cell = (int(n), int(ch), r.start + i * r.step, c.start + j * c.step)
            wins.setdefault(cell, []).append(float(dout[n, ch, i, j]))
    return wins


def tied_cells(x, size, stride):
    """Cells that are a maximum of some window holding two or more maxima."""
    out_hw = pooled_shape(x.shape, size, stride)[2:]
    windows = list(_offsets(size, stride, out_hw))
    top = np.max([x[:, :, r, c] for r, c in windows], axis=0)
    count = np.sum([x[:, :, r, c] == top for r, c in windows], axis=0)
    cells = np.zeros(x.shape, bool)
    for r, c in windows:
        cells[:, :, r, c] |= (x[:, :, r, c] == top) & (count >= 2)
    return cells


def _coverage_1d(length, k, s, d, before, after):
    """How many windows cover each of ``length`` cells, with zero padding around them."""
    padded = length + before + after
    span = d * (k - 1) + 1
    if padded < span:
        return None
    out = (padded - span) // s + 1
    cover = np.zeros(padded, int)
    for o in range(out):
        cover[o * s + d * np.arange(k)] += 1
    return cover[before:before + length]


def window_coverage(cfg, shape):
    """Per cell of an (N, C, H, W) input: how many pool or conv windows cover it, or None."""
    if len(shape) != 4:
        return None
    pool, conv = pool_geometry(cfg), conv_geometry(cfg)
    if pool is not None:
        kernel, stride, dilation, pads = pool[0], pool[1], (1, 1), ((0, 0), (0, 0))
    elif conv is not None:
        kernel, stride, dilation, pads = conv
    else:
        return None
    rows, cols = (_coverage_1d(n, k, s, d, *p)
                  for n, k, s, d, p in zip(shape[2:], kernel, stride, dilation, pads))
    if rows is None or cols is None:
        return None
    return np.broadcast_to(np.outer(rows, cols), shape)


def border_band(cfg, shape):
    """Cells of an (N, C, H, W) conv input within the padding's width of an edge, or None."""
    conv = conv_geometry(cfg)
    if conv is None or len(shape) != 4:
        return None
    (top, bottom), (left, right) = conv[3]
    if not (top or bottom or left or right):
        return None
    h, w = shape[2:]
    r, c = np.arange(h)[:, None], np.arange(w)[None, :]
    band = (r < top) | (r >= h - bottom) | (c < left) | (c >= w - right)
    return np.broadcast_to(band, shape)
