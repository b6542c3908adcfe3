"""A coupling layer halving its width asserts it is even (``assert dim % 2 == 0``); built at the
usual odd size it was skipped as "AssertionError: ;" and its bug went unchecked without a
hint. A constructor that refuses the usual sizes is tried again with every size even, and one
that refuses those too is skipped showing the line that raised."""
from tests.owncode_loading import collect_source, hunt_alone

COUPLING = '''
import numpy as np


class AffineCoupling:
    """x: (N, D), D = dim; x[:, :D/2] is kept, the rest scaled and shifted"""
    def __init__(self, dim, seed=0):
        assert dim % 2 == 0
        self.dim, d = dim, dim // 2
        rng = np.random.RandomState(seed)
        self.W_s, self.b_s = rng.randn(d, d) * 0.5, np.zeros(d)
        self.W_t, self.b_t = rng.randn(d, d) * 0.5, np.zeros(d)

    def forward(self, x):
        d = self.dim // 2
        self.x1, self.x2 = x[:, :d], x[:, d:]
        self.s = np.tanh(self.x1 @ self.W_s + self.b_s)
        self.exp_s = np.exp(self.s)
        y2 = self.x2 * self.exp_s + self.x1 @ self.W_t + self.b_t
        return np.hstack([self.x1, y2]), self.s.sum(axis=1)

    def backward(self, dy, dlog_det):
        d = self.dim // 2
        dy1, dy2 = dy[:, :d], dy[:, d:]
        ds = dy2 * self.x2 * self.exp_s{logdet}
        da_s = ds * (1 - self.s ** 2)
        self.dW_s, self.db_s = self.x1.T @ da_s, da_s.sum(axis=0)
        self.dW_t, self.db_t = self.x1.T @ dy2, dy2.sum(axis=0)
        return np.hstack([dy1 + da_s @ self.W_s.T + dy2 @ self.W_t.T, dy2 * self.exp_s])
'''


def test_a_constructor_refusing_odd_sizes_is_built_with_even_ones(tmp_path):
    item, failed = hunt_alone(tmp_path, "coupling", COUPLING.format(logdet=" + dlog_det[:, None]"))
    assert "(N, 4)" in item.how and failed is None, (item.how, failed)
    _, failed = hunt_alone(tmp_path, "coupling_bug", COUPLING.format(logdet=""))
    assert failed is not None and "dW_s" in {r.tensor for r in failed.failures}


def test_a_constructor_refusing_every_size_is_skipped_showing_the_line(tmp_path):
    refusing = COUPLING.format(logdet="").replace("assert dim % 2 == 0", "assert dim > 100")
    _, collected = collect_source(tmp_path, "refusing.py", refusing)
    skipped = collected.skipped
    assert any("at `assert dim > 100`" in s.reason for s in skipped), [s.reason for s in skipped]
