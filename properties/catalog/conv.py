"""Registry entries for Conv2D (plain and dilated) and the pooling layers.

Images are small (up to 7x7, 3 channels, batch 3) so finite differences and
shrinking stay fast. The TF properties draw tie-heavy values ("ties",
"feature_map": ReLU-like maps with constant patches), since real feature maps
are full of tied maxima. TF cannot differentiate a dilated convolution on the
CPU, so "Conv2D.dilated" is checked against finite differences there, and its
results say that the TF oracle was unavailable. The ".overlapping" pool entries
always draw windows that overlap (stride < pool), where gradients must accumulate.
"""
from hypothesis import strategies as st

import layers as L
from properties.conv_strategies import conv_geometries, image_shapes, pool_geometries
from properties.registry import Entry, register

TIE_KINDS = ("normal", "ties", "feature_map", "large")
MAX_BATCH = 3


def conv2d(config, rng, dtype):
    layer = L.Conv2D(config["in"], config["out"], config["kernel"], stride=config["stride"],
                     padding=config["padding"], dilation=config["dilation"], rng=rng, dtype=dtype)
    layer.params["b"] = rng.standard_normal(config["out"]).astype(dtype)  # zeros would hide +b bugs
    return layer


def pool(cls):
    """Builder for a window pool from a pool_geometries config."""
    return lambda config, rng, dtype: cls(config["pool"], stride=config["stride"])


register(Entry("Conv2D", conv2d, image_shapes, conv_geometries(), tf_kinds=TIE_KINDS,
               max_batch=MAX_BATCH))
register(Entry("Conv2D.dilated", conv2d, image_shapes, conv_geometries(dilations=(2,)),
               tf_kinds=TIE_KINDS, max_batch=MAX_BATCH))
register(Entry("MaxPool2D", pool(L.MaxPool2D), image_shapes, pool_geometries(),
               tf_kinds=TIE_KINDS, max_batch=MAX_BATCH))
register(Entry("AvgPool2D", pool(L.AvgPool2D), image_shapes, pool_geometries(),
               tf_kinds=TIE_KINDS, max_batch=MAX_BATCH))
register(Entry("MaxPool2D.overlapping", pool(L.MaxPool2D), image_shapes,
               pool_geometries(overlapping=True), tf_kinds=TIE_KINDS, max_batch=MAX_BATCH))
register(Entry("AvgPool2D.overlapping", pool(L.AvgPool2D), image_shapes,
               pool_geometries(overlapping=True), tf_kinds=TIE_KINDS, max_batch=MAX_BATCH))
register(Entry("GlobalAvgPool2D", lambda config, rng, dtype: L.GlobalAvgPool2D(), image_shapes,
               st.fixed_dictionaries({"channels": st.integers(1, 3),
                                      "size": st.tuples(st.integers(1, 5), st.integers(1, 5))}),
               tf_kinds=TIE_KINDS, max_batch=MAX_BATCH))
