"""A user's convolution gets the diagnoses a project conv gets: its geometry (the kernel of its
weight (F, C, KH, KW), its stride and padding as its twin reads them) reaches the diagnosis.
A new user's im2col conv whose col2im overwrote shared cells got no diagnosis at all."""
from properties.search import hunt
from tests.owncode_loading import collect_source

CONV = '''
import numpy as np


class Conv:
    def __init__(self, in_ch=3, out_ch=2, k=3, stride=1, pad=0):
        rng = np.random.default_rng(0)
        self.W = rng.standard_normal((out_ch, in_ch, k, k))
        self.b = np.zeros(out_ch)
        self.stride, self.pad = stride, pad

    def forward(self, x):
        self.x = x
        F, C, k, _ = self.W.shape
        N, _, H, W = x.shape
        s = self.stride
        Ho, Wo = (H - k) // s + 1, (W - k) // s + 1
        out = np.zeros((N, F, Ho, Wo))
        for i in range(Ho):
            for j in range(Wo):
                patch = x[:, :, i * s:i * s + k, j * s:j * s + k]
                out[:, :, i, j] = np.einsum("nchw,fchw->nf", patch, self.W) + self.b
        return out

    def backward(self, dout):
        F, C, k, _ = self.W.shape
        s = self.stride
        dx = np.zeros_like(self.x)
        self.dW = np.zeros_like(self.W)
        self.db = dout.sum(axis=(0, 2, 3))
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                patch = self.x[:, :, i * s:i * s + k, j * s:j * s + k]
                self.dW += np.einsum("nchw,nf->fchw", patch, dout[:, :, i, j])
                dx[:, :, i * s:i * s + k, j * s:j * s + k] {op} np.einsum("nf,fchw->nchw",
                                                                         dout[:, :, i, j], self.W)
        return dx
'''


def test_a_users_conv_overwriting_shared_cells_is_diagnosed_so(tmp_path):
    found, _ = collect_source(tmp_path, "myconv.py", CONV.replace("{op}", "="))
    (label,) = [f for f in found if "(" not in f]
    failed = hunt(label, "grads_tf", max_examples=15)
    assert failed is not None
    kinds = {r.tensor: r.shown_diagnosis.get("kind") for r in failed.failures}
    assert kinds.get("dx") == "overlapping windows", [r.message() for r in failed.failures]


def test_a_right_users_conv_passes(tmp_path):
    found, _ = collect_source(tmp_path, "myconv_ok.py", CONV.replace("{op}", "+="))
    (label,) = [f for f in found if "(" not in f]
    assert hunt(label, "grads_tf", max_examples=10, shrink=False) is None
