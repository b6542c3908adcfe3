"""A backward that runs once per forward (it frees what its forward saved, as PyTorch's does).

``linear_in_dout`` and ``accumulates`` ran two or three backwards on one forward: a right
layer freeing its saved input failed ``linear_in_dout`` as "layer raised", and its
``accumulates`` check could not run and showed ``ok`` for a ``.grad =`` where ``+=`` belongs.
Each backward now gets the same forward again when a second one on a forward raises.
"""
from properties.search import hunt
from properties.cases import Case
from properties.laws import ONCE_NOTE
from tests.owncode_loading import collect_source

SOURCE = '''
import numpy as np


class Parameter:
    def __init__(self, data):
        self.data, self.grad = data, np.zeros_like(data)


class Linear:
    def __init__(self, n_in=4, n_out=3):
        rng = np.random.default_rng(0)
        self.weight = Parameter(rng.standard_normal((n_out, n_in)))
        self.bias = Parameter(np.zeros(n_out))
        self.x = None

    def zero_grad(self):
        for p in (self.weight, self.bias):
            p.grad = np.zeros_like(p.data)

    def forward(self, x):
        self.x = x
        return x @ self.weight.data.T + self.bias.data

    def backward(self, grad_output):
        x, self.x = self.x, None          # freed: a second backward has nothing to use
        self.weight.grad += grad_output.T @ x
        self.bias.grad += grad_output.sum(axis=0)
        return grad_output @ self.weight.data


class LinearAssigns(Linear):
    def backward(self, grad_output):
        x, self.x = self.x, None
        self.weight.grad = grad_output.T @ x          # = where += belongs
        self.bias.grad = grad_output.sum(axis=0)
        return grad_output @ self.weight.data
'''


def test_a_backward_that_frees_its_input_is_checked_with_a_forward_before_each(tmp_path):
    collect_source(tmp_path, "once.py", SOURCE)
    for prop in ("grads", "linear_in_dout", "accumulates", "no_mutation"):
        bad = hunt("once.Linear", prop, max_examples=8, shrink=False)
        assert bad is None, bad.failures[0].message()
    from properties.battery import all_properties
    case = Case(layer="once.Linear", config={}, dtype="float64", batch=3, kind="normal", seed=1)
    (law, *_) = all_properties()["linear_in_dout"].fn(case)
    assert law.passed and ONCE_NOTE in law.note
    bad = hunt("once.LinearAssigns", "accumulates", max_examples=8, shrink=False)
    assert bad is not None and {r.verdict for r in bad.failures} == {"layer bug"}, \
        [r.message() for r in bad.failures]
