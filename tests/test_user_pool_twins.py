"""Pooling twins for users' layers: a max-pool padded with -inf (TF's SAME, PyTorch) beside one
padded with zeros (deep-learning-from-scratch's im2col), told apart on negative inputs; and
global max / average pooling, whose tie convention only a twin can check.

Before, a -inf-padded pool at stride 1 was matched by chance to the zero-padded twin and failed
forward_tf as if its forward were wrong; a global max-pool had no twin, so finite differences
alone judged it, which excuse ties, and a gradient sent to every tied maximum passed."""
from properties.search import hunt
from tests.owncode_loading import collect_source

POOL = '''
import numpy as np


class MaxPool2D:
    def __init__(self, pool_size=3, stride=1, pad=1):
        self.pool_size, self.stride, self.pad = pool_size, stride, pad

    def forward(self, x):
        k, s, p = self.pool_size, self.stride, self.pad
        N, C, H, W = x.shape
        xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values={fill})
        Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
        out = np.zeros((N, C, Ho, Wo), dtype=x.dtype)
        self.arg = np.zeros((N, C, Ho, Wo), dtype=np.int64)
        for i in range(Ho):
            for j in range(Wo):
                win = xp[:, :, i * s:i * s + k, j * s:j * s + k].reshape(N, C, -1)
                self.arg[:, :, i, j] = win.argmax(axis=2)
                out[:, :, i, j] = win.max(axis=2)
        self.x_shape = x.shape
        return out

    def backward(self, dout):
        k, s, p = self.pool_size, self.stride, self.pad
        N, C, H, W = self.x_shape
        dxp = np.zeros((N, C, H + 2 * p, W + 2 * p), dtype=dout.dtype)
        nn, cc = np.meshgrid(np.arange(N), np.arange(C), indexing="ij")
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                a = self.arg[:, :, i, j]
                np.add.at(dxp, (nn, cc, i * s + a // k, j * s + a % k), dout[:, :, i, j])
        return dxp[:, :, p:p + H, p:p + W]
'''

GLOBAL = '''
import numpy as np


class GlobalMaxPool:
    def forward(self, x):
        N, C, H, W = x.shape
        flat = x.reshape(N, C, H * W)
        self.x, self.out = x, flat.max(axis=2)
        self.arg = flat.argmax(axis=2)
        return self.out

    def backward(self, dout):
        N, C, H, W = self.x.shape
        {body}


class GlobalAvgPool:
    def forward(self, x):
        self.shape = x.shape
        return x.mean(axis=(2, 3), keepdims=True)

    def backward(self, dout):
        N, C, H, W = self.shape
        return np.broadcast_to(dout / (H * W), self.shape).copy()
'''

FIRST = """dflat = np.zeros((N, C, H * W), dtype=dout.dtype)
        n, c = np.meshgrid(np.arange(N), np.arange(C), indexing="ij")
        dflat[n, c, self.arg] = dout
        return dflat.reshape(self.x.shape)"""
EVERY_TIE = """return (self.x == self.out[:, :, None, None]) * dout[:, :, None, None]"""


def _twin_how(found, name):
    return next(f for lab, f in found.items() if lab.endswith("." + name)).how


def test_a_max_pool_padded_with_minus_infinity_gets_that_twin_and_one_padded_with_zeros_its_own(
        tmp_path):
    for fill, said in (("-np.inf", "padded with -inf"), ("0.0", "pad=1")):
        module = "pool_fill_" + ("inf" if "inf" in fill else "zero")
        (tmp_path / module).mkdir()
        found, _ = collect_source(tmp_path / module, module + ".py", POOL.replace("{fill}", fill))
        how = _twin_how(found, "MaxPool2D")
        assert "TF twin: max_pool" in how and said in how, how
        assert ("-inf" in how) == ("inf" in fill), how
        for prop in ("forward_tf", "grads_tf"):
            assert hunt(f"{module}.MaxPool2D", prop, max_examples=15, shrink=False) is None, \
                (fill, prop)


def test_global_pools_get_twins_and_a_gradient_sent_to_every_tied_maximum_fails(tmp_path):
    (tmp_path / "ok").mkdir()
    (tmp_path / "bug").mkdir()
    found, _ = collect_source(tmp_path / "ok", "global_ok.py", GLOBAL.format(body=FIRST))
    assert "global max_pool" in _twin_how(found, "GlobalMaxPool")
    assert "global avg_pool" in _twin_how(found, "GlobalAvgPool")
    for name in ("GlobalMaxPool", "GlobalAvgPool"):
        for prop in ("forward_tf", "grads_tf"):
            assert hunt(f"global_ok.{name}", prop, max_examples=15, shrink=False) is None, prop
    collect_source(tmp_path / "bug", "global_ties.py", GLOBAL.format(body=EVERY_TIE))
    failed = hunt("global_ties.GlobalMaxPool", "grads_tf", max_examples=25)
    assert failed is not None and {r.verdict for r in failed.failures} == {"layer bug"}


