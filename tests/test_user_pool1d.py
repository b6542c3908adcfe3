"""A user's 1-D max-pool over sequences (N, C, L) gets a TF twin (one row of TF's 2-D pool):
with no twin, finite differences excused its ties and one sending dout to every tied
maximum passed."""
from properties.search import hunt
from tests.owncode_loading import collect_source

POOL1D = '''
import numpy as np


class MaxPool1D:
    def __init__(self, pool=2, stride=2):
        self.pool, self.stride = pool, stride

    def forward(self, x):
        Lo = (x.shape[2] - self.pool) // self.stride + 1
        self.x, self.arg = x, np.empty(x.shape[:2] + (Lo,), int)
        out = np.empty(x.shape[:2] + (Lo,))
        for i in range(Lo):
            win = x[:, :, i * self.stride:i * self.stride + self.pool]
            self.arg[:, :, i] = win.argmax(axis=2)          # the first maximum
            out[:, :, i] = win.max(axis=2)
        return out

    def backward(self, dout):
        dx = np.zeros_like(self.x)
        n, c = np.indices(dout.shape[:2])
        for i in range(dout.shape[2]):
            dx[n, c, i * self.stride + self.arg[:, :, i]] += dout[:, :, i]
        return dx


class MaxPool1DAllTies(MaxPool1D):
    def backward(self, dout):
        dx = np.zeros_like(self.x)
        for i in range(dout.shape[2]):
            s = i * self.stride
            win = self.x[:, :, s:s + self.pool]
            dx[:, :, s:s + self.pool] += (win == win.max(axis=2, keepdims=True)) * dout[:, :, i:i + 1]
        return dx
'''


def test_a_1d_max_pool_gets_a_twin_and_ties_sent_everywhere_are_a_bug(tmp_path):
    found, _ = collect_source(tmp_path, "p1.py", POOL1D)
    assert "TF twin: max_pool" in found["p1.MaxPool1D"].how and "NCL" in found["p1.MaxPool1D"].how
    for label in ("p1.MaxPool1D", "p1.MaxPool1D(stride=1)"):
        assert hunt(label, "grads_tf", max_examples=10, shrink=False) is None, label
    bad = hunt("p1.MaxPool1DAllTies", "grads_tf", max_examples=25)
    assert bad is not None and {r.verdict for r in bad.failures} == {"layer bug"}
