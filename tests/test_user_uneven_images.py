"""An image layer no param sizes is probed on a square (N, 3, 6, 6): an adaptive average
pool's 2x2 bins divide it evenly, and a backward dividing every bin by (H // 2) * (W // 2)
passed (found by a new user). Such a layer is also checked on (N, 3, 5, 7), an entry of its
own, when it runs there; one that takes only even sizes gets no such entry."""
from properties.search import hunt
from tests.owncode_loading import collect_source

ADAPTIVE = '''
import numpy as np


class AdaptiveAvgPool2d:
    def __init__(self, output_size=(2, 2)):
        self.oh, self.ow = output_size

    def _bins(self, size, out):
        return [(i * size // out, -(-(i + 1) * size // out)) for i in range(out)]

    def forward(self, x):
        self.shape = x.shape
        out = np.zeros(x.shape[:2] + (self.oh, self.ow), dtype=x.dtype)
        for i, (h0, h1) in enumerate(self._bins(x.shape[2], self.oh)):
            for j, (w0, w1) in enumerate(self._bins(x.shape[3], self.ow)):
                out[:, :, i, j] = x[:, :, h0:h1, w0:w1].mean(axis=(2, 3))
        return out

    def backward(self, dout):
        H, W = self.shape[2:]
        dx = np.zeros(self.shape, dtype=dout.dtype)
        for i, (h0, h1) in enumerate(self._bins(H, self.oh)):
            for j, (w0, w1) in enumerate(self._bins(W, self.ow)):
                area = {area}
                dx[:, :, h0:h1, w0:w1] += dout[:, :, i, j][:, :, None, None] / area
        return dx
'''

EVEN_ONLY = '''
import numpy as np


class Halve:
    """Mean over 2x2 blocks; refuses an odd size."""

    def forward(self, x):
        N, C, H, W = x.shape
        if H % 2 or W % 2:
            raise ValueError("H and W must be even")
        self.shape = x.shape
        return x.reshape(N, C, H // 2, 2, W // 2, 2).mean(axis=(3, 5))

    def backward(self, dout):
        return np.repeat(np.repeat(dout, 2, axis=2), 2, axis=3) / 4.0
'''


def test_an_adaptive_pool_is_also_checked_on_an_uneven_image(tmp_path):
    found, _ = collect_source(tmp_path, "adaptive_ok.py",
                              ADAPTIVE.format(area="(h1 - h0) * (w1 - w0)"))
    assert set(found) == {"adaptive_ok.AdaptiveAvgPool2d",
                          "adaptive_ok.AdaptiveAvgPool2d(x (N, 3, 5, 7))"}
    assert "one row fewer and one column more" in found[
        "adaptive_ok.AdaptiveAvgPool2d(x (N, 3, 5, 7))"].how
    for label in found:
        assert hunt(label, "grads_fd", max_examples=10, shrink=False) is None, label


def test_its_backward_right_only_on_bins_that_divide_evenly_fails_there(tmp_path):
    found, _ = collect_source(tmp_path, "adaptive_bug.py",
                              ADAPTIVE.format(area="(H // self.oh) * (W // self.ow)"))
    assert hunt("adaptive_bug.AdaptiveAvgPool2d", "grads_fd", max_examples=10,
                shrink=False) is None          # the square: every bin 3x3
    failed = hunt("adaptive_bug.AdaptiveAvgPool2d(x (N, 3, 5, 7))", "grads_fd", max_examples=10)
    assert failed is not None and [r.tensor for r in failed.failures] == ["dx"]


def test_a_layer_taking_only_even_sizes_gets_no_uneven_entry(tmp_path):
    found, collected = collect_source(tmp_path, "even_only.py", EVEN_ONLY)
    assert list(found) == ["even_only.Halve"] and not collected.skipped