EVERY_TIE_POOL = '''
import numpy as np


class MaxPool2D:
    def __init__(self, pool_size=2, stride=2):
        self.pool_size, self.stride = pool_size, stride

    def forward(self, x):
        k, s = self.pool_size, self.stride
        N, C, H, W = x.shape
        self.x = x
        out = np.zeros((N, C, (H - k) // s + 1, (W - k) // s + 1), dtype=x.dtype)
        for i in range(out.shape[2]):
            for j in range(out.shape[3]):
                out[:, :, i, j] = x[:, :, i * s:i * s + k, j * s:j * s + k].max(axis=(2, 3))
        return out

    def backward(self, dout):
        k, s = self.pool_size, self.stride
        dx = np.zeros_like(self.x)
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                win = self.x[:, :, i * s:i * s + k, j * s:j * s + k]
                top = win == win.max(axis=(2, 3), keepdims=True)      # every tied maximum
                dx[:, :, i * s:i * s + k, j * s:j * s + k] += top * dout[:, :, i:i + 1, j:j + 1]
        return dx
'''


def test_a_users_pool_sending_dout_to_every_tied_maximum_is_diagnosed_so(tmp_path):
    """Its windows are read off its own hyperparameters for the diagnosis (it said "one channel",
    where the ties happened to fall), and a grid of repeated values is not said to be "all equal"."""
    collect_source(tmp_path, "pool_every_tie.py", EVERY_TIE_POOL)
    failed = hunt("pool_every_tie.MaxPool2D", "grads_tf", max_examples=30)
    assert failed is not None
    kinds = {r.diagnosis.get("kind") for r in failed.failures}
    assert kinds == {"tied maxima"}, [r.message() for r in failed.failures]
    for r in failed.failures:
        flat = r.arrays["x"].ravel()
        assert ("all equal" in r.explanation) == bool(flat.min() == flat.max())


AVG_POOL = '''
import numpy as np


class AvgPool:
    def __init__(self, pool_size=2, stride=2, pad=1):
        self.pool_size, self.stride, self.pad = pool_size, stride, pad

    def forward(self, x):
        k, s, p = self.pool_size, self.stride, self.pad
        self.shape, xp = x.shape, np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        self.out_hw = ((xp.shape[2] - k) // s + 1, (xp.shape[3] - k) // s + 1)
        out = np.zeros(x.shape[:2] + self.out_hw)
        for i in range(self.out_hw[0]):
            for j in range(self.out_hw[1]):
                out[:, :, i, j] = xp[:, :, i * s:i * s + k, j * s:j * s + k].mean(axis=(2, 3))
        return out

    def backward(self, dout):
        k, s, p = self.pool_size, self.stride, self.pad
        N, C, H, W = self.shape
        dxp = np.zeros((N, C, H + 2 * p, W + 2 * p))
        for i in range(self.out_hw[0]):
            for j in range(self.out_hw[1]):
                dxp[:, :, i * s:i * s + k, j * s:j * s + k] += dout[:, :, i:i + 1, j:j + 1]
        return dxp[:, :, p:p + H, p:p + W]          # the mean's 1/k missing
'''


def test_a_padded_average_pool_missing_its_window_size_is_diagnosed_so(tmp_path):
    """A user's padded pool's window was not read for the diagnosis: no factor was named."""
    collect_source(tmp_path, "avg_pool_k.py", AVG_POOL)
    failed = hunt("avg_pool_k.AvgPool", "grads_tf", max_examples=10)
    assert failed is not None
    assert {r.diagnosis.get("kind") for r in failed.failures} == {"constant factor"}
    assert "the pool window's size" in failed.failures[0].diagnosis["summary"]


def test_a_size_of_no_pools_name_is_said_as_read(tmp_path):
    """An LRN's size=3 (a window across channels) was described as "the pooling window 3x3"."""
    from tests.owncode_loading import collect_source
    source = '''
import numpy as np


class CrossChannelNorm:
    def __init__(self, size=3):
        self.size = size

    def forward(self, x):
        self.x = x
        return x / (1.0 + np.mean(x * x, axis=1, keepdims=True))

    def backward(self, dout):
        x = self.x
        s = 1.0 + np.mean(x * x, axis=1, keepdims=True)
        return dout / s - 2 * x / x.shape[1] * np.sum(dout * x, axis=1, keepdims=True) / s ** 2
'''
    found, _ = collect_source(tmp_path, "lrn.py", source)
    how = found["lrn.CrossChannelNorm"].how
    assert "pooling window" not in how
    assert "from its size read as a window 3x3" in how, how
