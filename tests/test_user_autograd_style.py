"""Hand-written autograd engines: micrograd's scalar ``Value`` and the same idea over arrays.
The value class has a backward() and no forward, so it was "not checked" (or not listed at
all), and a slip in any op's backward passed with exit 0. Every op is now checked on its own
against finite differences, and in graphs that show a lost accumulation or a reversed
topological order."""
import pytest

from tests.owncode_loading import collect_source

# the topological sort both engines' backward() starts with
TOPO = '''        topo, seen = [], set()

        def build(v):
            if v not in seen:
                seen.add(v)
                for child in v._prev:
                    build(child)
                topo.append(v)
        build(self)
'''

VALUE = '''
import math


class Value:
    def __init__(self, data, _children=(), _op=""):
        self.data, self.grad = data, 0.0
        self._backward = lambda: None
        self._prev = set(_children)

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other))

        def _backward():
            self.grad {add_self} out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other))

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __pow__(self, k):
        out = Value(self.data ** k, (self,))

        def _backward():
            self.grad += {pow_grad} * out.grad
        out._backward = _backward
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, (self,))

        def _backward():
            self.grad += (1 - t ** 2) * out.grad
        out._backward = _backward
        return out

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __truediv__(self, other):
        return self * other ** -1

    def backward(self):
{topo}        self.grad = 1.0
        for v in {order}:
            v._backward()
'''
VALUE = VALUE.replace("{topo}", TOPO)
VALUE_RIGHT = {"add_self": "+=", "pow_grad": "k * self.data ** (k - 1)", "order": "reversed(topo)"}

TENSOR = '''
import numpy as np


def unbroadcast(g, shape):
    while g.ndim > len(shape):
        g = g.sum(axis={lead_axis})
    for i, n in enumerate(shape):
        if n == 1:
            g = g.sum(axis=i, keepdims=True)
    return g


class Tensor:
    def __init__(self, data, requires_grad=False, _children=()):
        self.data = np.asarray(data, dtype=np.float64)
        self.requires_grad, self.grad = requires_grad, None
        self._backward, self._prev = (lambda: None), set(_children)

    def _acc(self, g):
        self.grad = g if self.grad is None else self.grad + g

    def __add__(self, other):
        other = other if isinstance(other, Tensor) else Tensor(other)
        out = Tensor(self.data + other.data, True, (self, other))

        def _backward():
            self._acc(unbroadcast(out.grad, self.data.shape))
            other._acc(unbroadcast(out.grad, other.data.shape))
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Tensor) else Tensor(other)
        out = Tensor(self.data * other.data, True, (self, other))

        def _backward():
            self._acc(unbroadcast(other.data * out.grad, self.data.shape))
            other._acc(unbroadcast(self.data * out.grad, other.data.shape))
        out._backward = _backward
        return out

    def __matmul__(self, other):
        out = Tensor(self.data @ other.data, True, (self, other))

        def _backward():
            self._acc(out.grad @ other.data.T)
            other._acc({matmul_b})
        out._backward = _backward
        return out

    def mean(self, axis=None):
        out = Tensor(self.data.mean(axis=axis), True, (self,))

        def _backward():
            n = self.data.size if axis is None else self.data.shape[axis]
            g = out.grad if axis is None else np.expand_dims(out.grad, axis)
            self._acc(np.broadcast_to(g, self.data.shape) {mean_scale})
        out._backward = _backward
        return out

    def relu(self):
        out = Tensor(np.maximum(self.data, 0), True, (self,))

        def _backward():
            self._acc((self.data > 0) * out.grad)
        out._backward = _backward
        return out

    def backward(self, grad=None):
{topo}        self.grad = np.ones_like(self.data) if grad is None else np.asarray(grad, np.float64)
        for v in reversed(topo):
            v._backward()
'''
TENSOR = TENSOR.replace("{topo}", TOPO)
TENSOR_RIGHT = {"lead_axis": "0", "matmul_b": "self.data.T @ out.grad", "mean_scale": "/ n"}


def _engine(tmp_path, module, source, right, name, **changes):
    for k, v in {**right, **changes}.items():
        source = source.replace("{" + k + "}", v)
    found, _ = collect_source(tmp_path, module, source)
    item = found[f"{module[:-3]}.{name}"]
    return item, item.check()


@pytest.mark.parametrize("source, right, name, kind, ops", [
    (VALUE, VALUE_RIGHT, "Value", "numbers", {"__add__", "__pow__", "tanh", "__truediv__"}),
    (TENSOR, TENSOR_RIGHT, "Tensor", "arrays", {"__add__", "__matmul__", "mean(axis=0)", "relu"}),
])
def test_a_right_engine_passes_op_by_op(tmp_path, source, right, name, kind, ops):
    item, results = _engine(tmp_path, f"engine_{name.lower()}.py", source, right, name)
    assert item.how.startswith(f"autograd engine over {kind}")
    assert results and all(r.passed for r in results), [r.message() for r in results
                                                        if not r.passed][:1]
    assert ops <= {r.config["op"] for r in results}


@pytest.mark.parametrize("change, failing", [
    (dict(pow_grad="self.data ** (k - 1)"), "__pow__: d/da"),
    (dict(add_self="="), "__add__(a, b) * a: d/da"),        # assigns where it must add
    (dict(order="topo"), "__sub__: d/db"),                   # the chain rule the wrong way round
])
def test_a_slip_in_a_value_op_fails_naming_it(tmp_path, change, failing):
    _, results = _engine(tmp_path, f"value_bug_{list(change)[0]}.py", VALUE, VALUE_RIGHT,
                         "Value", **change)
    failed = {r.tensor for r in results if not r.passed}
    assert failing in failed, sorted(failed)
    assert {r.verdict for r in results if not r.passed} <= {"layer bug"}


