"""A gradient of the wrong shape that is the transpose of the right one is diagnosed
"transposed" against finite differences too: held against zeros of the right shape (all a
failed shape check compared), a 1x1 convolution's dW (C, F) for (F, C) with no TF twin got no
diagnosis, where the same slip against TF got one (found by a new user)."""
from properties.search import hunt
from tests.owncode_loading import collect_source

CONV1X1 = '''
import numpy as np


class Conv1x1:
    def __init__(self, in_channels=3, out_channels=2):
        rng = np.random.default_rng(0)
        self.W = rng.standard_normal((out_channels, in_channels))
        self.b = np.zeros(out_channels)

    def forward(self, x):
        N, C, H, W = x.shape
        self.shape, self.xf = x.shape, x.transpose(0, 2, 3, 1).reshape(-1, C)
        return (self.xf @ self.W.T + self.b).reshape(N, H, W, -1).transpose(0, 3, 1, 2)

    def backward(self, dout):
        N, C, H, W = self.shape
        doutf = dout.transpose(0, 2, 3, 1).reshape(-1, dout.shape[1])
        self.dW = {dW}
        self.db = doutf.sum(axis=0)
        return (doutf @ self.W).reshape(N, H, W, C).transpose(0, 3, 1, 2)
'''


def test_a_transposed_gradient_of_the_wrong_shape_is_diagnosed_against_finite_differences(
        tmp_path):
    found, _ = collect_source(tmp_path, "conv1x1_bug.py", CONV1X1.format(dW="self.xf.T @ doutf"))
    label = "conv1x1_bug.Conv1x1"     # (found without a hint: images probed through its W)
    assert label in found
    failed = hunt(label, "grads_fd", max_examples=10)
    (dw,) = [r for r in failed.failures if r.tensor == "dW"]
    assert dw.oracle == "fd" and "shape (3, 2) differs from the expected (2, 3)" in dw.note
    assert dw.shown_diagnosis.get("kind") == "transposed", dw.message()


def test_the_right_one_passes(tmp_path):
    found, _ = collect_source(tmp_path, "conv1x1_ok.py", CONV1X1.format(dW="doutf.T @ self.xf"))
    assert found
    for label in found:
        assert hunt(label, "grads_fd", max_examples=10, shrink=False) is None, label
