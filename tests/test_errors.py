"""Bad input and broken layers get clear errors naming the layer, the tensor and what was wrong."""
import numpy as np
import pytest

import layers as L
from properties.catalog.core import SHAPES
from properties.registry import per_sample
from properties.search import hunt
from properties.registry import Entry, register
from properties.strategies import batch_sizes


def test_layer_arguments_are_validated_when_built():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="Dense: in_features must be a positive integer, got 0"):
        L.Dense(0, 3, rng=rng)
    with pytest.raises(ValueError, match="LeakyReLU: alpha must lie in"):
        L.LeakyReLU(alpha=1.5)
    with pytest.raises(ValueError, match="init must be 'he' or 'xavier', got 'zeros'"):
        L.Dense(2, 3, rng=rng, init="zeros")


def test_forward_names_the_tensor_and_the_problem():
    dense = L.Dense(4, 2, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"Dense.forward: x of shape \(3, 5\) has 5 features .*in_features=4"):
        dense.forward(np.ones((3, 5)))
    with pytest.raises(TypeError, match="ReLU.forward: x must be a float array .* got dtype int64"):
        L.ReLU().forward(np.arange(3))
    with pytest.raises(TypeError, match="Sigmoid.forward: x must be a NumPy array, got list"):
        L.Sigmoid().forward([1.0, 2.0])
    with pytest.raises(ValueError, match=r"labels t must lie in \[0, 3\), got values from 0 to 5"):
        L.SoftmaxCrossEntropy().forward(np.zeros((2, 3)), np.array([0, 5]))
    with pytest.raises(ValueError, match=r"MSE.forward: t must have the shape of x \(2, 3\), got \(3, 2\)"):
        L.MSE().forward(np.zeros((2, 3)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="Add.forward: x and y must have the same shape"):
        L.Add().forward(np.zeros(2), np.zeros(3))


class ReturnsNone(L.ReLU):
    def backward(self, dout):
        self._dx = dout * self._mask


class ForgetsGrad(L.Dense):
    def backward(self, dout):
        return dout @ self.params["W"].T


class OneGradForTwoInputs(L.Mul):
    def backward(self, dout):
        return dout * self._y


class NaNGrad(L.Tanh):
    def backward(self, dout):
        return dout * np.nan


def _dense(config, rng, dtype):
    return ForgetsGrad(int(np.prod(config["shape"])), 2, rng=rng, dtype=dtype)


for entry in [
    Entry("broken.ReturnsNone", lambda c, r, d: ReturnsNone(), SHAPES),
    Entry("broken.ForgetsGrad", _dense, SHAPES),
    Entry("broken.OneGradForTwoInputs", lambda c, r, d: OneGradForTwoInputs(),
          SHAPES, input_shapes=lambda c, n: per_sample(c, n) * 2),
    Entry("broken.NaNGrad", lambda c, r, d: NaNGrad(), SHAPES),
]:
    register(entry, planted=__name__)


@pytest.mark.parametrize("name,tensor,message", [
    ("broken.ReturnsNone", "dx", "backward returned None; it must return the gradient"),
    ("broken.ForgetsGrad", "dW", "backward did not write grads['W']"),
    ("broken.OneGradForTwoInputs", "dy", "returned 1 gradient(s) for 2 differentiable input(s) ('x', 'y'): dy is missing"),
])
def test_protocol_violations_become_clear_failures(name, tensor, message):
    found = hunt(name, "grads_tf", max_examples=5)
    assert found is not None
    res = found.failures[0]
    assert res.tensor == tensor and res.verdict == "contract"
    assert name in res.note and message in res.note, res.note


def test_nan_gradient_is_reported_as_such():
    found = hunt("broken.NaNGrad", "grads_tf", max_examples=5)
    res = found.failures[0]
    assert "NaN or Inf" in res.note and res.n_mismatched == res.n_total


def test_registering_again_from_the_same_place_replaces_the_entry():
    """A re-run notebook cell or a re-imported module registers its layer again: no error."""
    from properties.catalog import get
    first = get("broken.NaNGrad")
    again = register(Entry("broken.NaNGrad", lambda c, r, d: NaNGrad(), SHAPES), planted=__name__)
    try:
        assert get("broken.NaNGrad") is again and again is not first
    finally:
        register(first, planted=__name__)


def test_registry_and_strategies_validate_their_arguments():
    with pytest.raises(ValueError, match="a layer named 'broken.NaNGrad' is already registered"):
        register(Entry("broken.NaNGrad", lambda c, r, d: NaNGrad(), SHAPES, source="another file"),
                 planted=__name__)
    with pytest.raises(ValueError, match="batch_rule must be 'sum', 'mean' or a sentence"):
        register(Entry("broken.X", lambda c, r, d: NaNGrad(), SHAPES, batch_rule="no"))
    with pytest.raises(ValueError, match="batch_sizes: need 1 <= min_size <= max_size, got 0, 4"):
        batch_sizes(min_size=0)


def test_replay_rejects_an_unknown_property():
    from properties.replay import main
    with pytest.raises(SystemExit, match="unknown property 'nope'"):
        main(["nope", "{}"])
