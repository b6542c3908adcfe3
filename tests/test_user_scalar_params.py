"""A learnable scalar kept as a 1-element array (Swish's beta, a PReLU's single slope) sized
the input as (N, 1), one feature: a dbeta summed over axis 0 only is right there and passed.
A lone 1-element param no longer sizes x; the common shapes (N, 5) do. A scalar kept as a
Python float (``self.a = 0.25`` with ``self.da``) was no param at all, and its wrong gradient
passed: it is now a 0-d array param."""
import pytest

from properties.search import hunt
from tests.owncode_loading import collect_source

SOURCE = '''
import numpy as np


class Swish:
    """y = x * sigmoid(beta * x), beta learnable, shape (1,)."""
    def __init__(self):
        self.params = {"beta": np.array([1.0])}
        self.grads = {"beta": np.zeros(1)}

    def forward(self, x):
        self.x = x
        self.s = 1.0 / (1.0 + np.exp(-self.params["beta"] * x))
        return x * self.s

    def backward(self, dout):
        x, s, beta = self.x, self.s, self.params["beta"]
        ds = s * (1.0 - s)
        self.grads["beta"] = np.array([np.sum(dout * x * x * ds)])
        return dout * (s + beta * x * ds)


class SwishBetaSummedOverAxis0(Swish):
    def backward(self, dout):
        dx = super().backward(dout)
        x, s = self.x, self.s
        self.grads["beta"] = np.sum(dout * x * x * s * (1.0 - s), axis=0)
        return dx


class FloatPReLU:
    def __init__(self, a=0.25):
        self.a = a                     # a Python float
        self.da = 0.0

    def forward(self, x):
        self.x = x
        return np.where(x > 0, x, self.a * x)

    def backward(self, dout):
        self.da = np.sum(np.where(self.x > 0, 0.0, self.x) * dout)
        return np.where(self.x > 0, dout, self.a * dout)


class FloatPReLUSlopeEverywhere(FloatPReLU):
    def backward(self, dout):
        dx = super().backward(dout)
        self.da = np.sum(self.x * dout)          # the slope's gradient where x > 0 too
        return dx


class ScaleShift:
    """y = a x + b, both learnable Python floats: smooth, so no kink sends finite differences
    past their joint first pass."""
    def __init__(self):
        self.a, self.b, self.da, self.db = 1.5, 0.1, 0.0, 0.0

    def forward(self, x):
        self.x = x
        return self.a * x + self.b

    def backward(self, dout):
        self.da, self.db = np.sum(dout * self.x), np.sum(dout)
        return dout * self.a


class ScaleShiftThreeTimesDa(ScaleShift):
    def backward(self, dout):
        dx = super().backward(dout)
        self.da = 3.0 * self.da
        return dx


class PReLU:
    def __init__(self):
        self.a = np.array([0.25])

    def forward(self, x):
        self.x = x
        return np.where(x > 0, x, self.a * x)

    def backward(self, dout):
        self.da = np.array([np.sum(np.where(self.x > 0, 0.0, self.x) * dout)])
        return np.where(self.x > 0, dout, self.a * dout)
'''


@pytest.fixture(scope="module")
def found(tmp_path_factory):
    return collect_source(tmp_path_factory.mktemp("scalars"), "scalars.py", SOURCE)[0]


@pytest.mark.parametrize("label", ["scalars.Swish", "scalars.PReLU"])
def test_a_one_element_param_does_not_size_the_input_and_the_layer_passes(found, label):
    width = tuple(found[label].entry.input_shapes({}, 2)[0])[1:]
    assert width != (1,), found[label].how
    for prop in ("grads_tf", "grads_fd", "shapes_dtypes", "batch_additive"):
        assert hunt(label, prop, max_examples=10, shrink=False) is None, (label, prop)


def test_a_scalar_gradient_summed_over_one_axis_only_is_caught(found):
    bad = hunt("scalars.SwishBetaSummedOverAxis0", "shapes_dtypes", max_examples=10, shrink=False)
    assert bad is not None and {r.tensor for r in bad.failures} == {"dbeta"}
    assert hunt("scalars.SwishBetaSummedOverAxis0", "grads_fd", max_examples=10,
                shrink=False) is not None


def test_a_slope_kept_as_a_python_float_is_a_param_and_its_bug_is_caught(found):
    import numpy as np
    layer = found["scalars.FloatPReLU"].entry.build({}, np.random.default_rng(0), "float64")
    assert set(layer.params) == {"a"} and np.shape(layer.params["a"]) == ()
    for prop in ("grads_tf", "grads_fd", "shapes_dtypes"):
        assert hunt("scalars.FloatPReLU", prop, max_examples=10, shrink=False) is None, prop
    bad = hunt("scalars.FloatPReLUSlopeEverywhere", "grads_fd", max_examples=10, shrink=False)
    assert bad is not None and {r.tensor for r in bad.failures} == {"da"}


def test_a_wrong_gradient_of_a_smooth_layers_float_scalar_is_caught(found):
    """Finite differences' joint pass drew no direction for a 0-d param (its row of the
    directions was written into a copy): a tripled da was accepted by every check."""
    for prop in ("grads_tf", "grads_fd"):
        assert hunt("scalars.ScaleShift", prop, max_examples=10, shrink=False) is None, prop
        bad = hunt("scalars.ScaleShiftThreeTimesDa", prop, max_examples=10, shrink=False)
        assert bad is not None and {r.tensor for r in bad.failures} == {"da"}, prop
