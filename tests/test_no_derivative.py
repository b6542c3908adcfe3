"""A NaN from a backward where the forward has no derivative (a cone) is a warning; a NaN where
it has one is a bug, named by element (properties/no_derivative.py).

A new user's textbook contrastive loss failed ``batch_additive`` at x1 == x2 with "the layer
gave NaN on these inputs", for the dissimilar pairs (0/0 at the cone's tip, where no gradient
exists: TF's own norm gives NaN there) and the similar ones alike (0 * NaN where the gradient
of d ** 2 is 0). A row norm's NaN at a zero row failed ``grads`` along random directions (one
NaN makes every projection NaN) and passed silently elementwise."""
import numpy as np
import pytest

from properties.battery import GRADS, property_named
from properties.cases import Case
from properties.catalog import get
from properties.search import hunt
from reports.collect import ResultLog
from tests.owncode_loading import collect_source

ROW_NORM = '''
import numpy as np


class RowNorm:
    """out[i] = ||x[i]||: a cone at a zero row."""

    def forward(self, x):
        self.x = x
        self.n = np.sqrt(np.sum(x * x, axis=1, keepdims=True))
        return self.n

    def backward(self, dout):
        return dout * self.x / {denominator}
'''

CONTRASTIVE = '''
import numpy as np


class ContrastiveLoss:
    """0.5 * mean(y d^2 + (1 - y) max(m - d, 0)^2), d = ||x1 - x2||; y: 1 for a similar pair."""

    def forward(self, x1, x2, y):
        self.diff, self.y = x1 - x2, y
        self.d = np.sqrt(np.sum(self.diff ** 2, axis=1))
        self.h = np.maximum(1.0 - self.d, 0.0)
        return 0.5 * np.mean(y * self.d ** 2 + (1 - y) * self.h ** 2)

    def backward(self):
        y, h, d = self.y[:, None], self.h[:, None], self.d[:, None]
        g = (y * self.diff - (1 - y) * h * self.diff / {d}) / self.diff.shape[0]
        return g, -g
'''


def _layer(tmp_path, name, source):
    found, _ = collect_source(tmp_path, f"{name}.py", source)
    (label,) = found
    return label


def _zeros(label, batch):
    """Every input 0 (x1 == x2 for a pair), in the shapes the layer was found to take."""
    return tuple((0.0,) * int(np.prod(s)) for s in get(label).input_shapes({}, batch))


def _at(label, prop, values, batch, seed=0):
    """The results of ``prop`` on the case of these flat input values, as its replay runs it
    (``seed`` odd: a pair loss's inputs as given, not the first one moved)."""
    case = Case(layer=label, config={}, dtype="float64", batch=batch, kind="normal", seed=seed,
                values=values)
    return property_named(prop).fn(case)


ZERO_ROW = ((0.0,) * 5 + (0.5, -1.0, 2.0, 0.25, 1.5),)      # x (2, 5): row 0 is 0


@pytest.mark.parametrize("prop", [GRADS.name, "linear_in_dout", "batch_additive"])
def test_a_norm_giving_nan_at_its_cone_warns_and_does_not_fail(tmp_path, prop):
    label = _layer(tmp_path, "cone_norm", ROW_NORM.format(denominator="self.n"))
    results = _at(label, prop, ZERO_ROW, 2)
    assert all(r.passed for r in results), [r.message() for r in results if not r.passed]
    warned = [r for r in results if r.warning]
    assert warned and all("element(s) not judged" in r.note and "no derivative" in r.note
                          for r in warned), [r.message() for r in results]


def test_away_from_its_cone_it_passes_without_warning(tmp_path):
    label = _layer(tmp_path, "cone_norm_away", ROW_NORM.format(denominator="self.n"))
    for prop in (GRADS.name, "linear_in_dout", "batch_additive"):
        results = _at(label, prop, ((0.5, -1.0, 2.0, 0.25, 1.5, 1.0, 0.5, -0.5, 2.0, -1.0),), 2)
        assert all(r.passed and not r.warning for r in results), prop


