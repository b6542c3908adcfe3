"""Layers finite on part of the line only: a log, a square root, a loss on probabilities.

Drawn on the whole line, a correct ``Log`` was skipped ("no input shape made forward and
backward run") and, given a hint, failed every check with NaN; a correct BCE on
probabilities failed the same way. Where a forward gives NaN or inf on ordinary inputs, its
float inputs are now drawn in the widest of (0, inf), (-1, 1), (0, 1) where it does not; a
hint may give the range (``p=(N, 1) in (0, 1)``). A wrong backward still fails there.
"""
import math

import numpy as np
import pytest

from properties.search import hunt
from properties.user_hints import read_hints
from properties.values import DOMAIN_MARGIN, KINDS, into_domain, make_values
from tests.owncode_loading import collect_source

SOURCE = '''
import numpy as np


class Log:
    def forward(self, x):
        self.x = x
        return np.log(x)

    def backward(self, dout):
        return dout / self.x


class LogWrongDerivative(Log):
    def backward(self, dout):
        return dout * np.log(self.x)


class Sqrt:
    def forward(self, x):
        self.out = np.sqrt(x)
        return self.out

    def backward(self, dout):
        return dout * 0.5 / self.out


class Arcsin:
    def forward(self, x):
        self.x = x
        return np.arcsin(x)

    def backward(self, dout):
        return dout / np.sqrt(1 - self.x ** 2)


class BCELoss:
    """Binary cross-entropy on probabilities (the outputs of a sigmoid)."""
    def forward(self, p, y):
        self.p, self.y = p, y
        return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))

    def backward(self, dout=1.0):
        return dout * (self.p - self.y) / (self.p * (1 - self.p)) / self.p.size


class BCELossNotAveraged(BCELoss):
    def backward(self, dout=1.0):
        return dout * (self.p - self.y) / (self.p * (1 - self.p))


# gradcheck: HintedLog(); x=(N, 4) in (0.5, 3)
class HintedLog(Log):
    pass


# gradcheck: LogOfHintedShape(); x=(N, 2)
class LogOfHintedShape(Log):
    pass


class Tanh:
    def forward(self, x):
        self.out = np.tanh(x)
        return self.out

    def backward(self, dout):
        return dout * (1 - self.out ** 2)
'''


@pytest.fixture(scope="module")
def found(tmp_path_factory):
    return collect_source(tmp_path_factory.mktemp("domains"), "mine.py", SOURCE)[0]


def entry(found, label):
    return found[label].entry


def test_each_input_gets_the_widest_range_where_its_forward_is_finite(found):
    assert entry(found, "mine.Log").input_domains == ((0.0, math.inf),)
    assert entry(found, "mine.Sqrt").input_domains == ((0.0, math.inf),)
    assert entry(found, "mine.Arcsin").input_domains == ((-1.0, 1.0),)
    assert entry(found, "mine.BCELoss").input_domains == ((0.0, 1.0),)
    assert entry(found, "mine.Tanh").input_domains == ()          # finite everywhere: untouched
    assert "p drawn in (0, 1)" in found["mine.BCELoss"].how
    assert "x drawn in (0, inf)" in found["mine.Log"].how


def test_a_hint_gives_the_range_and_a_hint_without_one_is_probed(found):
    assert entry(found, "mine.HintedLog").input_domains == ((0.5, 3.0),)
    assert "x=(N, 4) in (0.5, 3)" in found["mine.HintedLog"].how
    assert entry(found, "mine.LogOfHintedShape").input_domains == ((0.0, math.inf),)
    assert "from the hint: x=(N, 2); x drawn in (0, inf)" in found["mine.LogOfHintedShape"].how


def test_every_case_draws_inside_the_range(found):
    from properties.cases import Case
    for label, (lo, hi) in [("mine.HintedLog", (0.5, 3.0)), ("mine.BCELoss", (0.0, 1.0))]:
        for kind in KINDS:
            for dtype in ("float64", "float32"):
                case = Case(layer=label, config={}, dtype=dtype, batch=3, kind=kind, seed=5)
                x = case.inputs()[0]
                assert x.dtype == np.dtype(dtype)
                assert np.all(x > lo) and np.all(x < hi), (label, kind, x)
    # a binary loss's targets are 0 or 1: the ends of its input's range
    y = Case(layer="mine.BCELoss", config={}, dtype="float64", batch=4, kind="normal",
             seed=1).targets()[0]
    assert set(np.unique(y)) == {0.0, 1.0}


