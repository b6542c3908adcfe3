"""Layers that compute in float32 whatever they are given (weights built as float32, inputs
cast with astype(np.float32)). Checked in float64 at float64's tolerance, their float32
round-off failed every check, as "layer bug". Such a layer is now checked in float32 alone,
and its batch rule found at float32's round-off; its bugs still fail."""
import pytest

from properties.search import hunt
from tests.owncode_loading import collect_source

SOURCE = '''
import numpy as np


class Float32Dense:
    def __init__(self, n_in, n_out):
        rng = np.random.default_rng(5)
        self.W = rng.standard_normal((n_in, n_out)).astype(np.float32)
        self.b = np.zeros(n_out, dtype=np.float32)

    def forward(self, x):
        self.x = x.astype(np.float32)
        return self.x @ self.W + self.b

    def backward(self, dout):
        dout = dout.astype(np.float32)
        self.dW, self.db = self.x.T @ dout, dout.sum(axis=0)
        return dout @ self.W.T


class Float32DenseBiasMean(Float32Dense):
    def backward(self, dout):
        dx = super().backward(dout)
        self.db = dout.astype(np.float32).mean(axis=0)
        return dx


def softmax_loss32(x, y):
    """x: (N, C) scores; y: (N,) labels. In float32 inside."""
    z = x.astype(np.float32)
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    n = len(y)
    loss = -np.mean(np.log(p[np.arange(n), y]))
    dx = p.copy()
    dx[np.arange(n), y] -= 1
    return float(loss), (dx / n).astype(x.dtype)
'''


@pytest.fixture(scope="module")
def found(tmp_path_factory):
    return collect_source(tmp_path_factory.mktemp("f32"), "f32.py", SOURCE)[0]


@pytest.mark.parametrize("label", ["f32.Float32Dense", "f32.softmax_loss32"])
def test_a_layer_computing_in_float32_is_checked_in_float32_and_passes(found, label):
    entry = found[label].entry
    assert entry.dtypes == ("float32",)
    assert entry.batch_rule in ("sum", "mean")
    for prop in ("forward_tf", "grads_tf", "grads_fd", "linear_in_dout", "batch_additive",
                 "shapes_dtypes"):
        assert hunt(label, prop, max_examples=10, shrink=False) is None, (label, prop)


def test_its_bug_still_fails(found):
    bad = hunt("f32.Float32DenseBiasMean", "grads_tf", max_examples=10, shrink=False)
    assert bad is not None and {r.tensor for r in bad.failures} == {"db"}


def test_a_forward_whose_probe_output_is_all_zero_is_not_taken_for_a_float32_layer():
    """A dropout keeping 0.2 dropped every value of the probe: outputs all 0, which float32
    holds exactly, made it 'computes in float32', checked in float32 alone, and its float64
    mask then failed shapes_dtypes where the same layer at 0.5 was checked in float64."""
    from types import SimpleNamespace

    import numpy as np

    from properties.user_draws import computes_in_float32
    x = np.random.default_rng(0).standard_normal((2, 5))

    def layer(out):
        return SimpleNamespace(params={}, forward=lambda *a: out(a[0]))
    assert not computes_in_float32(layer(lambda a: np.zeros_like(a)), [x], ())
    assert computes_in_float32(layer(lambda a: a.astype(np.float32).astype(np.float64)), [x], ())
    assert not computes_in_float32(layer(lambda a: 2 * a), [x], ())


PROMOTING = '''
import numpy as np


class Linear:
    def __init__(self, d_in, d_out):
        self.W = np.random.default_rng(1).standard_normal((d_in, d_out))
        self.b = np.zeros(d_out)

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, dout):
        self.dW, self.db = self.x.T @ dout, dout.sum(axis=0)
        return dout @ self.W.T


def relu_forward(x):
    return np.maximum(x, 0), x


def relu_backward(dout, cache):
    return dout * (cache > 0)
'''


def test_a_forward_turning_float32_into_float64_is_checked_in_float64_saying_so(tmp_path):
    """A tutorial's float64 weights make float32 inputs float64: checked in float64 only, as
    before, and the summary now says why (it said nothing, and float32 went unchecked unseen)."""
    found = collect_source(tmp_path, "promoting.py", PROMOTING)[0]
    linear, relu = found["promoting.Linear"], found["promoting.relu"]
    assert linear.entry.dtypes == ("float64",)
    assert "float64 only (float32 inputs come out float64)" in linear.how, linear.how
    assert relu.entry.dtypes == ("float64", "float32") and "float64 only" not in relu.how


LEARNED_NUMBER = '''
import numpy as np


class Diffusion:
    """u + kappa * laplacian(u): kappa a learned Python float."""

    def __init__(self, kappa=0.1):
        self.kappa = kappa
        self.dkappa = 0.0

    def forward(self, u):
        self.u = u
        self.lap = np.roll(u, 1, axis=1) + np.roll(u, -1, axis=1) - 2 * u
        return u + self.kappa * self.lap

    def backward(self, dout):
        self.dkappa = np.sum(dout * self.lap)
        g = self.kappa * dout
        return dout + np.roll(g, -1, axis=1) + np.roll(g, 1, axis=1) - 2 * g
'''


def test_a_learned_python_float_does_not_make_a_layer_float64_only(tmp_path):
    """kappa a Python float keeps float32 inputs float32 (NumPy promotes by its value); held as
    a 0-d float64 param to be differentiated, it made the probe's output float64, and the layer
    was called float64 only: float32 went unchecked."""
    found, _ = collect_source(tmp_path, "diff.py", LEARNED_NUMBER)
    item = found["diff.Diffusion"]
    assert "float64 only" not in item.how and "float32" in item.entry.dtypes, item.how
    assert hunt("diff.Diffusion", "shapes_dtypes", max_examples=10, shrink=False) is None
    assert hunt("diff.Diffusion", "grads_fd", max_examples=10, shrink=False) is None


def test_the_gradient_of_a_learned_python_float_may_be_any_float(tmp_path):
    """dkappa computed from an int64 arange comes out float64 for kappa held float32 in a
    float32 case: a Python float has no dtype to keep, and that was a failing "layer bug"."""
    source = LEARNED_NUMBER.replace("self.dkappa = np.sum(dout * self.lap)",
                                    "self.dkappa = float(np.sum(dout * self.lap)) * np.ones((), np.float64)")
    assert source != LEARNED_NUMBER
    found, _ = collect_source(tmp_path, "diff64.py", source)
    assert hunt("diff64.Diffusion", "shapes_dtypes", max_examples=15, shrink=False) is None
