"""A user's 1-D convolution, W (F, C, K), is sized from its weight to sequences with at
least three outputs at its stride: sized from its docstring to one output, a backward
ignoring the stride passed; the padded variants were skipped (probed with 4 channels)."""
from properties.search import hunt
from tests.owncode_loading import collect_source

CONV1D = '''
import numpy as np


class Conv1D:
    """x: (N, C, L), W: (F, C, K)"""
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, pad=0):
        self.W = np.random.default_rng(0).standard_normal(
            (out_channels, in_channels, kernel_size)) * 0.1
        self.b = np.zeros(out_channels)
        self.stride, self.pad = stride, pad

    def forward(self, x):
        self.x = x
        self.xp = xp = np.pad(x, ((0, 0), (0, 0), (self.pad, self.pad)))
        F, _, K = self.W.shape
        Lo = (xp.shape[2] - K) // self.stride + 1
        out = np.empty((x.shape[0], F, Lo))
        for i in range(Lo):
            s = i * self.stride
            out[:, :, i] = np.einsum("nck,fck->nf", xp[:, :, s:s + K], self.W) + self.b
        return out

    def backward(self, dout):
        K = self.W.shape[2]
        dxp = np.zeros_like(self.xp)
        self.dW, self.db = np.zeros_like(self.W), dout.sum(axis=(0, 2))
        for i in range(dout.shape[2]):
            s = i * self.step()
            self.dW += np.einsum("nf,nck->fck", dout[:, :, i], self.xp[:, :, s:s + K])
            dxp[:, :, s:s + K] += np.einsum("nf,fck->nck", dout[:, :, i], self.W)
        return dxp[:, :, self.pad:dxp.shape[2] - self.pad]

    def step(self):
        return self.stride


class Conv1DStrideIgnored(Conv1D):
    def step(self):
        return 1
'''


def test_a_1d_conv_is_sized_from_its_weight_and_a_stride_ignored_is_caught(tmp_path):
    found, collected = collect_source(tmp_path, "c1.py", CONV1D)
    assert not collected.skipped
    assert "a 1-D convolution's sequences" in found["c1.Conv1D(stride=2, pad=1)"].how
    for label in ("c1.Conv1D", "c1.Conv1D(stride=2)", "c1.Conv1D(stride=2, pad=1)"):
        assert hunt(label, "grads_fd", max_examples=5, shrink=False) is None, label
    for label in ("c1.Conv1DStrideIgnored(stride=2)", "c1.Conv1DStrideIgnored(stride=2, pad=1)"):
        bad = hunt(label, "grads_fd", max_examples=5, shrink=False)
        assert bad is not None and "dx" in {r.tensor for r in bad.failures}, label