def test_a_wrong_norm_backward_still_fails_at_and_away_from_the_cone(tmp_path):
    label = _layer(tmp_path, "cone_norm_bug", ROW_NORM.format(denominator="self.n ** 2"))
    assert not all(r.passed for r in _at(label, GRADS.name, ZERO_ROW, 2))
    assert hunt(label, "grads_fd", max_examples=10, shrink=False) is not None


def test_a_nan_where_the_forward_has_a_derivative_fails_naming_the_element(tmp_path):
    """The similar pair (y = 1) at x1 == x2: d ** 2 is smooth there, its gradient 0; the
    backward's (1 - y) * h * diff / d is 0 * NaN."""
    label = _layer(tmp_path, "contrastive_nan", CONTRASTIVE.format(d="d"))
    results = _at(label, "batch_additive", _zeros(label, 2), 2)
    failed = [r for r in results if not r.passed]
    assert failed, [r.message() for r in results]
    assert "where its forward has a derivative (finite differences: 0)" in failed[0].note
    assert "not a point without a gradient" in failed[0].note
    (y,) = Case(layer=label, config={}, dtype="float64", batch=2, kind="normal", seed=0,
                values=_zeros(label, 2)).targets()
    row = int(failed[0].note.split("[", 1)[1].split(",", 1)[0])
    assert y[row] == 1 and 0 in y     # a similar pair's row is named; a dissimilar one is not


def test_the_guarded_contrastive_loss_passes_at_x1_equal_x2(tmp_path):
    """The same loss dividing by d only where d > 0: finite at the cone, where finite
    differences excuse the dissimilar pairs and judge the similar ones (0)."""
    label = _layer(tmp_path, "contrastive_guarded",
                   CONTRASTIVE.format(d="np.where(d > 0, d, 1.0)"))
    for prop in (GRADS.name, "batch_additive"):
        results = _at(label, prop, _zeros(label, 2), 2)
        assert all(r.passed and not r.warning for r in results), \
            [r.message() for r in results if not r.passed or r.warning]


def test_the_result_log_keeps_a_warning_over_a_pass_with_a_higher_ratio():
    from oracle.result import Result
    plain = Result(layer="L", prop="p", tensor="dx", oracle="fd", passed=True, ratio=0.9)
    warning = Result(layer="L", prop="p", tensor="dx", oracle="fd", passed=True, ratio=0.1,
                     warning=True)
    for order in ([plain, warning], [warning, plain]):
        log = ResultLog()
        for r in order:
            log.add([r])
        assert log.records == [warning]


OVERFLOWING = '''
import numpy as np


class ExpPair:
    """sum(exp(a - b)) / N: a law sees the same inf on both sides where it overflows."""

    def forward(self, a, b):
        self.r = np.exp(a - b)
        return np.sum(self.r) / a.shape[0]

    def backward(self, dout=1.0):
        g = self.r * dout / self.r.shape[0]
        return g, -g
'''


def test_the_same_inf_on_both_sides_of_a_law_passes_it_without_a_warning(tmp_path):
    """Not a point without a derivative: exp overflows there, and finite differences of the
    float64 copy see a smooth (huge) function; the law's inf == inf is no cone to warn of."""
    label = _layer(tmp_path, "exp_pair", OVERFLOWING)
    n = int(np.prod(get(label).input_shapes({}, 2)[0]))
    a = tuple(np.resize([400.0, -400.0, 1.0, 2.0, 0.5], n).tolist())
    results = _at(label, "batch_additive", (a, tuple(-v for v in a)), 2, seed=1)
    assert results and all(r.passed for r in results), [r.message() for r in results]
    assert any(not np.all(np.isfinite(r.actual)) for r in results)    # inf == inf, as said
    assert not any(r.warning for r in results), [r.message() for r in results if r.warning]
