"""A user's seed-style layers, checked through the adapter without rewriting them."""
import numpy as np
import pytest
from hypothesis import strategies as st

from layers import AttributeLayer
from oracle import twins
from properties.catalog.core import SHAPES
from properties.search import hunt
from properties.registry import Entry, register
from properties.strategies import feature_sizes, trailing_shapes
from tests.user_layers import seed_style


def affine(config, rng, dtype):
    d, m = int(np.prod(config["shape"])), config["out"]
    return AttributeLayer(seed_style.Affine(rng.standard_normal((d, m)).astype(dtype),
                                            rng.standard_normal(m).astype(dtype)))


ENTRIES = {
    "user.Affine": Entry("user.Affine", affine,
                         st.fixed_dictionaries({"shape": trailing_shapes(max_side=4),
                                                "out": feature_sizes()}), twin=twins.dense),
    "user.Relu": Entry("user.Relu", lambda c, rng, dtype: AttributeLayer(seed_style.Relu()),
                       SHAPES, twin=twins.relu),
    "user.Sigmoid": Entry("user.Sigmoid", lambda c, rng, dtype: AttributeLayer(seed_style.Sigmoid()),
                          SHAPES, twin=twins.sigmoid, tf_kinds=("normal", "ties", "fd_safe")),
}
for _entry in ENTRIES.values():
    register(_entry, planted=__name__)


def test_adapter_finds_the_seed_attributes_and_views_them_live():
    inner = seed_style.Affine(np.ones((3, 2)), np.zeros(2))
    layer = AttributeLayer(inner)
    assert list(layer.params) == ["W", "b"]
    layer.params["W"][0, 0] = 5.0           # an in-place update reaches the user's array
    assert inner.W[0, 0] == 5.0
    layer.params["b"] = np.full(2, 7.0)     # rebinding reaches the user's attribute
    assert inner.b[0] == 7.0
    with pytest.raises(KeyError, match="attribute 'dW' is missing or None"):
        layer.grads["W"]
    layer.forward(np.ones((4, 3)))
    layer.backward(np.ones((4, 2)))
    assert layer.grads["W"] is inner.dW


def test_adapter_rejects_an_object_without_forward_and_backward():
    with pytest.raises(TypeError, match=r"AttributeLayer\(object\): .*forward\(\) and backward\(\)"):
        AttributeLayer(object())


@pytest.mark.parametrize("name", ["user.Affine", "user.Sigmoid"])
@pytest.mark.parametrize("prop", ["forward_tf", "grads_tf", "grads_fd", "no_mutation",
                                  "linear_in_dout", "batch_additive", "batch_resize"])
def test_correct_seed_style_layers_pass_the_battery(name, prop):
    found = hunt(name, prop, max_examples=10, shrink=False)
    assert found is None, found and found.failures[0].message()


@pytest.mark.planted
def test_seed004_relu_is_caught_overwriting_dout(result_log):
    found = hunt("user.Relu", "no_mutation", max_examples=20)
    assert found is not None
    result_log.add(found.failures)
    (res,) = found.failures
    assert res.tensor == "dout" and "overwrote the caller's upstream gradient" in res.note


def test_seed004_relu_gradients_are_right_apart_from_the_mutation():
    assert hunt("user.Relu", "grads_tf", max_examples=20, shrink=False) is None

