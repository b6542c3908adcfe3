"""Hypothesis strategies for convolution and pooling geometry.

They draw only consistent configurations (every output has at least one row and
column): the kernel, stride, dilation and padding are drawn first and the image
size last, from the sizes the window fits in. Configurations are plain dicts of
ints, pairs and strings, so a case replays from its JSON line.

Every strategy shrinks toward the simplest case: one channel, a 1x1 kernel,
stride 1, explicit zero padding, the smallest image that fits. A failing case
therefore ends as small as its bug allows (a stride bug keeps stride 2 and
the few pixels it needs, nothing else).
Tie-heavy input values come from the value kinds ("ties", "feature_map" in
``properties.values``), not from here.
"""
from hypothesis import strategies as st

PADDING_MODES = ("explicit", "valid", "same")


def _check_limits(name, minimum, **limits):
    for arg, value in limits.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"{name}: {arg} must be an integer >= {minimum}, got {value!r}")


def _pairs(low, high):
    """(height, width) pairs in [low, high], each shrinking toward ``low``."""
    return st.tuples(st.integers(low, high), st.integers(low, high))


def _image_sizes(draw, min_hw, max_side):
    return tuple(draw(st.integers(lo, max(lo, max_side))) for lo in min_hw)


@st.composite
def conv_geometries(draw, *, max_side=7, max_channels=3, max_kernel=3, max_stride=3, max_pad=2,
                    dilations=(1,), padding_modes=PADDING_MODES):
    """Configs for Conv2D: {"in", "out", "kernel", "stride", "padding", "dilation", "size"}.

    padding is a pair of ints (mode "explicit"), "valid" or "same" (then stride is 1).
    dilations: the values each axis's dilation is drawn from ((2,) dilates both axes).
    size (H, W) is drawn so that the padded image holds the dilated kernel; it
    exceeds ``max_side`` only when the kernel needs it.
    """
    _check_limits("conv_geometries", 1, max_side=max_side, max_channels=max_channels,
                  max_kernel=max_kernel, max_stride=max_stride)
    _check_limits("conv_geometries", 0, max_pad=max_pad)
    bad = set(padding_modes) - set(PADDING_MODES)
    if not padding_modes or bad:
        raise ValueError(f"conv_geometries: padding_modes must be a non-empty subset of "
                         f"{PADDING_MODES}, got {padding_modes!r}")
    if not dilations or any(not isinstance(d, int) or d < 1 for d in dilations):
        raise ValueError(f"conv_geometries: dilations must be positive integers, got {dilations!r}")
    c_in = draw(st.integers(1, max_channels))
    c_out = draw(st.integers(1, max_channels))
    dilation = tuple(draw(st.sampled_from(sorted(dilations))) for _ in range(2))
    kernel = tuple(draw(st.integers(1 if d == 1 else min(2, max_kernel), max_kernel))
                   for d in dilation)   # a dilated axis gets a kernel the dilation spreads
    mode = draw(st.sampled_from(tuple(padding_modes)))
    stride = (1, 1) if mode == "same" else draw(_pairs(1, max_stride))
    if mode == "explicit":
        padding = draw(_pairs(0, max_pad))
        pads = [2 * p for p in padding]
    else:
        padding = mode
        pads = [d * (k - 1) if mode == "same" else 0 for k, d in zip(kernel, dilation)]
    spans = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    size = _image_sizes(draw, [max(1, s - p) for s, p in zip(spans, pads)], max_side)
    return {"in": c_in, "out": c_out, "kernel": kernel, "stride": stride, "padding": padding,
            "dilation": dilation, "size": size}


@st.composite
def pool_geometries(draw, *, max_side=7, max_channels=3, max_pool=3, max_stride=3,
                    overlapping=False):
    """Configs for MaxPool2D / AvgPool2D: {"channels", "pool", "stride", "size"}.

    stride may be smaller than the pool (overlapping windows), equal, or larger
    (cells no window covers). overlapping=True draws only overlapping windows
    (stride < pool along the height). size (H, W) is at least the pool.
    """
    _check_limits("pool_geometries", 1, max_side=max_side, max_channels=max_channels,
                  max_pool=max_pool, max_stride=max_stride)
    if overlapping and max_pool < 2:
        raise ValueError("pool_geometries: overlapping windows need max_pool >= 2")
    channels = draw(st.integers(1, max_channels))
    pool = (draw(st.integers(2 if overlapping else 1, max_pool)), draw(st.integers(1, max_pool)))
    stride = (draw(st.integers(1, pool[0] - 1 if overlapping else max_stride)),
              draw(st.integers(1, max_stride)))
    size = _image_sizes(draw, pool, max_side)
    return {"channels": channels, "pool": pool, "stride": stride, "size": size}


def image_shapes(config, n):
    """Input shapes (N, C, H, W) for a conv or pool config: one image tensor."""
    channels = config["in"] if "in" in config else config["channels"]
    return [(n, channels, *config["size"])]
