"""ML-From-Scratch's optimizers and its activation and loss classes. The optimizers'
``update(w, grad_wrt_w)`` returns the new w (they were handed dicts and failed as a broken
contract); the activations' ``__call__`` / ``gradient`` and the losses' ``loss`` / ``gradient``
had no backward, so nothing was checked. numpy-ml's ``fn`` / ``grad`` classes are here too."""
import pytest

from tests.owncode_loading import collect_source

OPTIMIZERS = '''
import numpy as np


class StochasticGradientDescent():
    def __init__(self, learning_rate=0.01, momentum=0):
        self.learning_rate, self.momentum, self.w_updt = learning_rate, momentum, None

    def update(self, w, grad_wrt_w):
        if self.w_updt is None:
            self.w_updt = np.zeros(np.shape(w))
        self.w_updt = self.momentum * self.w_updt + (1 - self.momentum) * grad_wrt_w
        return w - self.learning_rate * self.w_updt


class Adam():
    def __init__(self, learning_rate=0.001, b1=0.9, b2=0.999):
        self.learning_rate, self.eps, self.m, self.v, self.b1, self.b2 = \\
            learning_rate, 1e-8, None, None, b1, b2
        self.t = 0

    def update(self, w, grad_wrt_w):
        if self.m is None:
            self.m, self.v = np.zeros(np.shape(grad_wrt_w)), np.zeros(np.shape(grad_wrt_w))
        self.t += 1
        self.m = self.b1 * self.m + (1 - self.b1) * grad_wrt_w
        self.v = self.b2 * self.v + (1 - self.b2) * np.power(grad_wrt_w, 2)
        m_hat = self.m / (1 - self.b1 ** self.t)
        v_hat = self.v / (1 - self.b2 ** self.t)
        self.w_updt = self.learning_rate * m_hat / (np.sqrt(v_hat) + self.eps)
        return w - self.w_updt


class NesterovAcceleratedGradient():
    def __init__(self, learning_rate=0.001, momentum=0.4):
        self.learning_rate, self.momentum, self.w_updt = learning_rate, momentum, np.array([])

    def update(self, w, grad_func):
        approx_future_grad = np.clip(grad_func(w - self.momentum * self.w_updt), -1, 1)
        if not self.w_updt.any():
            self.w_updt = np.zeros(np.shape(w))
        self.w_updt = self.momentum * self.w_updt + self.learning_rate * approx_future_grad
        return w - self.w_updt
'''


def test_optimizers_returning_the_new_w_are_checked_one_copy_per_param(tmp_path):
    found, collected = collect_source(tmp_path, "mlfs_optim.py", OPTIMIZERS)
    skipped = {s.label: s.reason for s in collected.skipped}
    sgd, adam = found["mlfs_optim.StochasticGradientDescent"], found["mlfs_optim.Adam"]
    assert sgd.how.startswith("SGD optimizer update(w, grad) returning the new w")
    assert all(r.passed for r in sgd.check() + adam.check())
    assert "takes a function computing the gradient" in \
        skipped["mlfs_optim.NesterovAcceleratedGradient"]


def test_a_slip_in_such_an_optimizer_fails(tmp_path):
    found, _ = collect_source(tmp_path, "mlfs_optim_bug.py", OPTIMIZERS.replace(
        "m_hat = self.m / (1 - self.b1 ** self.t)", "m_hat = self.m / (1 - self.b1)"))
    failed = [r for r in found["mlfs_optim_bug.Adam"].check() if not r.passed]
    assert failed and {r.verdict for r in failed} == {"layer bug"}


FUNCTIONS = '''
from abc import ABC, abstractmethod

import numpy as np


class ELU():
    def __init__(self, alpha=0.1):
        self.alpha = alpha

    def __call__(self, x):
        return np.where(x >= 0.0, x, self.alpha * (np.exp(x) - 1))

    def gradient(self, x):
        return np.where(x >= 0.0, 1, {elu_left})


class Loss(object):
    def loss(self, y_true, y_pred):
        return NotImplementedError()

    def gradient(self, y, y_pred):
        raise NotImplementedError()


class SquareLoss(Loss):
    def loss(self, y, y_pred):
        return 0.5 * np.power((y - y_pred), 2)

    def gradient(self, y, y_pred):
        return -(y - y_pred)


class CrossEntropy(Loss):
    def loss(self, y, p):
        p = np.clip(p, 1e-15, 1 - 1e-15)
        return - y * np.log(p) - (1 - y) * np.log(1 - p)

    def gradient(self, y, p):
        p = np.clip(p, 1e-15, 1 - 1e-15)
        return {ce_grad}


class ActivationBase(ABC):
    @abstractmethod
    def fn(self, z):
        raise NotImplementedError

    @abstractmethod
    def grad(self, x):
        raise NotImplementedError


class Tanh(ActivationBase):
    def fn(self, z):
        return np.tanh(z)

    def grad(self, x):
        return 1 - np.tanh(x) ** 2


class SoftmaxCrossEntropy:
    """numpy-ml's: grad is taken with respect to the softmax's input."""

    def loss(self, y, y_pred):
        return -np.sum(y * np.log(y_pred + 1e-15))

    def grad(self, y, y_pred):
        return y_pred - y
'''
FN_RIGHT = {"elu_left": "self.__call__(x) + self.alpha", "ce_grad": "- (y / p) + (1 - y) / (1 - p)"}


def _functions(tmp_path, module, **changes):
    text = FUNCTIONS
    for k, v in {**FN_RIGHT, **changes}.items():
        text = text.replace("{" + k + "}", v)
    found, collected = collect_source(tmp_path, module, text)
    return found, {s.label: s for s in collected.skipped}


def test_activation_and_loss_classes_are_checked_as_derivative_pairs(tmp_path):
    found, skipped = _functions(tmp_path, "mlfs_fns.py")
    for name in ("ELU", "SquareLoss", "CrossEntropy", "Tanh"):
        results = found[f"mlfs_fns.{name}"].check()
        assert results and all(r.passed and not r.warning for r in results), \
            [r.message() for r in results if not r.passed]
    assert "predictions in (1e-15, 1)" in found["mlfs_fns.CrossEntropy"].how   # inside its clip
    assert "one per element, summed" in found["mlfs_fns.SquareLoss"].how
    for base in ("Loss", "ActivationBase"):              # bases: nothing to check, not unchecked
        assert not skipped[f"mlfs_fns.{base}"].unchecked, skipped[f"mlfs_fns.{base}"].reason
    (logits,) = found["mlfs_fns.SoftmaxCrossEntropy"].check()
    assert logits.passed and logits.warning and logits.verdict == "convention"
    assert "with respect to the logits z where y_pred = softmax(z)" in logits.explanation


@pytest.mark.parametrize("change, name", [
    (dict(elu_left="self.__call__(x)"), "ELU"),
    (dict(ce_grad="(y / p) + (1 - y) / (1 - p)"), "CrossEntropy"),
])
def test_a_slip_in_a_derivative_method_fails(tmp_path, change, name):
    module = f"mlfs_fns_{name.lower()}.py"
    found, _ = _functions(tmp_path, module, **change)
    failed = [r for r in found[f"{module[:-3]}.{name}"].check() if not r.passed]
    assert failed and {r.verdict for r in failed} == {"layer bug"}
