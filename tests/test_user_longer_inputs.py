"""A probed input on which the output has an axis of one is made longer (one window hides
windows that overlap): a framer and a valid convolution whose backward assigns where it must
add passed at (N, 5), the first shape probed, and at a docstring's (N, L) at L = 4."""
import pytest

from properties.search import hunt

from tests.owncode_loading import collect_source

FRAMER = '''
import numpy as np


class Framer:
    """Split (N, L) signals into frames of frame_len samples every hop samples."""

    def __init__(self, frame_len=4, hop=2):
        self.frame_len, self.hop = frame_len, hop

    def forward(self, x):
        n_frames = (x.shape[1] - self.frame_len) // self.hop + 1
        self.in_shape = x.shape
        return np.stack([x[:, i * self.hop:i * self.hop + self.frame_len]
                         for i in range(n_frames)], axis=1)

    def backward(self, dout):
        dx = np.zeros(self.in_shape, dtype=dout.dtype)
        for i in range(dout.shape[1]):
            s = i * self.hop
            dx[:, s:s + self.frame_len] {op} dout[:, i]
        return dx
'''

FRAME_FN = '''
import numpy as np


def frame_forward(x, frame_len=4, hop=3):
    """x: (N, L) -> frames (N, F, frame_len), and a cache."""
    n = (x.shape[1] - frame_len) // hop + 1
    return np.stack([x[:, i * hop:i * hop + frame_len] for i in range(n)], axis=1), (x, frame_len, hop)


def frame_backward(dout, cache):
    x, frame_len, hop = cache
    dx = np.zeros_like(x)
    for i in range(dout.shape[1]):
        dx[:, i * hop:i * hop + frame_len] {op} dout[:, i]
    return dx
'''

VALID_CONV = '''
import numpy as np


class ValidConv1D:
    def __init__(self, k=5, seed=0):
        self.w = np.random.default_rng(seed).standard_normal(k) * 0.5
        self.dw = np.zeros_like(self.w)

    def forward(self, x):
        self.x = x
        k = self.w.size
        return np.stack([x[:, i:i + k] @ self.w for i in range(x.shape[1] - k + 1)], axis=1)

    def backward(self, dout):
        k = self.w.size
        dx = np.zeros_like(self.x)
        self.dw = np.zeros_like(self.w)
        for i in range(dout.shape[1]):
            dx[:, i:i + k] {op} dout[:, i:i + 1] * self.w
            self.dw += self.x[:, i:i + k].T @ dout[:, i]
        return dx
'''

DENSE = '''
import numpy as np


class Score:
    def __init__(self):
        self.W = np.random.default_rng(0).standard_normal((5, 1))
        self.dW = np.zeros_like(self.W)

    def forward(self, x):
        self.x = x
        return x @ self.W

    def backward(self, dout):
        self.dW = self.x.T @ dout
        return dout @ self.W.T
'''


@pytest.mark.parametrize("source,label,longer", [
    (FRAMER, "Framer", "(N, 6)"), (FRAME_FN, "frame", "(N, 7)"), (VALID_CONV, "ValidConv1D", "(N, 6)")])
def test_an_output_of_one_window_is_checked_on_a_longer_input(tmp_path, source, label, longer):
    for name, op, right in (("ok", "+=", True), ("bug", "=", False)):
        (tmp_path / name).mkdir()
        found, collected = collect_source(tmp_path / name, f"{name}.py", source.replace("{op}", op))
        item = found.get(f"{name}.{label}") or pytest.fail(f"{sorted(found)} {collected.skipped}")
        assert f"; made longer, {longer}: on " in item.how, item.how
        assert (hunt(f"{name}.{label}", "grads_fd", max_examples=15, shrink=False) is None) == right


def test_an_output_axis_of_one_a_weight_binds_keeps_its_shape(tmp_path):
    """A score (N, 1) of a dense weight (5, 1): the input's width is the weight's, no longer."""
    found, _ = collect_source(tmp_path, "dense.py", DENSE)
    assert "made longer" not in found["dense.Score"].how
    assert "(N, 5)" in found["dense.Score"].how
