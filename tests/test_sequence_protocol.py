"""The protocol extensions sequence layers need: several outputs, inputs that are not
differentiated, a missing gradient named, and the strategies that draw indices and masks."""
import numpy as np
import pytest

import layers as L
from properties import contract as C
from properties import outputs as O
from properties.sequence_strategies import index_tensor, padded_mask


def test_outputs_are_named_packed_and_mapped_part_by_part():
    lstm = L.LSTMCell(2, 3, rng=np.random.default_rng(0))
    h, c = np.ones((2, 3)), np.arange(6.0).reshape(2, 3)
    assert O.names(lstm, (h, c)) == ["out:h", "out:c"]
    assert O.names(lstm, h) == ["out"]
    assert O.pack((h, c)).tolist() == [1.0] * 6 + list(range(6))
    assert O.pack(h).shape == (2, 3)
    doubled = O.each(lambda a: 2 * a, (h, c))
    assert isinstance(doubled, tuple) and np.array_equal(doubled[1], 2 * c)
    d = (h.copy(), c.copy())
    d0 = O.copy(d)
    d[1][0, 0] = -1
    assert d0[1][0, 0] == 0 and d0[0] is not d[0]


class TwoOutputsOneReturned(L.Layer):
    output_names = ("h", "c")

    def forward(self, x):
        return x


def test_a_layer_promising_two_outputs_and_returning_one_breaks_the_contract():
    with pytest.raises(C.LayerContractError, match=r"output_names \('h', 'c'\) promises a tuple of 2"):
        C.run_forward("Two", TwoOutputsOneReturned(), [np.ones((2, 3))])


class RNNReturnsOnlyDh0(L.RNN):
    def backward(self, dh):
        return super().backward(dh)[1]


def test_a_missing_gradient_is_named_by_matching_shapes():
    layer = RNNReturnsOnlyDh0(2, 3, rng=np.random.default_rng(0))
    x, h0 = np.ones((2, 4, 2)), np.zeros((2, 3))
    out = layer.forward(x, h0)
    with pytest.raises(C.LayerContractError, match="dx is missing") as err:
        C.run_backward("RNN", layer, np.ones_like(out), shapes=[x.shape, h0.shape])
    assert err.value.tensor == "dx"
    # without the shapes only the position is known: the last name
    assert C.missing_gradients(("x", "h0"), (np.zeros((2, 3)),)) == ["h0"]


def test_embedding_takes_no_differentiable_input_and_returns_none():
    emb = L.Embedding(5, 2, rng=np.random.default_rng(0))
    idx = np.array([[1, 1, 4]])
    out = C.run_forward("Embedding", emb, [], [idx])
    dins, grads = C.run_backward("Embedding", emb, np.ones_like(out), shapes=[])
    assert dins == () and grads["W"][1].tolist() == [2.0, 2.0] and C.grad_names(emb) == ["dW"]


@pytest.mark.parametrize("seed", range(20))
def test_index_tensors_always_repeat_an_index(seed):
    idx = index_tensor(np.random.default_rng(seed), (2, 3), 50)
    assert idx.dtype.kind == "i" and idx.shape == (2, 3) and idx.min() >= 0 and idx.max() < 50
    assert len(np.unique(idx)) < idx.size


@pytest.mark.parametrize("seed", range(20))
def test_masks_have_padded_tails(seed):
    mask = padded_mask(np.random.default_rng(seed), 3, 4)
    assert mask.shape == (3, 4) and mask.dtype == bool
    assert not mask[-1].all()                       # the last row is always padded
    for row in mask:                                # kept steps first, padding after
        assert not np.any(row[np.argmin(row):]) if not row.all() else True
    assert padded_mask(np.random.default_rng(seed), 2, 1).all()   # one step: kept
    one = padded_mask(np.random.default_rng(seed), 1, 4)    # a batch of one row keeps a step
    assert one[0, 0] and not one[0, -1]
