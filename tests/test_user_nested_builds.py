"""A hint building a wrapper around a sublayer whose constructor draws its weights with
np.random (``Residual(sublayer=Linear(4, 4))``): each build of the layer (the case, the float64
copy, a fresh layer for a law) made another sublayer, and a correct residual failed as a layer
bug. Users' objects are now built under a seeded np.random, the user's own state put back."""
import numpy as np

from properties.search import hunt
from tests.owncode_loading import collect_source

SOURCE = '''
# gradcheck: Residual(sublayer=Linear(4, 4)); x=(N, 4)
import numpy as np


class Linear:
    def __init__(self, d_in, d_out):
        self.W = np.random.randn(d_in, d_out) * 0.5
        self.b = np.random.randn(d_out) * 0.1

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, dout):
        self.dW = self.x.T @ dout
        self.db = dout.sum(axis=0)
        return dout @ self.W.T


class Residual:
    def __init__(self, sublayer):
        self.sublayer = sublayer

    def forward(self, x):
        return x + self.sublayer.forward(x)

    def backward(self, dout):
        return {dx}
'''


def test_a_wrapper_around_a_randomly_built_sublayer_passes(tmp_path):
    np.random.seed(123)
    state = np.random.get_state()
    found, _ = collect_source(tmp_path, "nested_residual_ok.py",
                              SOURCE.format(dx="dout + self.sublayer.backward(dout)"))
    label = next(lab for lab in found if lab.endswith(".Residual"))
    for prop in ("grads_fd", "batch_additive", "batch_resize"):
        assert hunt(label, prop, max_examples=10, shrink=False) is None, prop
    after = np.random.get_state()
    assert after[0] == state[0] and np.array_equal(after[1], state[1]) and after[2] == state[2]


def test_its_identity_path_dropped_in_backward_still_fails(tmp_path):
    found, _ = collect_source(tmp_path, "nested_residual_bug.py",
                              SOURCE.format(dx="self.sublayer.backward(dout)"))
    label = next(lab for lab in found if lab.endswith(".Residual"))
    failed = hunt(label, "grads_fd", max_examples=10)
    assert failed is not None and {r.tensor for r in failed.failures} == {"dx"}
