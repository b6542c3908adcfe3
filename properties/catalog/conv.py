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
    return L.Conv2D(config["in"], config["out"], config["kernel"], stride=config["stride"],
                    padding=config["padding"], dilation=config["dilation"], rng=rng, dtype=dtype)


def pool(cls):
    """Builder for a window pool from a pool_geometries config."""
    return lambda config, rng, dtype: cls(config["pool"], stride=config["stride"])


register(Entry("Conv2D", conv2d, conv_geometries(), input_shapes=image_shapes, tf_kinds=TIE_KINDS,
               max_batch=MAX_BATCH))
register(Entry("Conv2D.dilated", conv2d, conv_geometries(dilations=(2,)), input_shapes=image_shapes,
               tf_kinds=TIE_KINDS, max_batch=MAX_BATCH))
register(Entry("MaxPool2D", pool(L.MaxPool2D), pool_geometries(), input_shapes=image_shapes,
               tf_kinds=TIE_KINDS, max_batch=MAX_BATCH))
register(Entry("AvgPool2D", pool(L.AvgPool2D), pool_geometries(), input_shapes=image_shapes,
               tf_kinds=TIE_KINDS, max_batch=MAX_BATCH))
register(Entry("MaxPool2D.overlapping", pool(L.MaxPool2D),
               pool_geometries(overlapping=True), input_shapes=image_shapes, tf_kinds=TIE_KINDS, max_batch=MAX_BATCH))
register(Entry("AvgPool2D.overlapping", pool(L.AvgPool2D),
               pool_geometries(overlapping=True), input_shapes=image_shapes, tf_kinds=TIE_KINDS, max_batch=MAX_BATCH))
register(Entry("GlobalAvgPool2D", lambda config, rng, dtype: L.GlobalAvgPool2D(),
               st.fixed_dictionaries({"channels": st.integers(1, 3),
                                      "size": st.tuples(st.integers(1, 5), st.integers(1, 5))}),
               input_shapes=image_shapes, tf_kinds=TIE_KINDS, max_batch=MAX_BATCH))
