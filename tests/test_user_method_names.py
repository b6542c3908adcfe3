"""The names people give the two passes: ``X_fwd`` / ``X_bwd`` and ``X_fprop`` / ``X_bprop``
pairs, classes with ``forward_pass`` / ``backward_pass``, ``fprop`` / ``bprop``, ``__call__``
and a backward. They were not found (nothing said so) or skipped; each is now checked, a wrong
one fails, and a renamed backward taking a learning rate still updates the layer itself."""
import pytest

from tests.owncode_loading import collect_source
from properties.search import hunt

NAMED = '''
import numpy as np


def tanh_fwd(x):
    y = np.tanh(x)
    return y, y


def tanh_bwd(dy, cache):
    return dy * (1 - cache ** 2)


def affine_fprop(x, W, b):
    return x @ W + b, (x, W)


def affine_bprop(dout, cache):
    x, W = cache
    return dout @ W.T, x.T @ dout, dout.mean(axis=0)      # db averaged: wrong


class CallTanh:
    def __call__(self, x):
        self.y = np.tanh(x)
        return self.y

    def backward(self, dy):
        return dy * (1 - self.y ** 2)


class PassTanh:
    def forward_pass(self, x):
        self.y = np.tanh(x)
        return self.y

    def backward_pass(self, dy):
        return dy * (1 - self.y ** 2)


class PropDense:
    def __init__(self, n_in=3, n_out=2):
        rng = np.random.default_rng(0)
        self.W, self.b = rng.standard_normal((n_in, n_out)), np.zeros(n_out)

    def fprop(self, x):
        self.x = x
        return x @ self.W + self.b

    def bprop(self, dout):
        self.dW = self.x.T @ dout / len(dout)     # averaged over the batch: wrong
        self.db = dout.sum(axis=0)
        return dout @ self.W.T


class SteppingDense(PropDense):
    def bprop(self, dout, lr):
        dx = dout @ self.W.T
        self.W -= lr * self.x.T @ dout
        self.b -= lr * dout.sum(axis=0)
        return dx
'''


@pytest.fixture(scope="module")
def found(tmp_path_factory):
    return collect_source(tmp_path_factory.mktemp("names"), "named.py", NAMED)[1]


def test_every_naming_is_found(found):
    assert not found.skipped and not found.problems
    styles = {f.label: f.style for f in found.found}
    assert styles == {"named.tanh": "functional", "named.affine": "functional",
                      "named.CallTanh": "attribute", "named.PassTanh": "attribute",
                      "named.PropDense": "attribute", "named.SteppingDense": "self-updating"}


@pytest.mark.parametrize("layer", ["named.tanh", "named.CallTanh", "named.PassTanh",
                                   "named.SteppingDense"])
def test_correct_layers_pass(found, layer):
    for prop in ("grads_tf", "grads_fd", "batch_resize"):
        assert hunt(layer, prop, max_examples=5, shrink=False) is None, prop


@pytest.mark.parametrize("layer, tensor", [("named.affine", "db"), ("named.PropDense", "dW")])
def test_wrong_ones_fail_on_the_wrong_tensor(found, layer, tensor):
    bad = hunt(layer, "grads_tf", max_examples=8)
    assert bad is not None and tensor in {r.tensor for r in bad.failures}


ODD_PAIR = '''
import numpy as np


def stacked_forward(x, w, b):
    return np.einsum("nd,kdm->nm", x, w) + b, (x, w)


def stacked_backward(dout, cache):
    x, w = cache
    return (np.einsum("nm,kdm->nd", dout, w), np.einsum("nd,nm->dm", x, dout)[None].repeat(
        len(w), 0), dout.sum(0))
'''


def test_a_pair_it_cannot_size_gets_a_hint_naming_every_shape(tmp_path):
    """The suggestion named only the bias (the 1-D guess): filled in, the next message asked
    for w. It names every input and parameter at once."""
    _, collected = collect_source(tmp_path, "odd.py", ODD_PAIR)
    (skipped,) = collected.skipped
    assert skipped.reason.endswith("# gradcheck: stacked_forward; x=(N, ...); w=(...); b=(...)")
