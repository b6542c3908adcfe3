"""Parameters held in containers. Weights in ``self.weights['W']`` with gradients in
``self.gradients['W']``, and hand-written PyTorch ``Parameter`` objects (``.data``, ``.grad``
accumulated with +=), were not seen as parameters: their gradients were never compared, a
transposed dW passed (exit 0), and the Parameter layer failed its laws on dx. They are now
params, and a Parameter's ``.grad`` is cleared before each backward, as ``zero_grad()`` does."""
import pytest

from properties.search import hunt
from tests.owncode_loading import collect_source

SOURCE = '''
import numpy as np


class DictLinear:
    def __init__(self, n_in=3, n_out=2):
        self.weights = {"W": np.ones((n_in, n_out)), "b": np.zeros(n_out)}
        self.gradients = {}

    def forward(self, x):
        self.x = x
        return x @ self.weights["W"] + self.weights["b"]

    def backward(self, dout):
        self.gradients["W"] = self.x.T @ dout
        self.gradients["b"] = dout.sum(axis=0)
        return dout @ self.weights["W"].T


class DictLinearTransposedDW(DictLinear):
    def backward(self, dout):
        dx = super().backward(dout)
        self.gradients["W"] = (dout.T @ self.x).T * 2
        return dx


class Parameter:
    def __init__(self, data):
        self.data, self.grad = data, np.zeros_like(data)


class TorchLinear:
    def __init__(self, in_features=3, out_features=2):
        self.weight = Parameter(np.random.uniform(-1, 1, (out_features, in_features)))
        self.bias = Parameter(np.random.uniform(-1, 1, (out_features,)))

    def forward(self, x):
        self.x = x
        return x @ self.weight.data.T + self.bias.data

    def backward(self, grad_output):
        self.weight.grad += grad_output.T @ self.x
        self.bias.grad += grad_output.sum(axis=0)
        return grad_output @ self.weight.data


class TorchLinearBiasMean(TorchLinear):
    def backward(self, grad_output):
        dx = super().backward(grad_output)
        self.bias.grad = grad_output.mean(axis=0)
        return dx
'''


@pytest.fixture(scope="module")
def found(tmp_path_factory):
    return collect_source(tmp_path_factory.mktemp("held"), "held.py", SOURCE)[0]


@pytest.mark.parametrize("label, params", [("held.DictLinear", {"W", "b"}),
                                           ("held.TorchLinear", {"weight", "bias"})])
def test_held_parameters_are_params_and_correct_layers_pass(found, label, params):
    import numpy as np
    assert set(found[label].entry.build({}, np.random.default_rng(0), "float64").params) == params
    assert "TF twin: dense" in found[label].how
    for prop in ("grads_tf", "grads_fd", "linear_in_dout", "batch_resize"):
        assert hunt(label, prop, max_examples=10, shrink=False) is None, (label, prop)


@pytest.mark.parametrize("label, tensor", [("held.DictLinearTransposedDW", "dW"),
                                           ("held.TorchLinearBiasMean", "dbias")])
def test_their_gradient_bugs_are_caught(found, label, tensor):
    bad = hunt(label, "grads_tf", max_examples=10, shrink=False)
    assert bad is not None and {r.tensor for r in bad.failures} == {tensor}