@pytest.mark.parametrize("label", ["mine.Log", "mine.Sqrt", "mine.Arcsin", "mine.BCELoss",
                                   "mine.HintedLog", "mine.LogOfHintedShape"])
def test_correct_layers_with_a_range_pass(found, label):
    assert (found[label].entry.twin is None) == (label == "mine.Arcsin")   # no arcsin twin
    for prop in ("grads_tf", "grads_fd", "linear_in_dout", "batch_resize"):
        assert hunt(label, prop, max_examples=10, shrink=False) is None, (label, prop)


@pytest.mark.parametrize("label", ["mine.LogWrongDerivative", "mine.BCELossNotAveraged"])
def test_a_wrong_backward_still_fails_inside_the_range(found, label):
    for prop in ("grads_tf", "grads_fd"):
        bad = hunt(label, prop, max_examples=10, shrink=False)
        assert bad is not None, (label, prop)
        assert all(np.isfinite(r.ratio) for r in bad.failures), bad.failures[0].message()
        assert {r.verdict for r in bad.failures} <= {"layer bug"}, bad.failures[0].message()


def test_the_map_into_a_range_is_increasing_and_keeps_its_margin():
    rng = np.random.default_rng(0)
    for kind in KINDS:
        v = np.sort(make_values(kind, (200,), np.dtype("float64"), rng))
        for lo, hi in [(0.0, 1.0), (-1.0, 1.0), (0.0, math.inf), (-math.inf, 2.0), (0.5, 3.0)]:
            x = into_domain(v, (lo, hi))
            assert np.all(np.diff(x) >= 0), (kind, lo, hi)          # increasing: ties stay ties
            assert np.array_equal(np.diff(v) == 0, np.diff(x) == 0) or kind in ("large", "overflow")
            width = (hi - lo) if math.isfinite(hi - lo) else 1.0
            assert np.all(x >= lo + DOMAIN_MARGIN * width * (1 - 1e-12)), (kind, lo, hi)
            assert np.all(x <= hi - DOMAIN_MARGIN * width * (1 - 1e-12)), (kind, lo, hi)
    assert into_domain(np.zeros(2, np.float32), (0.0, 1.0)).dtype == np.float32
    v = np.linspace(-3, 3, 7)
    assert into_domain(v, None) is v


@pytest.mark.parametrize("text, message", [
    ("L(); x=(N, 3) in (1, 0)", "the first end must be below the second"),
    ("L(); x=(N, 3) in (0,)", "takes two ends"),
    ("L(); x=(N, 3) in (0, big)", "the ends are numbers or inf"),
    ("L(); x=int(N, 3) in (0, 1)", "follows a float array's shape"),
])
def test_a_range_that_does_not_read_is_named(text, message):
    with pytest.raises(ValueError, match=message):
        read_hints(f"# gradcheck: {text}\n")


def test_a_range_reads_with_inf_and_negative_ends():
    hint = read_hints("# gradcheck: L(); x=(N, 3) in (-inf, 0); y=(N, 3) in (0, 1)\n")["L"]
    assert hint.array("x").domain == (-math.inf, 0.0) and hint.array("y").domain == (0.0, 1.0)
    assert hint.array("x").show() == "(N, 3) in (-inf, 0)"


def test_a_failure_says_its_drawn_values_are_mapped_into_the_range(found):
    from properties.cases import Case
    case = Case(layer="mine.Log", config={}, dtype="float64", batch=1, kind="normal", seed=0,
                values=((0.0, 0.0, 0.0),))
    assert case.describe()["values (mapped into (0, inf))"] == ((0.0, 0.0, 0.0),)
    plain = Case(layer="mine.Tanh", config={}, dtype="float64", batch=1, kind="normal", seed=0,
                 values=((0.0, 0.0, 0.0, 0.0, 0.0),))
    assert "values" in plain.describe()
