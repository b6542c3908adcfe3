"""A backward called something else (``backprop(delta)``) that writes its weights' gradients:
its parameters are found as any attribute layer's. It was taken for a layer without
parameters (seed 003's pooling ``backprop(d)``): only ``dx`` was compared, and a wrong
``grad_w`` passed with exit status 0. And a model filled by ``add()`` after it is built
is skipped saying so: built alone, it was the identity, and "passed"."""
import pytest

from properties.search import hunt
from tests.owncode_loading import collect_source

SOURCE = '''
import numpy as np


class Dense:
    def __init__(self, n_in, n_out):
        self.w = 0.1 * np.random.randn(n_in, n_out)
        self.b = np.zeros((1, n_out))

    def __call__(self, a):
        self.a = a
        return self._out(a)

    def _out(self, a):
        self.h = np.tanh(a @ self.w + self.b)
        return self.h

    def backprop(self, delta):
        delta = delta * (1 - self.h ** 2)
        self.grad_w = self.a.T @ delta
        self.grad_b = delta.sum(axis=0, keepdims=True)
        return delta @ self.w.T


class DenseGradFromOutput(Dense):
    def backprop(self, delta):
        delta = delta * (1 - self.h ** 2)
        self.grad_w = self.h.T @ delta[:, :1] * np.ones((1, self.w.shape[1]))   # wrong array
        self.grad_b = delta.sum(axis=0, keepdims=True)
        return delta @ self.w.T


class Model:
    """Filled by add() after it is built: built alone it holds nothing."""

    def __init__(self):
        self.layers = []

    def add(self, layer):
        self.layers.append(layer)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def backward(self, delta):
        for layer in reversed(self.layers):
            delta = layer.backprop(delta)
        return delta


class Halve:
    """No params; its backprop keeps what it sends back under a name read as a gradient."""

    def __call__(self, x):
        return x * 0.5

    def backprop(self, delta):
        self.delta = delta * 0.5
        return self.delta
'''


@pytest.fixture(scope="module")
def found(tmp_path_factory):
    return collect_source(tmp_path_factory.mktemp("renamed"), "blog.py", SOURCE)


def test_the_weights_of_a_renamed_backward_are_found_and_pass(found):
    items, collected = found
    entry = items["blog.Dense"].entry
    import numpy as np
    assert set(entry.build({}, np.random.default_rng(0), "float64").params) == {"w", "b"}
    for prop in ("grads_tf", "grads_fd", "batch_additive"):
        assert hunt("blog.Dense", prop, max_examples=8, shrink=False) is None, prop


def test_a_wrong_weight_gradient_behind_a_renamed_backward_fails(found):
    bad = hunt("blog.DenseGradFromOutput", "grads_fd", max_examples=8, shrink=False)
    assert bad is not None and "dw" in {r.tensor for r in bad.failures}, \
        bad and bad.failures[0].message()


def test_a_renamed_backward_without_params_is_still_checked(found):
    items, collected = found
    assert "blog.Halve" in items, collected.skipped
    assert hunt("blog.Halve", "grads_fd", max_examples=5, shrink=False) is None


def test_a_model_filled_by_add_after_it_is_built_is_skipped_saying_so(found):
    """Built with no layers it is the identity: it "passed" every check, saying nothing."""
    items, collected = found
    assert "blog.Model" not in items
    (reason,) = [s.reason for s in collected.skipped if s.label == "blog.Model"]
    assert "holds no layers (layers is empty" in reason and "# gradcheck: Model(" in reason
