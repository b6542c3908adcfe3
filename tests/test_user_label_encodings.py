"""A user's classification loss, as the tutorials write it.

* deep-learning-from-scratch's ``SoftmaxWithLoss`` takes labels as integers and as one-hot
  rows, with a backward branch for each: both encodings are drawn, so a wrong one-hot branch
  fails (it passed: only integer labels were drawn unless a docstring said one-hot);
* a guard inside the log too small to show on ordinary scores (``log(p + 1e-300)``) is named
  as the convention it is, found where the target's probability underflows (the battery's
  ``overflow`` values go there), not reported as a forward that differs.
"""
import pytest

from properties.battery import all_properties
from properties.cases import Case
from tests.owncode_loading import collect_source
from properties.search import hunt
from properties.second_look import FLOAT32_RANGE

LOSSES = '''
import numpy as np


def softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


class SoftmaxWithLoss:
    def forward(self, x, t):
        self.t, self.y = t, softmax(x)
        n = x.shape[0]
        if t.size == self.y.size:
            return -np.sum(t * np.log(self.y + 1e-300)) / n
        return -np.sum(np.log(self.y[np.arange(n), t] + 1e-300)) / n

    def backward(self, dout=1):
        n = self.t.shape[0]
        if self.t.size == self.y.size:
            dx = (self.y - self.t) / n
        else:
            dx = self.y.copy()
            dx[np.arange(n), self.t] -= 1
            dx = dx / n
        return dx * dout


class OneHotBranchWrong(SoftmaxWithLoss):
    def backward(self, dout=1):
        n = self.t.shape[0]
        if self.t.size == self.y.size:
            return (self.y - self.t) * dout          # no / n
        dx = self.y.copy()
        dx[np.arange(n), self.t] -= 1
        return dx / n * dout


class LabelsOnlyLoss:
    def forward(self, x, t):
        self.t, self.y = t, softmax(x)
        n = x.shape[0]
        return -np.mean(np.log(self.y[np.arange(n), t] + 1e-300))

    def backward(self, dout=1):
        n = self.t.shape[0]
        dx = self.y.copy()
        dx[np.arange(n), self.t] -= 1
        return dx / n * dout
'''


@pytest.fixture(scope="module")
def found(tmp_path_factory):
    return collect_source(tmp_path_factory.mktemp("losses"), "cls.py", LOSSES)[0]


def test_both_encodings_are_drawn_only_where_the_forward_takes_both(found):
    assert "as integers and as one-hot rows" in found["cls.SoftmaxWithLoss"].how
    assert "one-hot rows" not in found["cls.LabelsOnlyLoss"].how
    assert repr(found["cls.LabelsOnlyLoss"].entry.configs) == "just({})"


def test_a_wrong_one_hot_branch_fails_with_one_hot_targets_and_only_there(found):
    bad = hunt("cls.OneHotBranchWrong", "grads_tf", max_examples=20)
    assert bad is not None and bad.case.config == {"targets": "one_hot"}
    assert {r.verdict for r in bad.failures} == {"layer bug"}
    labels = Case(layer="cls.OneHotBranchWrong", config={"targets": "labels"}, dtype="float64",
                  batch=3, kind="normal", seed=bad.case.seed)
    assert all(r.passed for r in all_properties()["grads_tf"].fn(labels))


@pytest.mark.parametrize("layer", ["cls.SoftmaxWithLoss", "cls.LabelsOnlyLoss"])
def test_the_tiny_guard_is_named_and_correct_losses_pass_in_float64(found, layer):
    assert "log(p + 1e-300)" in found[layer].how
    for targets in ({"targets": "labels"}, {"targets": "one_hot"}) if layer.endswith("WithLoss") \
            else ({},):
        for kind in ("overflow", "large", "normal"):
            case = Case(layer=layer, config=targets, dtype="float64", batch=3, kind=kind, seed=5)
            for prop in ("forward_tf", "grads_tf"):
                results = all_properties()[prop].fn(case)
                assert results and all(r.passed for r in results), (prop, kind, targets)


def test_in_float32_the_guard_is_zero_and_an_infinite_loss_is_no_convention(found):
    """1e-300 is 0 in float32: where the target's probability underflows the loss is inf.
    That is reported as it is, not excused as the guard's convention, and says that float64
    is finite on the same case (float32's range, not the maths)."""
    def case(seed):
        return Case(layer="cls.LabelsOnlyLoss", config={}, dtype="float32", batch=1,
                    kind="large", seed=seed, values=((38.25, -65.75, 0.0, 0.0, 0.0),))
    # the seed whose label is class 1: its probability, exp(-104), is 0 in float32
    case = case(next(s for s in range(200) if case(s).targets()[0][0] == 1))
    failed = [r for r in all_properties()["forward_tf"].fn(case) if not r.passed]
    assert failed and {r.verdict for r in failed} == {"forward differs"}
    assert all("NaN or Inf" in r.note for r in failed)
    assert all(FLOAT32_RANGE in r.note for r in failed)   # float64 is finite there: said so
