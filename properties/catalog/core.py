"""Registry entries for the dense layers, activations, nodes and losses: one entry a layer."""
import numpy as np
from hypothesis import strategies as st

import layers as L
from properties.registry import Entry, per_sample, register
from properties.strategies import feature_sizes, trailing_shapes

SHAPES = st.fixed_dictionaries({"shape": trailing_shapes()})


def stateless(cls, *hyper):
    """``make`` for a layer whose constructor takes only ``hyper``, named config keys."""
    return lambda config, rng, dtype: cls(**{k: config[k] for k in hyper})


def dense(config, rng, dtype):
    return L.Dense(int(np.prod(config["shape"])), config["out"], rng=rng, dtype=dtype)


register(Entry("Dense", dense,
               st.fixed_dictionaries({"shape": trailing_shapes(max_side=4), "out": feature_sizes()})))
register(Entry("ReLU", stateless(L.ReLU), SHAPES))
register(Entry("LeakyReLU", stateless(L.LeakyReLU, "alpha"),
               st.fixed_dictionaries({"shape": trailing_shapes(),
                                      "alpha": st.sampled_from([0.01, 0.2])})))
register(Entry("Sigmoid", stateless(L.Sigmoid), SHAPES))
register(Entry("Tanh", stateless(L.Tanh), SHAPES))
register(Entry("Softmax", stateless(L.Softmax), SHAPES))
register(Entry("Flatten", stateless(L.Flatten),
               st.fixed_dictionaries({"shape": trailing_shapes(max_dims=3, max_side=3)})))
register(Entry("Add", stateless(L.Add), SHAPES, input_shapes=lambda c, n: per_sample(c, n) * 2))
register(Entry("Mul", stateless(L.Mul), SHAPES, input_shapes=lambda c, n: per_sample(c, n) * 2))


def class_labels(config, n, rng, dtype):
    labels = rng.integers(0, config["classes"], size=n)
    if config["labels"] == "int":
        return (labels,)
    return (np.eye(config["classes"], dtype=dtype)[labels],)


register(Entry("SoftmaxCrossEntropy", stateless(L.SoftmaxCrossEntropy),
               st.fixed_dictionaries({"classes": st.integers(2, 6),
                                      "labels": st.sampled_from(["int", "onehot"])}),
               input_shapes=lambda c, n: [(n, c["classes"])], targets=class_labels, batch_rule="mean"))
register(Entry("MSE", stateless(L.MSE), SHAPES, batch_rule="mean",
               targets=lambda c, n, rng, dtype: (rng.standard_normal((n, *c["shape"])).astype(dtype),)))
register(Entry("BCEWithLogits", stateless(L.BCEWithLogits), SHAPES, batch_rule="mean",
               targets=lambda c, n, rng, dtype: (rng.uniform(0, 1, (n, *c["shape"])).round(1).astype(dtype),)))
