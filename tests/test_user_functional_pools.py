"""cs231n-style pooling pairs, ``avg_pool_forward(x, pool_param)``. They were checked only at
2x2 windows with stride 2, which never overlap, so a backward assigning each window's gradient
with ``=`` where ``+=`` belongs passed; and a hint's ``args=({...},)`` was silently ignored.
A pooling pair is now also checked with overlapping windows (``name(stride=1)``), and the
hint's options dict is used as given."""
import pytest

from properties.search import hunt
from tests.owncode_loading import collect_source

CLASS_SOURCE = '''
import numpy as np


class AvgPool2d:
    """NCHW average pooling, as torch.nn.AvgPool2d(kernel_size, stride=None)."""
    def __init__(self, kernel_size=2, stride=None):
        self.kernel_size, self.stride = kernel_size, stride or kernel_size

    def forward(self, x):
        k, s = self.kernel_size, self.stride
        N, C, H, W = self.shape = x.shape
        Ho, Wo = (H - k) // s + 1, (W - k) // s + 1
        return np.stack([np.stack([x[:, :, i * s:i * s + k, j * s:j * s + k].mean(axis=(2, 3))
                                   for j in range(Wo)], -1) for i in range(Ho)], -2)

    def backward(self, dout):
        k, s = self.kernel_size, self.stride
        dx = np.zeros(self.shape)
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                dx[:, :, i * s:i * s + k, j * s:j * s + k] += dout[:, :, i:i + 1, j:j + 1] / (k * k)
        return dx
'''

SOURCE = "import numpy as np\n\n\ndef avg_pool_forward(x, pool_param):\n    ph, pw, s = pool_param['pool_height'], pool_param['pool_width'], pool_param['stride']\n    N, C, H, W = x.shape\n    Ho, Wo = 1 + (H - ph) // s, 1 + (W - pw) // s\n    out = np.zeros((N, C, Ho, Wo))\n    for i in range(Ho):\n        for j in range(Wo):\n            out[:, :, i, j] = x[:, :, i * s:i * s + ph, j * s:j * s + pw].mean(axis=(2, 3))\n    return out, (x, pool_param)\n\n\ndef avg_pool_backward(dout, cache):\n    x, pool_param = cache\n    ph, pw, s = pool_param['pool_height'], pool_param['pool_width'], pool_param['stride']\n    dx = np.zeros_like(x)\n    _, _, Ho, Wo = dout.shape\n    for i in range(Ho):\n        for j in range(Wo):\n            dx[:, :, i * s:i * s + ph, j * s:j * s + pw] += dout[:, :, i, j][:, :, None, None] / (ph * pw)\n    return dx\n\n\ndef avgbug_pool_forward(x, pool_param):\n    return avg_pool_forward(x, pool_param)\n\n\ndef avgbug_pool_backward(dout, cache):\n    x, pool_param = cache\n    ph, pw, s = pool_param['pool_height'], pool_param['pool_width'], pool_param['stride']\n    dx = np.zeros_like(x)\n    _, _, Ho, Wo = dout.shape\n    for i in range(Ho):\n        for j in range(Wo):\n            dx[:, :, i * s:i * s + ph, j * s:j * s + pw] = dout[:, :, i, j][:, :, None, None] / (ph * pw)\n    return dx\n\n\n# gradcheck: hinted_pool; x=(N, 2, 5, 6); args=({'pool_height': 2, 'pool_width': 3, 'stride': 1},)\ndef hinted_pool_forward(x, pool_param):\n    return avg_pool_forward(x, pool_param)\n\n\ndef hinted_pool_backward(dout, cache):\n    return avgbug_pool_backward(dout, cache)\n"


@pytest.fixture(scope="module")
def found(tmp_path_factory):
    return collect_source(tmp_path_factory.mktemp("pools"), "pools.py", SOURCE)[0]


def test_a_pooling_pair_is_also_checked_with_overlapping_windows(found):
    assert "pools.avg_pool(stride=1)" in found and "pools.avgbug_pool(stride=1)" in found
    assert "stride=1" in found["pools.avg_pool(stride=1)"].how
    assert "pools.hinted_pool(stride=1)" not in found       # the hint's options are the user's


@pytest.mark.parametrize("label", ["pools.avg_pool", "pools.avg_pool(stride=1)"])
def test_a_correct_pooling_pair_passes_at_both(found, label):
    for prop in ("grads_tf", "grads_fd"):
        assert hunt(label, prop, max_examples=10, shrink=False) is None, prop


def test_overwriting_overlapping_windows_fails_only_where_they_overlap(found):
    assert hunt("pools.avgbug_pool", "grads_tf", max_examples=10, shrink=False) is None
    bad = hunt("pools.avgbug_pool(stride=1)", "grads_tf", max_examples=10, shrink=False)
    assert bad is not None and {r.verdict for r in bad.failures} == {"layer bug"}


def test_the_hints_options_dict_is_used(found):
    assert "pool_width=3, stride=1" in found["pools.hinted_pool"].how
    assert hunt("pools.hinted_pool", "grads_tf", max_examples=10, shrink=False) is not None


def test_a_hint_whose_args_are_not_one_options_dict_is_named(tmp_path):
    source = SOURCE.replace("args=({'pool_height': 2, 'pool_width': 3, 'stride': 1},)",
                            "args=(2, 3)")
    found, collected = collect_source(tmp_path, "pools2.py", source)
    assert "pools2.hinted_pool" not in found and "pools2.avg_pool" in found
    (skip,) = [s for s in collected.skipped if s.label == "pools2.hinted_pool_forward"]
    assert "gives its options dict" in skip.reason


def test_one_size_name_for_both_sides_is_said_once(tmp_path):
    found, _ = collect_source(tmp_path, "torchpool.py", CLASS_SOURCE)
    how = found["torchpool.AvgPool2d"].how
    assert "avg_pool" in how and "kernel_size=2, stride=2" in how and how.count("kernel_size") == 1
    assert hunt("torchpool.AvgPool2d(stride=1)", "grads_tf", max_examples=5, shrink=False) is None
