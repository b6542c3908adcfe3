"""Registry entries for the dense layers, activations, nodes and losses: one entry a layer."""
import numpy as np
from hypothesis import strategies as st

import layers as L
from properties.registry import Entry, register
from properties.strategies import feature_sizes, trailing_shapes


def per_sample(config, n):
    return [(n, *config["shape"])]


SHAPES = st.fixed_dictionaries({"shape": trailing_shapes()})


def stateless(cls, *hyper):
    """Builder for a layer without params; ``hyper`` names the config keys passed to it."""
    return lambda config, rng, dtype: cls(**{k: config[k] for k in hyper})


def dense(config, rng, dtype):
    layer = L.Dense(int(np.prod(config["shape"])), config["out"], rng=rng, dtype=dtype)
    layer.params["b"] = rng.standard_normal(config["out"]).astype(dtype)  # zeros would hide +b bugs
    return layer


register(Entry("Dense", dense, per_sample,
               st.fixed_dictionaries({"shape": trailing_shapes(max_side=4), "out": feature_sizes()})))
register(Entry("ReLU", stateless(L.ReLU), per_sample, SHAPES))
register(Entry("LeakyReLU", stateless(L.LeakyReLU, "alpha"), per_sample,
               st.fixed_dictionaries({"shape": trailing_shapes(),
                                      "alpha": st.sampled_from([0.01, 0.2])})))
register(Entry("Sigmoid", stateless(L.Sigmoid), per_sample, SHAPES))
register(Entry("Tanh", stateless(L.Tanh), per_sample, SHAPES))
register(Entry("Softmax", stateless(L.Softmax), per_sample, SHAPES))
register(Entry("Flatten", stateless(L.Flatten), per_sample,
               st.fixed_dictionaries({"shape": trailing_shapes(max_dims=3, max_side=3)})))
register(Entry("Add", stateless(L.Add), lambda c, n: per_sample(c, n) * 2, SHAPES))
register(Entry("Mul", stateless(L.Mul), lambda c, n: per_sample(c, n) * 2, SHAPES))


def class_labels(config, n, rng, dtype):
    labels = rng.integers(0, config["classes"], size=n)
    if config["labels"] == "int":
        return (labels,)
    return (np.eye(config["classes"], dtype=dtype)[labels],)


register(Entry("SoftmaxCrossEntropy", stateless(L.SoftmaxCrossEntropy),
               lambda c, n: [(n, c["classes"])],
               st.fixed_dictionaries({"classes": st.integers(2, 6),
                                      "labels": st.sampled_from(["int", "onehot"])}),
               targets=class_labels, batch_rule="mean"))
register(Entry("MSE", stateless(L.MSE), per_sample, SHAPES, batch_rule="mean",
               targets=lambda c, n, rng, dtype: (rng.standard_normal((n, *c["shape"])).astype(dtype),)))
register(Entry("BCEWithLogits", stateless(L.BCEWithLogits), per_sample, SHAPES, batch_rule="mean",
               targets=lambda c, n, rng, dtype: (rng.uniform(0, 1, (n, *c["shape"])).round(1).astype(dtype),)))
