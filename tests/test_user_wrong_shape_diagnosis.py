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


DENSE = '''
import numpy as np


class Dense:
    def __init__(self, n_in=3, n_out=2):
        self.W = np.random.default_rng(0).standard_normal((n_in, n_out))
        self.b = np.zeros(n_out)

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, dout):
        self.dW = {dW}
        self.db = dout.sum(axis=0)
        return dout @ self.W.T
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


def test_a_wrong_shape_that_is_no_transpose_is_not_called_one(tmp_path):
    """Shrunk to x = 0, the oracle's dW is all 0 and fits any reshuffle of the layer's zeros:
    a dW of sin(x) in the transposed shape was diagnosed "transposed" (a new user's find)."""
    found, _ = collect_source(tmp_path, "dense_sin.py", DENSE.format(dW="dout.T @ np.sin(self.x)"))
    failed = hunt("dense_sin.Dense", "grads_tf", max_examples=10)
    (dw,) = [r for r in failed.failures if r.tensor == "dW"]
    assert "differs from the expected (3, 2)" in dw.note
    assert dw.shown_diagnosis.get("kind") != "transposed", dw.message()


def test_a_wrong_shape_is_called_transposed_only_where_the_values_say_so():
    """An oracle of all 0 (the shrunk case x = 0) fits any reshuffle of the layer's zeros:
    "transposed" there was said of every wrong shape, sin(x) too. Nonzero values still say it."""
    import numpy as np
    from oracle.diagnosis import diagnose
    rng = np.random.default_rng(0)
    want = rng.standard_normal((3, 2))
    context = {"dtype": "float64", "oracle": "tf", "tensor": "dW"}
    assert diagnose(want.T.copy(), want, context=context).kind == "transposed"
    assert diagnose(np.sin(want).T, want, context=context) is None
    assert diagnose(np.zeros((2, 3)), np.zeros((3, 2)), context=context) is None
