"""A layer keeping ``self.params = {...}`` whose backward makes ``self.grads = {...}`` (no
gradients dict before the first backward): its params were taken for none, its input was
guessed without them, and a right Dense failed every check as "layer raised". The dicts are
now found by a probe's forward and backward, and the params size the input."""
import numpy as np

from layers.adapter import AttributeLayer
from layers.views import grads_dict_made
from properties.search import hunt
from tests.owncode_loading import collect_source

DENSE = '''
import numpy as np


class Dense:
    def __init__(self, n_in, n_out):
        self.params = {"W": np.random.randn(n_in, n_out) * 0.1, "b": np.zeros(n_out)}

    def forward(self, x):
        self.x = x
        return x @ self.params["W"] + self.params["b"]

    def backward(self, dout):
        self.grads = {"W": self.x.T @ dout, "b": dout.{reduce}(axis=0)}
        return dout @ self.params["W"].T
'''


def _dense():
    namespace = {}
    exec(DENSE.replace("{reduce}", "sum"), namespace)
    return namespace["Dense"](3, 2)


def test_a_gradients_dict_backward_makes_is_told_apart():
    layer = _dense()
    assert grads_dict_made(layer)
    layer.grads = {}       # there at construction: the layer's own dicts, nothing to find
    assert not grads_dict_made(layer)


def test_the_adapter_holds_both_dicts_after_a_probe():
    layer = AttributeLayer(_dense(), probe_inputs=(np.ones((2, 3)),))
    assert set(layer.params) == {"W", "b"} and layer.params["W"].shape == (3, 2)
    x = np.random.default_rng(0).standard_normal((4, 3))
    dout = np.ones((4, 2))
    layer.forward(x)
    layer.backward(dout)
    np.testing.assert_allclose(layer.grads["W"], x.T @ dout)
    np.testing.assert_allclose(layer.grads["b"], dout.sum(0))


def test_a_right_dense_passes_and_an_averaged_bias_is_caught(tmp_path):
    (tmp_path / "ok").mkdir()
    found, _ = collect_source(tmp_path / "ok", "dense_dicts.py", DENSE.replace("{reduce}", "sum"))
    (label,) = found
    assert "(N, 3) from W (3, 2)" in found[label].how, found[label].how
    for prop in ("grads_tf", "grads_fd", "batch_additive"):
        assert hunt(label, prop, max_examples=10, shrink=False) is None, prop
    (tmp_path / "bug").mkdir()
    found, _ = collect_source(tmp_path / "bug", "dense_dicts_bug.py",
                              DENSE.replace("{reduce}", "mean"))
    (label,) = found
    failed = hunt(label, "grads_fd", max_examples=10)
    assert failed is not None and {r.tensor for r in failed.failures} == {"db"}
