"""Activations a user writes that now get a TF twin instead of finite differences alone:
softplus, SiLU/swish, GELU (exact and tanh-approximated), each told apart from the others
by its values; a wrong derivative of each fails against TF as a layer bug."""
import pytest

from properties.search import hunt
from tests.owncode_loading import collect_source

SOURCE = '''
import numpy as np
from math import erf, sqrt, pi

_erf = np.vectorize(erf)


class Softplus:
    def forward(self, x):
        self.x = x
        return np.logaddexp(0.0, x)

    def backward(self, dout):
        return dout / (1.0 + np.exp(-self.x))


class Swish:
    def forward(self, x):
        self.x, self.s = x, 1.0 / (1.0 + np.exp(-x))
        return x * self.s

    def backward(self, dout):
        return dout * (self.s + self.x * self.s * (1.0 - self.s))


class SwishNoProductRule(Swish):
    def backward(self, dout):
        return dout * self.s


class GELU:
    def forward(self, x):
        self.x = x
        return 0.5 * x * (1.0 + _erf(x / sqrt(2.0)))

    def backward(self, dout):
        x = self.x
        return dout * (0.5 * (1.0 + _erf(x / sqrt(2.0))) + x * np.exp(-0.5 * x * x) / sqrt(2 * pi))


class GeluTanh:
    def forward(self, x):
        self.x = x
        self.t = np.tanh(sqrt(2 / pi) * (x + 0.044715 * x ** 3))
        return 0.5 * x * (1.0 + self.t)

    def backward(self, dout):
        x, t = self.x, self.t
        inner = sqrt(2 / pi) * (1.0 + 3 * 0.044715 * x ** 2)
        return dout * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t ** 2) * inner)


class GeluTanhMissingCubeTerm(GeluTanh):
    def backward(self, dout):
        x, t = self.x, self.t
        return dout * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t ** 2) * sqrt(2 / pi))
'''

TWINS = {"Softplus": "softplus", "Swish": "silu", "GELU": "gelu: exact",
         "GeluTanh": "gelu_tanh"}


@pytest.fixture(scope="module")
def found(tmp_path_factory):
    return collect_source(tmp_path_factory.mktemp("acts"), "acts.py", SOURCE)[0]


@pytest.mark.parametrize("name", list(TWINS))
def test_each_gets_its_own_twin_and_passes(found, name):
    assert f"TF twin: {TWINS[name]}" in found[f"acts.{name}"].how
    for prop in ("forward_tf", "grads_tf"):
        assert hunt(f"acts.{name}", prop, max_examples=10, shrink=False) is None, prop


@pytest.mark.parametrize("name", ["SwishNoProductRule", "GeluTanhMissingCubeTerm"])
def test_a_wrong_derivative_fails_against_its_twin(found, name):
    assert "TF twin:" in found[f"acts.{name}"].how
    bad = hunt(f"acts.{name}", "grads_tf", max_examples=10, shrink=False)
    assert bad is not None and {r.verdict for r in bad.failures} == {"layer bug"}
    assert {r.oracle for r in bad.failures} == {"tf"}


def test_the_gelu_twins_are_float64_accurate():
    """tf.nn.gelu is off by up to 3e-7 (exact) and 4e-6 (tanh) relative in float64, enough to
    fail a user's exact GELU (math.erf) against float64's rtol 1e-7; the twins write it out."""
    from math import erf, exp, pi, sqrt

    import numpy as np

    from oracle.tf_runtime import tf
    from oracle.user_twins_dense import ACTIVATIONS
    x = np.linspace(-6.0, 6.0, 97)
    c = sqrt(2 / pi)
    th = np.tanh(c * (x + 0.044715 * x ** 3))
    want = {"gelu": np.array([0.5 * (1 + erf(v / sqrt(2))) + v * exp(-v * v / 2) / sqrt(2 * pi)
                              for v in x]),
            "gelu_tanh": 0.5 * (1 + th) + 0.5 * x * (1 - th ** 2) * c * (1 + 3 * 0.044715 * x ** 2)}
    for kind, grad in want.items():
        xv = tf().constant(x)
        with tf().GradientTape() as tape:
            tape.watch(xv)
            y = ACTIVATIONS[kind][0](None, xv)
        got = tape.gradient(y, xv).numpy()
        assert np.max(np.abs(got - grad)) < 1e-12, kind       # tf.nn.gelu: up to 4e-6


UNBOUNDED = '''
import numpy as np


class Exp:
    def forward(self, x):
        self.y = np.exp(x)
        return self.y

    def backward(self, dout):
        return dout * self.y


class ExpWrongDerivative(Exp):
    def backward(self, dout):
        return dout * self.y * 0.5


class NaiveSoftplus:
    def forward(self, x):
        self.x = x
        return np.log(1 + np.exp(x))

    def backward(self, dout):
        return dout / (1 + np.exp(-self.x))
'''


def test_an_unbounded_layer_is_not_drawn_where_the_function_itself_overflows(tmp_path):
    """exp(710) is inf for any layer and its twin: an exp layer failed every check on the
    overflow kind as a 'layer bug'. Where the twin itself overflows, neither those inputs
    nor the large ones (past float32's 88.7) are drawn; a softplus, finite there, keeps them
    and its naive overflow still fails."""
    from properties.values import KINDS
    found, _ = collect_source(tmp_path, "unbounded.py", UNBOUNDED)
    assert "TF twin: exp" in found["unbounded.Exp"].how
    assert set(found["unbounded.Exp"].entry.tf_kinds) == set(KINDS) - {"overflow", "large"}
    assert found["unbounded.NaiveSoftplus"].entry.tf_kinds == KINDS
    for prop in ("forward_tf", "grads_tf", "linear_in_dout", "batch_resize"):
        assert hunt("unbounded.Exp", prop, max_examples=10, shrink=False) is None, prop
    assert hunt("unbounded.ExpWrongDerivative", "grads_tf", max_examples=10,
                shrink=False) is not None
    bad = hunt("unbounded.NaiveSoftplus", "forward_tf", max_examples=25, shrink=False)
    assert bad is not None and bad.case.kind == "overflow"
