"""Modules built on a hand-written autograd engine (micrograd's Neuron and MLP, a Linear over
Tensors, rows or columns): ``parameters()`` and a pass, no backward of their own, so they were
"no gradient to check". Each is checked whole against finite differences."""
import pytest

from tests.owncode_loading import collect_source
from tests.test_user_autograd_style import TENSOR, TENSOR_RIGHT, VALUE

MODULES = '''

class Neuron:
    def __init__(self, nin):
        self.w = [Value(0.3 * (i + 1) - 0.5) for i in range(nin)]
        self.b = Value(0.1)

    def __call__(self, x):
        return sum((wi * xi for wi, xi in zip(self.w, x)), self.b).tanh()

    def parameters(self):
        return self.w + [self.b]


class MLP:
    def __init__(self, nin, nouts):
        sizes = [nin] + nouts
        self.layers = [[Neuron(sizes[i]) for _ in range(sizes[i + 1])] for i in range(len(nouts))]

    def __call__(self, x):
        for layer in self.layers:
            x = [n(x) for n in layer]
        return x

    def parameters(self):
        return [p for layer in self.layers for n in layer for p in n.parameters()]
'''


@pytest.mark.parametrize("order, passes", [("reversed(topo)", True), ("topo", False)])
def test_a_model_built_on_the_engine_is_checked_whole(tmp_path, order, passes):
    """micrograd's Neuron and MLP (parameters(), __call__, no backward) were 'no gradient to
    check'; every parameter's .grad is now checked against finite differences of the model."""
    module = f"mlp_{passes}.py"
    found, _ = collect_source(tmp_path, module, VALUE.replace("{order}", order).replace(
        "{add_self}", "+=").replace("{pow_grad}", "k * self.data ** (k - 1)") + MODULES)
    mlp = found[f"{module[:-3]}.MLP"]
    assert mlp.how.startswith("model on Value") and "input size 3" in mlp.how
    (result,) = mlp.check()
    assert result.tensor == "parameters()" and result.passed == passes


LINEARS = '''

class Linear:
    def __init__(self, in_features, out_features):
        self.W = Tensor(np.linspace(-1, 1, in_features * out_features).reshape(
            in_features, out_features), requires_grad=True)
        self.b = Tensor(np.linspace(0.1, 0.3, out_features), requires_grad=True)

    def __call__(self, x):
        return x @ self.W + self.b

    def parameters(self):
        return [self.W, self.b]


class ColumnLinear:
    """Examples as columns: W @ x + b."""

    def __init__(self, in_features, out_features):
        self.W = Tensor(np.linspace(-1, 1, in_features * out_features).reshape(
            out_features, in_features), requires_grad=True)
        self.b = Tensor(np.linspace(0.1, 0.3, out_features).reshape(-1, 1), requires_grad=True)

    def __call__(self, x):
        return (self.W @ x + self.b).relu()

    def parameters(self):
        return [self.W, self.b]
'''


@pytest.mark.parametrize("matmul_b, passes", [("self.data.T @ out.grad", True),
                                               ("out.grad.T @ self.data", False)])
def test_modules_over_tensors_are_checked_rows_or_columns(tmp_path, matmul_b, passes):
    """A Linear over the Tensor engine (which has no __radd__: the weighted sum is taken without
    a 0 + value), and one whose examples are columns."""
    module = f"tensor_modules_{passes}.py"
    source = TENSOR + LINEARS
    for k, v in {**TENSOR_RIGHT, "matmul_b": matmul_b}.items():
        source = source.replace("{" + k + "}", v)
    found, _ = collect_source(tmp_path, module, source)
    # (the slip is in the right operand's gradient: W's in x @ W, x's in the column form W @ x)
    for name, right in (("Linear", passes), ("ColumnLinear", True)):
        item = found[f"{module[:-3]}.{name}"]
        (result,) = item.check()
        assert result.passed == right, result.message()
        assert result.config["input"] == ([2, 3] if name == "Linear" else [3, 2])
