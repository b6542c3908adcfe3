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


GMF = '''
import numpy as np


class GMF:
    def __init__(self, n_users, n_items, k=4):
        rng = np.random.default_rng(0)
        self.P, self.Q = rng.standard_normal((n_users, k)), rng.standard_normal((n_items, k))
        self.h = rng.standard_normal(k)

    def forward(self, users, items):
        self.users, self.items = users, items
        self.pu, self.qi = self.P[users], self.Q[items]
        return (self.pu * self.qi) @ self.h

    def backward(self, dlogit):
        self.dh = (self.pu * self.qi).T @ dlogit
        dphi = dlogit[:, None] * self.h[None, :]
        self.dP, self.dQ = np.zeros_like(self.P), np.zeros_like(self.Q)
        np.add.at(self.dP, self.users, dphi * self.qi)
        {scatter_q}
'''


def test_a_forward_of_user_and_item_ids_takes_an_index_array_each(tmp_path):
    """``forward(users, items)`` was probed with one argument and not checked; ids named so
    are integer indices, each below every table's rows, and a scatter that drops repeated
    item ids is caught."""
    item, failed = hunt_alone(tmp_path, "gmf", GMF.format(
        scatter_q="np.add.at(self.dQ, self.items, dphi * self.pu)"))
    assert "users, items: integer indices (N,)" in item.how, item.how
    assert failed is None, failed
    _, failed = hunt_alone(tmp_path, "gmf_bug", GMF.format(
        scatter_q="self.dQ[self.items] += dphi * self.pu"))
    assert failed is not None and {r.tensor for r in failed.failures} == {"dQ"}
