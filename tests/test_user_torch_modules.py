"""Models written PyTorch's way by hand: Parameter objects (``.data``, ``.grad +=``) held by
sublayers, containers of ``*modules``, and the accumulation law a ``zero_grad()`` promises."""
import numpy as np

from properties.search import hunt
from tests.owncode_loading import collect_source


MINI_TORCH = '''
import numpy as np


class Parameter:
    def __init__(self, data):
        self.data, self.grad = data, np.zeros_like(data)


class Linear:
    def __init__(self, in_features, out_features):
        self.weight = Parameter(np.random.randn(out_features, in_features) * 0.3)
        self.bias = Parameter(np.zeros(out_features))

    def forward(self, x):
        self.x = x
        return x @ self.weight.data.T + self.bias.data

    def backward(self, grad_output):
        self.weight.grad += grad_output.T @ self.x
        self.bias.grad += {bias_grad}
        return grad_output @ self.weight.data


class Tanh:
    def forward(self, x):
        self.y = np.tanh(x)
        return self.y

    def backward(self, grad_output):
        return grad_output * (1 - self.y ** 2)


class MLP:
    def __init__(self, d_in=4, d_hidden=5, d_out=3):
        self.fc1, self.act, self.fc2 = Linear(d_in, d_hidden), Tanh(), Linear(d_hidden, d_out)

    def forward(self, x):
        return self.fc2.forward(self.act.forward(self.fc1.forward(x)))

    def backward(self, grad_output):
        return self.fc1.backward(self.act.backward(self.fc2.backward(grad_output)))


class Sequential:
    def __init__(self, *modules):
        self.modules = list(modules)

    def forward(self, x):
        for m in self.modules:
            x = m.forward(x)
        return x

    def backward(self, grad_output):
        for m in reversed(self.modules):
            grad_output = m.backward(grad_output)
        return grad_output


class LayerNorm:
    def __init__(self, normalized_shape, eps=1e-5):
        self.gamma, self.beta, self.eps = np.ones(normalized_shape), np.zeros(normalized_shape), eps

    def forward(self, x):
        self.xhat = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + self.eps)
        self.std = np.sqrt(x.var(-1, keepdims=True) + self.eps)
        return self.gamma * self.xhat + self.beta

    def backward(self, dout):
        self.dgamma, self.dbeta = (dout * self.xhat).sum(0), dout.sum(0)
        g = dout * self.gamma
        return (g - g.mean(-1, keepdims=True) - self.xhat * (g * self.xhat).mean(-1, keepdims=True)) / self.std
'''


def test_a_model_of_hand_written_pytorch_parameters_is_checked_through_its_sublayers(tmp_path):
    """MLP(fc1=Linear(...)) whose Linear keeps Parameter objects (.data, .grad += ...): it was
    "no input shape made forward and backward run"; its weights (out, in) now size it, each
    .grad is cleared before a backward as zero_grad() does, and Linear's bias grad taken as a
    mean fails on the biases alone. Sequential(*modules) built with no modules is said to check nothing
    (it passed as the identity); LayerNorm(normalized_shape) is built."""
    (tmp_path / "ok").mkdir()
    (tmp_path / "bug").mkdir()
    found, collected = collect_source(tmp_path / "ok", "mini_torch_ok.py",
                                      MINI_TORCH.format(bias_grad="grad_output.sum(axis=0)"))
    mlp = found["mini_torch_ok.MLP"]
    assert "(N, 4) from its first 2-D param fc1.weight (5, 4)" in mlp.how, mlp.how
    assert list(mlp.entry.build({}, np.random.default_rng(0), "float64").params) == [
        "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    (container,) = [s for s in collected.skipped if s.label.endswith(".Sequential")]
    assert "built with no modules it would check nothing" in container.reason
    assert "mini_torch_ok.LayerNorm" in found
    for label in ("mini_torch_ok.MLP", "mini_torch_ok.LayerNorm"):
        for prop in ("grads_fd", "linear_in_dout", "batch_resize"):
            assert hunt(label, prop, max_examples=10, shrink=False) is None, (label, prop)
    collect_source(tmp_path / "bug", "mini_torch_bug.py",
                   MINI_TORCH.format(bias_grad="grad_output.mean(axis=0)"))
    failed = hunt("mini_torch_bug.MLP", "grads_fd", max_examples=10)
    assert failed is not None and {r.tensor for r in failed.failures} <= {"dfc1.bias", "dfc2.bias"}


def test_a_parameter_grad_assigned_where_zero_grad_says_it_adds_fails_the_accumulation_law(
        tmp_path):
    """Every check clears .grad before a backward, as zero_grad() does, so '.grad =' for
    '.grad +=' passed them all; a layer with a zero_grad() says its backward adds, and two
    backwards without it must leave twice one's gradients."""
    source = MINI_TORCH.format(bias_grad="grad_output.sum(axis=0)") + '''

class Module:
    def zero_grad(self):
        for p in (self.weight, self.bias):
            p.grad = np.zeros_like(p.data)


class Adds(Module, Linear):
    pass


class Assigns(Module, Linear):
    def backward(self, grad_output):
        self.weight.grad = grad_output.T @ self.x
        self.bias.grad += grad_output.sum(axis=0)
        return grad_output @ self.weight.data
'''
    found, _ = collect_source(tmp_path, "accumulating.py", source)
    assert found["accumulating.Adds"].entry.accumulates
    assert not found["accumulating.Linear"].entry.accumulates       # no zero_grad(): no promise
    assert hunt("accumulating.Adds", "accumulates", max_examples=10, shrink=False) is None
    failed = hunt("accumulating.Assigns", "accumulates", max_examples=10)
    assert failed is not None and {r.tensor for r in failed.failures} == {"weight (second backward)"}
    assert {r.verdict for r in failed.failures} == {"layer bug"}
