"""A layer whose only 2-D param is a bias (a maxout's b (M, K) beside W (D, M, K)) and whose
input no template sized was fed integer indices "into the rows of b": its forward multiplies
them and runs, its dx was never checked, and a backward doubling dx passed. Indices are now
drawn only for a forward that refuses floats of that shape, or returns them no gradient; an
embedding's lookup still gets its indices."""
from tests.owncode_loading import hunt_alone

MAXOUT = '''
import numpy as np


class Maxout:
    def __init__(self, in_dim=3, out_dim=2, k=4, seed=0):
        rng = np.random.default_rng(seed)
        self.W = rng.standard_normal((in_dim, out_dim, k))
        self.b = np.zeros((out_dim, k))
        self.dW, self.db = np.zeros_like(self.W), np.zeros_like(self.b)

    def forward(self, x):
        self.x = x
        z = np.einsum("nd,dmk->nmk", x, self.W) + self.b
        self.arg = np.argmax(z, axis=2)
        return np.max(z, axis=2)

    def backward(self, dout):
        dz = np.zeros(dout.shape + (self.W.shape[2],))
        np.put_along_axis(dz, self.arg[:, :, None], dout[:, :, None], axis=2)
        self.dW, self.db = np.einsum("nd,nmk->dmk", self.x, dz), dz.sum(axis=0)
        return {scale}np.einsum("nmk,dmk->nd", dz, self.W)
'''

LOOKUP = '''
import numpy as np


class Embedding:
    def __init__(self, vocab=4, dim=3):
        self.W = np.random.default_rng(0).standard_normal((vocab, dim))
        self.dW = np.zeros_like(self.W)

    def forward(self, idx):
        self.idx = idx
        return self.W[idx]

    def backward(self, dout):
        self.dW = np.zeros_like(self.W)
        np.add.at(self.dW, self.idx, dout)
'''


def test_a_maxout_takes_floats_and_its_doubled_dx_is_caught(tmp_path):
    item, failed = hunt_alone(tmp_path, "maxout", MAXOUT.format(scale=""))
    assert "floats, not the indices a lookup takes" in item.how, item.how
    assert failed is None, failed
    _, failed = hunt_alone(tmp_path, "maxout_bug", MAXOUT.format(scale="2 * "))
    assert failed is not None and {r.tensor for r in failed.failures} == {"dx"}


def test_an_embedding_still_takes_indices(tmp_path):
    item, failed = hunt_alone(tmp_path, "lookup", LOOKUP)
    assert "integer indices" in item.how and "floats, not" not in item.how, item.how
    assert failed is None, failed
