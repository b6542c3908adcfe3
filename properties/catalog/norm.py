"""Registry entries for BatchNorm (features and NCHW), LayerNorm and Dropout.

BatchNorm and Dropout behave differently in training and in evaluation, so the
battery draws both modes for them. Neither satisfies batch additivity, and each
entry says why in its ``batch_rule`` (the battery reports that reason).
"""
from hypothesis import strategies as st

import layers as L
from properties.registry import Entry, register
from properties.strategies import feature_sizes, trailing_shapes

BATCH_STATISTICS = ("in training, batch norm normalises with the mean and variance of the whole "
                    "batch, so every sample's output and gradient depend on the other samples")
BATCH_MASK = ("dropout draws one mask for the whole batch, so a sample's mask depends on its "
              "position in the batch and per-sample runs draw different masks")
EPS = st.sampled_from([1e-5, 1e-3])
RUNNING = ("running_mean", "running_var")


def batch_norm(config, rng, dtype):
    return L.BatchNorm(config["channels"], eps=config["eps"], momentum=config["momentum"], dtype=dtype)


def trained_statistics(layer, rng):
    """Running mean and variance as after some training (0 and 1 would hide bugs in evaluation)."""
    c, dtype = layer.running_mean.shape, layer.running_mean.dtype
    layer.running_mean = rng.standard_normal(c).astype(dtype)
    layer.running_var = rng.uniform(0.5, 2.0, c).astype(dtype)


def layer_norm(config, rng, dtype):
    return L.LayerNorm(config["shape"][len(config["shape"]) - config["norm_dims"]:],
                       eps=config["eps"], dtype=dtype)


@st.composite
def layer_norm_configs(draw):
    shape = draw(trailing_shapes(max_dims=2, max_side=4))
    return {"shape": shape, "norm_dims": draw(st.integers(1, len(shape))), "eps": draw(EPS)}


register(Entry("BatchNorm", batch_norm,
               st.fixed_dictionaries({"channels": feature_sizes(), "eps": EPS,
                                      "momentum": st.sampled_from([0.9, 0.99])}),
               input_shapes=lambda c, n: [(n, c["channels"])], state=trained_statistics,
               batch_rule=BATCH_STATISTICS, training_modes=(True, False), running_stats=RUNNING))
register(Entry("BatchNormNCHW", batch_norm,
               st.fixed_dictionaries({"channels": st.integers(1, 3), "eps": EPS,
                                      "momentum": st.sampled_from([0.9, 0.99]),
                                      "hw": st.tuples(st.integers(1, 3), st.integers(1, 3))}),
               input_shapes=lambda c, n: [(n, c["channels"], *c["hw"])], state=trained_statistics,
               batch_rule=BATCH_STATISTICS, training_modes=(True, False), running_stats=RUNNING))
register(Entry("LayerNorm", layer_norm, layer_norm_configs()))
register(Entry("Dropout", lambda c, rng, dtype: L.Dropout(c["p"], rng=rng),
               st.fixed_dictionaries({"shape": trailing_shapes(),
                                      "p": st.sampled_from([0.0, 0.25, 0.5, 0.9])}),
               batch_rule=BATCH_MASK, training_modes=(True, False)))
