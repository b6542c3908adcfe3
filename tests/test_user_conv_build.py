"""Convolution classes built from their constructor's (W, b). The placeholder kernel was
(2, 2, 3, 3) for every conv: F = C hid a backward reading one for the other, a ``Conv1D``
got a 4-D kernel and was skipped, and a transposed convolution ran only because F = C. The
kernel is now (3, 2, 3, 3) (a 1-D conv's (3, 2, 3)), a conv's bias per filter (a transposed
one's per output channel), and a 4-D weight may size a transposed convolution's input."""
import pytest

from properties.search import hunt
from tests.owncode_loading import collect_source

SOURCE = '''
import numpy as np


class Convolution:
    """Direct NCHW cross-correlation, stride 1, no padding."""
    def __init__(self, W, b):
        self.W, self.b = W, b

    def forward(self, x):
        self.x = x
        F, C, KH, KW = self.W.shape
        N, _, H, Wd = x.shape
        out = np.zeros((N, F, H - KH + 1, Wd - KW + 1))
        for i in range(H - KH + 1):
            for j in range(Wd - KW + 1):
                out[:, :, i, j] = np.tensordot(x[:, :, i:i + KH, j:j + KW], self.W,
                                               axes=([1, 2, 3], [1, 2, 3])) + self.b
        return out

    def backward(self, dout):
        F, C, KH, KW = self.W.shape
        return self._backward(dout, F, C, KH, KW)

    def _backward(self, dout, F, C, KH, KW):
        x = self.x
        self.dW = np.zeros((F, C, KH, KW))
        self.db = dout.sum(axis=(0, 2, 3))
        dx = np.zeros_like(x)
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                self.dW += np.tensordot(dout[:, :, i, j], x[:, :, i:i + KH, j:j + KW], axes=([0], [0]))
                dx[:, :, i:i + KH, j:j + KW] += np.tensordot(dout[:, :, i, j], self.W, axes=([1], [0]))
        return dx


class ConvolutionReadsFforC(Convolution):
    def backward(self, dout):
        C, F, KH, KW = self.W.shape          # the filter and channel axes swapped
        return self._backward(dout, F, C, KH, KW)


class Conv1D:
    def __init__(self, W, b):
        self.W, self.b = W, b                 # (F, C, K), (F,)

    def forward(self, x):
        self.x = x
        F, C, K = self.W.shape
        L = x.shape[2] - K + 1
        return np.stack([np.tensordot(x[:, :, i:i + K], self.W, axes=([1, 2], [1, 2]))
                         for i in range(L)], axis=2) + self.b[None, :, None]

    def backward(self, dout):
        F, C, K = self.W.shape
        self.db = dout.sum(axis=(0, 2))
        self.dW = np.zeros_like(self.W)
        dx = np.zeros_like(self.x)
        for i in range(dout.shape[2]):
            self.dW += np.tensordot(dout[:, :, i], self.x[:, :, i:i + K], axes=([0], [0]))
            dx[:, :, i:i + K] += np.tensordot(dout[:, :, i], self.W, axes=([1], [0]))
        return dx


class ConvTranspose2D:
    def __init__(self, W, b):
        self.W, self.b = W, b                 # (C_in, C_out, KH, KW), (C_out,)

    def forward(self, x):
        self.x = x
        Cin, Cout, KH, KW = self.W.shape
        N, _, H, Wd = x.shape
        out = np.zeros((N, Cout, H + KH - 1, Wd + KW - 1))
        for i in range(H):
            for j in range(Wd):
                out[:, :, i:i + KH, j:j + KW] += np.tensordot(x[:, :, i, j], self.W, axes=([1], [0]))
        return out + self.b[None, :, None, None]

    def backward(self, dout):
        Cin, Cout, KH, KW = self.W.shape
        x = self.x
        self.db = dout.sum(axis=(0, 2, 3))
        self.dW = np.zeros_like(self.W)
        dx = np.zeros_like(x)
        for i in range(x.shape[2]):
            for j in range(x.shape[3]):
                patch = dout[:, :, i:i + KH, j:j + KW]
                self.dW += np.tensordot(x[:, :, i, j], patch, axes=([0], [0]))
                dx[:, :, i, j] = np.tensordot(patch, self.W, axes=([1, 2, 3], [1, 2, 3]))
        return dx
'''


@pytest.fixture(scope="module")
def found(tmp_path_factory):
    return collect_source(tmp_path_factory.mktemp("convbuild"), "convs.py", SOURCE)[0]


@pytest.mark.parametrize("label, how", [
    ("convs.Convolution", "from W (3, 2, 3, 3)"),
    ("convs.Conv1D", "from W (3, 2, 3), stride 1, pad 0: a 1-D convolution's sequences"),
    ("convs.ConvTranspose2D", "on its first axis (C_in, C_out, KH, KW), as a transposed or a "
                              "depthwise convolution takes them")])
def test_each_conv_is_built_sized_and_passes(found, label, how):
    assert how in found[label].how, found[label].how
    for prop in ("grads_tf", "grads_fd"):
        assert hunt(label, prop, max_examples=5, shrink=False) is None, (label, prop)


def test_a_backward_reading_the_filter_axis_for_the_channel_axis_is_not_a_pass(tmp_path):
    """With F = C it passed; now its backward raises on every input, and the skip (exit 3,
    never a pass) names the error."""
    found, collected = collect_source(tmp_path, "convs_f_for_c.py", SOURCE)
    assert "convs_f_for_c.ConvolutionReadsFforC" not in found
    (skip,) = [s for s in collected.skipped if s.label == "convs_f_for_c.ConvolutionReadsFforC"]
    assert skip.unchecked and "backward raised" in skip.reason and "broadcast" in skip.reason
