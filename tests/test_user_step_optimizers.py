"""Optimizers written PyTorch's way: given their params at construction, moved by ``step()``.
They were not found at all ("found nothing to check", exit 2). They are now driven through the
dict-style trajectory check, each of the three ways of handing over params found by trying it:
objects with .data and .grad, (param, grad) pairs, a list of params and one of grads."""
import pytest

from properties.owncode import collect
from tests.owncode_loading import collect_source

SOURCE = '''
import numpy as np


class Optimizer:
    """A base: no step() of its own."""

    def __init__(self, params):
        self.params = list(params)

    def zero_grad(self):
        for p in self.params:
            p.grad = None


class SGD(Optimizer):
    def __init__(self, params, lr=0.1):
        super().__init__(params)
        self.lr = lr

    def step(self):
        for p in self.params:
            p.data = p.data {sgd} self.lr * p.grad


class MomentumSGD:
    def __init__(self, params_and_grads, lr=0.05, momentum=0.9):
        self.pairs, self.lr, self.momentum = params_and_grads, lr, momentum
        self.velocity = [np.zeros_like(p) for p, _ in params_and_grads]

    def step(self):
        for i, (p, g) in enumerate(self.pairs):
            self.velocity[i] = self.momentum * self.velocity[i] - self.lr * g
            p += self.velocity[i]


class Adam:
    def __init__(self, params, grads, lr=1e-3, betas=(0.9, 0.999), eps=1e-7):
        self.params, self.grads, self.lr, self.betas, self.eps = params, grads, lr, betas, eps
        self.t, self.m, self.v = 0, [0.0] * len(params), [0.0] * len(params)

    def step(self):
        self.t += 1
        b1, b2 = self.betas
        a = self.lr * np.sqrt(1 - b2 ** self.t) / (1 - b1 ** self.t)
        for i, (p, g) in enumerate(zip(self.params, self.grads)):
            self.m[i] = b1 * self.m[i] + (1 - b1) * g
            self.v[i] = b2 * self.v[i] + (1 - b2) * {square}
            p -= a * self.m[i] / (np.sqrt(self.v[i]) + self.eps)
'''


@pytest.fixture(scope="module")
def correct(tmp_path_factory):
    folder = tmp_path_factory.mktemp("step_ok")
    found, collected = collect_source(folder, "step_optims_ok.py",
                                      SOURCE.format(sgd="-", square="g * g"))
    return found, collected


@pytest.mark.parametrize("name, style", [("SGD", "params with .data and .grad"),
                                         ("MomentumSGD", "(param, grad) pairs"),
                                         ("Adam", "a list of params and one of grads")])
def test_each_way_of_handing_over_params_is_found_and_passes(correct, name, style):
    found, _ = correct
    item = found[f"step_optims_ok.{name}"]
    assert style in item.how and "step()" in item.how
    results = item.check()
    assert results and all(r.passed and not r.warning for r in results), results[0].message()


def test_a_base_class_without_step_is_not_an_optimizer(correct):
    found, collected = correct
    assert "step_optims_ok.Optimizer" not in found
    assert not [s for s in collected.skipped if s.label.endswith(".Optimizer") and s.unchecked]


@pytest.mark.parametrize("name, slip", [("SGD", dict(sgd="+", square="g * g")),
                                        ("Adam", dict(sgd="-", square="np.abs(g)"))])
def test_their_slips_fail_as_layer_bugs(tmp_path, name, slip):
    found, _ = collect_source(tmp_path, f"step_optims_bug_{name.lower()}.py", SOURCE.format(**slip))
    results = found[f"step_optims_bug_{name.lower()}.{name}"].check()
    failed = [r for r in results if not r.passed]
    assert failed and {r.verdict for r in failed} == {"layer bug"}


def test_a_step_that_cannot_be_driven_is_a_skip_saying_what_was_tried(tmp_path):
    (tmp_path / "step_odd.py").write_text(   # its params kept by name, looked up elsewhere
        "class Lookahead:\n    def __init__(self, params, lr=0.1):\n        self.names = params\n\n"
        "    def step(self):\n        pass\n")
    (skip,) = [s for s in collect([tmp_path]).skipped if s.label.endswith("Lookahead")]
    assert "cannot drive its step()" in skip.reason and "(param, grad) pairs" in skip.reason


def test_a_base_whose_step_is_not_implemented_is_listed_and_not_counted(tmp_path):
    (tmp_path / "step_base.py").write_text(
        "class BaseOptimizer:\n    def __init__(self, params, lr=0.1):\n        self.params = params\n\n"
        "    def step(self):\n        raise NotImplementedError\n")
    (skip,) = [s for s in collect([tmp_path]).skipped if s.label.endswith("BaseOptimizer")]
    assert "not implemented (a base class)" in skip.reason and not skip.unchecked


def test_a_scheduler_given_an_optimizer_is_no_optimizer(tmp_path):
    """PyTorch's StepLR has a step() too; it takes an optimizer, not params: nothing to check
    (it was a skip that made the run exit 3)."""
    (tmp_path / "step_sched.py").write_text(
        "class StepLR:\n    def __init__(self, optimizer, step_size=10, gamma=0.1):\n"
        "        self.optimizer, self.step_size, self.gamma, self.t = optimizer, step_size, gamma, 0\n\n"
        "    def step(self):\n        self.t += 1\n")
    collected = collect([tmp_path])
    assert not collected.found and not [s for s in collected.skipped if s.unchecked]