@pytest.mark.parametrize("change, failing", [
    (dict(matmul_b="out.grad.T @ self.data"), "__matmul__"),
    (dict(mean_scale=""), "mean(axis=0)"),
    (dict(lead_axis="-1"), "__add__"),         # un-broadcasting over the wrong axis
])
def test_a_slip_in_a_tensor_op_fails_naming_it(tmp_path, change, failing):
    _, results = _engine(tmp_path, f"tensor_bug_{list(change)[0]}.py", TENSOR, TENSOR_RIGHT,
                         "Tensor", **change)
    failed = [r for r in results if not r.passed]
    assert failing in {r.config["op"] for r in failed}, sorted(r.tensor for r in failed)
    broadcast = [r for r in results if r.config["op"] == "__add__"
                 and r.config["inputs"] in ([[3, 4], [4]], [[3, 4], [3, 1]])]
    assert broadcast          # the broadcast operands were checked, one shape set each


def test_an_engine_whose_backward_takes_no_gradient_is_checked_at_the_ones_it_seeds(tmp_path):
    """backward() seeding ones_like(data): only ops with one output element were checked, so a
    wrong sign in the division's backward passed. The VJP at ones is checked for every op."""
    source = TENSOR.replace("def backward(self, grad=None):", "def backward(self):").replace(
        "np.ones_like(self.data) if grad is None else np.asarray(grad, np.float64)",
        "np.ones_like(self.data)")
    item, results = _engine(tmp_path, "engine_noarg.py", source, TENSOR_RIGHT, "Tensor")
    ops = {r.config["op"] for r in results}
    assert {"__add__", "__matmul__", "relu", "mean(axis=0)"} <= ops
    assert all(r.passed for r in results)
    _, results = _engine(tmp_path, "engine_noarg_bug.py", source, TENSOR_RIGHT, "Tensor",
                         matmul_b="out.grad.T @ self.data")
    assert "__matmul__" in {r.config["op"] for r in results if not r.passed}


def test_a_method_taking_another_value_is_checked_as_a_binary_op(tmp_path):
    """max(other) needs a second value: it was never called, and its slip (both operands
    given the gradient) passed. A method needing anything else is named as not checked."""
    extra = '''
    def max(self, other):
        out = Value(max(self.data, other.data), (self, other))

        def _backward():
            self.grad += (self.data >= other.data) * out.grad
            other.grad += {other_share} * out.grad
        out._backward = _backward
        return out

    def clip_to(self, low, high):
        return Value(min(max(self.data, low), high), (self,))
'''
    for share, passes in (("(other.data > self.data)", True), ("1.0", False)):
        source = VALUE.replace("    def backward(self):", extra.replace("{other_share}", share)
                               + "\n    def backward(self):")
        module = f"value_max_{passes}.py"
        item, results = _engine(tmp_path, module, source, VALUE_RIGHT, "Value")
        mine = [r for r in results if r.config["op"] == "max(b)"]
        assert mine and all(r.passed for r in mine) == passes
        assert "not checked: clip_to(low, high)" in results[0].note


FUNCTIONAL = """
import numpy as np


class Var:
    def __init__(self, data, parents=(), grad_fns=()):
        self.data = np.asarray(data, dtype=np.float64)
        self.grad = np.zeros_like(self.data)
        self.parents, self.grad_fns = parents, grad_fns

    def backward(self, grad=None):
        order, seen = [], set()

        def topo(v):
            if id(v) not in seen:
                seen.add(id(v))
                for p in v.parents:
                    topo(p)
                order.append(v)
        topo(self)
        self.grad = np.ones_like(self.data) if grad is None else np.asarray(grad, np.float64)
        for v in reversed(order):
            for p, fn in zip(v.parents, v.grad_fns):
                p.grad = p.grad + fn(v.grad)


def add(a, b):
    return Var(a.data + b.data, (a, b), (lambda g: g, lambda g: g))


def mul(a, b):
    return Var(a.data * b.data, (a, b), (lambda g: g * b.data, lambda g: g * {b_grad}))


def relu(a):
    return Var(np.maximum(a.data, 0), (a,), (lambda g: g * (a.data > 0),))
"""


@pytest.mark.parametrize("b_grad, passes", [("a.data", True), ("b.data", False)])
def test_an_engine_whose_ops_are_module_functions_is_checked(tmp_path, b_grad, passes):
    """Var with backward() and the ops as add(a, b), mul(a, b), relu(a): it was "a backward()
    but no forward()", found nothing to check."""
    module = f"var_engine_{passes}.py"
    found, _ = collect_source(tmp_path, module, FUNCTIONAL.replace("{b_grad}", b_grad))
    item = found[f"{module[:-3]}.Var"]
    assert all(op in item.how for op in ("add(a, b)", "mul(a, a)", "relu(a)"))
    results = item.check()
    assert {"add(a, b)", "mul(a, b)", "mul(a, a)", "relu(a)"} <= {r.config["op"] for r in results}
    assert all(r.passed for r in results) == passes
    assert passes or "mul(a, b)" in {r.config["op"] for r in results if not r.passed}
