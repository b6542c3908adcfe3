"""A failure shrunk to inputs where the bug is tiny reads as harmless: a tanh derivative taken
from the pre-activation (1 - z**2 for 1 - tanh(z)**2) is off by O(z**4), and the search shrinks
x towards 0, where it was shown at 1.05x its tolerance (here: 1 - x**2 for 1 - tanh(x)**2). Such a failure also says how far off
it is on typical inputs (one more run of the shown case, redrawn from normal values)."""
import pytest

from properties.battery import GRADS
from properties.catalog import get
from properties.search import run_property
from reports.collect import ResultLog
from tests.owncode_loading import collect_source

TANH = '''
import numpy as np


class Tanh:
    def forward(self, x):
        self.x, self.y = x, np.tanh(x)
        return self.y

    def backward(self, dout):
        return dout * (1 - {derivative} ** 2)
'''


def _message(tmp_path, module, derivative, source=TANH, cls="Tanh"):
    """The failure grads prints for ``source`` with its one blank filled."""
    collect_source(tmp_path, f"{module}.py", source.replace("{derivative}", derivative))
    with pytest.raises(AssertionError) as info:
        run_property(GRADS, get(f"{module}.{cls}"), ResultLog(), derandomize=True,
                     database=None, max_examples=25)
    return str(info.value)


def test_a_failure_shrunk_to_the_edge_of_its_tolerance_says_its_typical_size(tmp_path):
    text = _message(tmp_path, "tanh_from_x", "self.x")      # read from the input, not output
    ratios = [float(part.split("x")[0]) for part in text.split("worst error is ")[1:]]
    assert min(ratios) < 10, text               # the shrunk case, barely over
    typical = text.split("on typical inputs (normal values, batch ")[1]
    assert float(typical.split(" at ")[1].split("x")[0]) > 1000, typical
    assert "the case above is the simplest that still fails, not the size of the error" in text


def test_a_failure_shown_well_over_its_tolerance_needs_no_such_line(tmp_path):
    text = _message(tmp_path, "tanh_doubled", "(2 * self.y)")        # large everywhere
    assert "on typical inputs" not in text


DOUBLED = '''
import numpy as np


class Dense:
    def __init__(self, n_in=3, n_out=2):
        self.W = np.random.default_rng(0).standard_normal((n_in, n_out))
        self.b = np.zeros(n_out)
        self.dW, self.db = np.zeros_like(self.W), np.zeros_like(self.b)

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, dout):
        self.dW, self.db = 2 * self.x.T @ dout, 2 * dout.sum(axis=0)     # both doubled
        return dout @ self.W.T
'''


def test_a_tensor_the_shrunk_case_hides_is_named_from_typical_inputs(tmp_path):
    """Shrunk to x = 0, a doubled dW is 0 on both sides and passes: only db was shown wrong."""
    collect_source(tmp_path, "doubled.py", DOUBLED)
    with pytest.raises(AssertionError) as info:
        run_property(GRADS, get("doubled.Dense"), ResultLog(), derandomize=True,
                     database=None, max_examples=25)
    text = str(info.value)
    shown = {line.split("] ")[1].split(" vs")[0] for line in text.splitlines() if "] d" in line}
    assert shown == {"db"}, shown                     # the case shrank to x = 0
    assert "dW fails too (right on the case above only)" in text, text


UNBIASED = '''
import numpy as np


class BatchNorm:
    def __init__(self, D=3):
        self.gamma, self.beta = np.ones(D), np.zeros(D)

    def forward(self, x):
        self.mu, self.var = x.mean(axis=0), x.var(axis=0)
        self.xhat = (x - self.mu) / np.sqrt(self.var + 1e-5)
        return self.gamma * self.xhat + self.beta

    def backward(self, dout):
        N = dout.shape[0]
        self.dgamma, self.dbeta = (dout * self.xhat).sum(axis=0), dout.sum(axis=0)
        dxhat = dout * self.gamma
        std = np.sqrt(self.var * N / (N - 1) + 1e-5)        # N - 1 in backward only
        return (N * dxhat - dxhat.sum(axis=0) - self.xhat * (dxhat * self.xhat).sum(axis=0)) \\
            / (N * std)
'''


def test_a_failure_shrunk_to_nan_says_how_it_fails_with_finite_values(tmp_path):
    """A backward dividing by N - 1 is NaN at batch 1, where the search shrinks to: shown
    there alone, its error read as a missing epsilon; the typical case's finite failure is
    said beside it."""
    collect_source(tmp_path, "bn_unbiased.py", UNBIASED)
    with pytest.raises(AssertionError) as info:
        run_property(GRADS, get("bn_unbiased.BatchNorm"), ResultLog(), derandomize=True,
                     database=None, max_examples=25)
    text = str(info.value)
    assert "worst error is infx" in text, text
    line = text.split("on typical inputs (normal values, batch ")[1].splitlines()[0]
    assert "with finite values" in line and float(line.split(" at ")[1].split("x")[0]) > 10, line


SOFTMAX = '''
import numpy as np


class Softmax:
    def forward(self, x):
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        self.p = e / e.sum(axis=-1, keepdims=True)
        return self.p

    def backward(self, dout):
        inner = dout - (dout * self.p).sum(axis=-1, keepdims=True)
        return {derivative} * inner
'''


def _softmax_message(tmp_path, module, weight):
    return _message(tmp_path, module, weight, SOFTMAX, "Softmax")


def test_a_factor_read_off_the_shrunk_case_alone_is_said_to_hold_there_only(tmp_path):
    """sqrt(p) where p belongs: on the all-zero input the search shrinks to, p is uniform and
    the error a constant factor, sqrt(D), diagnosed as an attention's 1/sqrt(d_k); on typical
    inputs it is no factor, and the message now says the diagnosis fits the case alone."""
    text = _softmax_message(tmp_path, "softmax_sqrt", "np.sqrt(self.p)")
    assert "diagnosis: constant factor" in text, text
    assert "is no constant factor: the diagnosis above fits the values of the case above only" \
        in text, text
    text = _softmax_message(tmp_path, "softmax_doubled", "2 * self.p")     # a factor anywhere
    assert "diagnosis: constant factor" in text and "is no constant factor" not in text, text


def test_a_tensor_shown_failing_is_never_said_to_fail_too():
    """dx shown failing under grads_fd and failing under grads_tf on the typical case was said
    to "fail too (right on the case above only)", which the case above contradicts."""
    from types import SimpleNamespace

    from properties.cases import Case
    from properties.search import _shrunk_note

    def result(prop, tensor, ratio, passed=False):
        return SimpleNamespace(prop=prop, tensor=tensor, ratio=ratio, passed=passed,
                               warning=False, shown_diagnosis={})
    case = Case(layer="x", config={}, dtype="float64", batch=1, kind="normal", seed=0)
    shown = [result("grads_fd", "dx", 50.0)]
    note = _shrunk_note(shown, {"case": case}, lambda c: [result("grads_tf", "dx", 60.0),
                                                          result("grads_tf", "dW", 9.0)])
    assert "dW fails too" in note and "dx" not in note.split("on typical")[-1], note
