"""A layer taking (N, D) whose forward flattens what it is given is also checked on a 4-D
input, (N, D, 1, 1): deep-learning-from-scratch's ``Affine`` after a convolution. One that
forgets ``dx.reshape(*self.original_x_shape)`` passed: only (N, D) was ever drawn."""
import numpy as np
import pytest

from tests.owncode_loading import collect_source
from properties.search import hunt

FLAT = '''
import numpy as np


class Affine:
    def __init__(self, W, b):
        self.W, self.b = W, b

    def forward(self, x):
        self.original_x_shape = x.shape
        self.x = x.reshape(x.shape[0], -1)
        return self.x @ self.W + self.b

    def backward(self, dout):
        dx = dout @ self.W.T
        self.dW = self.x.T @ dout
        self.db = dout.sum(axis=0)
        return dx.reshape(*self.original_x_shape)


class AffineKeepsFlatDx(Affine):
    def backward(self, dout):
        self.dW = self.x.T @ dout
        self.db = dout.sum(axis=0)
        return dout @ self.W.T


class Flatten:
    def forward(self, x):
        self.shape = x.shape
        return x.reshape(len(x), -1)

    def backward(self, dout):
        return dout.reshape(self.shape)


class Relu:
    def forward(self, x):
        self.mask = x <= 0
        return np.where(self.mask, 0.0, x)

    def backward(self, dout):
        return np.where(self.mask, 0.0, dout)
'''


@pytest.fixture(scope="module")
def found(tmp_path_factory):
    return collect_source(tmp_path_factory.mktemp("flat"), "flat.py", FLAT)[0]


def test_only_layers_that_flatten_get_the_4d_input(found):
    four = {label for label in found if "(x (N," in label}
    assert four == {"flat.Affine(x (N, 3, 1, 1))", "flat.AffineKeepsFlatDx(x (N, 3, 1, 1))",
                    "flat.Flatten(x (N, 5, 1, 1))"}
    assert "dense: x.reshape(N, -1) @ W + b" in found["flat.Affine(x (N, 3, 1, 1))"].how


@pytest.mark.parametrize("layer", ["flat.Affine(x (N, 3, 1, 1))", "flat.Flatten(x (N, 5, 1, 1))"])
def test_correct_flattening_layers_pass_on_4d_inputs(found, layer):
    for prop in ("grads_tf", "grads_fd", "shapes_dtypes", "batch_additive"):
        assert hunt(layer, prop, max_examples=5, shrink=False) is None, prop


def test_a_dx_left_flat_fails_as_a_shape_bug_with_its_diagnosis(found):
    assert hunt("flat.AffineKeepsFlatDx", "grads_tf", max_examples=5, shrink=False) is None
    bad = hunt("flat.AffineKeepsFlatDx(x (N, 3, 1, 1))", "grads_tf", max_examples=5)
    assert bad is not None and {r.tensor for r in bad.failures} == {"dx"}
    (r,) = bad.failures
    assert r.verdict == "layer bug" and r.diagnosis["kind"] == "wrong shape"


RAVEL = '''
import numpy as np


class ReluRavel:
    def forward(self, x):
        self.mask = x <= 0
        return np.where(self.mask, 0.0, x)

    def backward(self, dout):
        return np.where(self.mask, 0.0, dout).ravel()
'''


def test_a_dx_raveled_is_checked_on_a_batch_not_moved_to_a_1d_input(tmp_path):
    """On a 1-D input without a batch axis a raveled dx has x's shape: the shape search took
    that one (every gradient the right shape) and the layer passed. A batch comes first."""
    (item,) = collect_source(tmp_path, "rv.py", RAVEL)[1].found
    assert item.entry.max_batch > 1 and "(N, 5)" in item.how
    bad = hunt("rv.ReluRavel", "shapes_dtypes", max_examples=5)
    assert bad is not None and {r.tensor for r in bad.failures} == {"dx"}


ROW_BIAS = '''
import numpy as np


class FullyConnected:
    """nnfs style: weights (in, out), biases (1, out), dweights / dbiases."""

    def __init__(self, n_in=3, n_out=2):
        rng = np.random.default_rng(0)
        self.weights = rng.standard_normal((n_in, n_out)) * 0.1
        self.biases = np.zeros((1, n_out))

    def forward(self, inputs):
        self.inputs = inputs
        return inputs @ self.weights + self.biases

    def backward(self, dvalues):
        self.dweights = self.inputs.T @ dvalues
        self.dbiases = dvalues.sum(axis=0, keepdims=True)
        return dvalues @ self.weights.T
'''


def test_a_bias_kept_as_one_row_is_a_dense_layers_bias(tmp_path):
    """biases (1, M) beside weights (D, M): a dense layer with its TF twin (it was read as a
    two-gate recurrent layer, then as indices into the rows of its weight)."""
    found, _ = collect_source(tmp_path, "fc.py", ROW_BIAS)
    how = found["fc.FullyConnected"].how
    assert "(N, 3) from weights (3, 2)" in how and "TF twin: dense: x @ weights + biases" in how
    assert "gates" not in how
    assert hunt("fc.FullyConnected", "grads_tf", max_examples=5, shrink=False) is None


NO_MEAN = '''
import numpy as np


class LayerNormNoMean:
    def __init__(self, dim=3, eps=1e-5):
        self.gamma, self.beta, self.eps = np.ones(dim), np.zeros(dim), eps

    def forward(self, x):
        mu, var = x.mean(axis=-1, keepdims=True), x.var(axis=-1, keepdims=True)
        self.inv = 1.0 / np.sqrt(var + self.eps)
        self.xhat = (x - mu) * self.inv
        return self.gamma * self.xhat + self.beta

    def backward(self, dout):
        d = dout.shape[-1]
        self.dgamma, self.dbeta = (dout * self.xhat).sum(axis=0), dout.sum(axis=0)
        dxhat = dout * self.gamma      # the mean terms are missing
        return self.inv / d * (d * dxhat - self.xhat * (dxhat * self.xhat).sum(axis=-1, keepdims=True))
'''


def test_a_wrong_gradient_on_inputs_all_tied_is_not_explained_by_ties(tmp_path):
    """Shrunk to x = (0, 0, 0) every input ties: the explanation says so and that the gradient
    is wrong, possibly a plain wrong backward; it said only "the layer's gradient at the ties
    is duplicated, lost or scaled", and a LayerNorm has nothing to do with ties."""
    collect_source(tmp_path, "ln.py", NO_MEAN)
    bad = hunt("ln.LayerNormNoMean", "grads_tf", max_examples=10)
    assert bad is not None and np.all(np.asarray(bad.case.values) == 0)
    (r,) = [r for r in bad.failures if r.tensor == "dx"]
    assert r.verdict == "layer bug" and "every input is tied here" in r.explanation
    assert "a plain wrong backward" in r.explanation


FUNCTIONAL = '''
import numpy as np


def affine_forward(x, w, b):
    """x: (N, d_1, ..., d_k); w: (D, M); b: (M,)."""
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    dx = dout @ w.T
    dw = x.reshape(x.shape[0], -1).T @ dout
    return {dx}, dw, dout.sum(axis=0)
'''


@pytest.mark.parametrize("dx, caught", [("dx.reshape(x.shape)", False), ("dx", True)])
def test_a_functional_affine_is_also_checked_on_a_4d_input(tmp_path, dx, caught):
    """CS231n's affine_forward(x, w, b) reshapes x: its pair was only drawn (N, D), and a
    backward returning dx as (N, D) passed (found by a new user)."""
    found, _ = collect_source(tmp_path, f"fn_affine_{caught}.py", FUNCTIONAL.replace("{dx}", dx))
    label = f"fn_affine_{caught}.affine"
    assert f"{label}(x (N, 4, 1, 1))" in found, sorted(found)
    assert hunt(label, "grads_fd", max_examples=10, shrink=False) is None
    failed = hunt(f"{label}(x (N, 4, 1, 1))", "grads_fd", max_examples=10)
    assert (failed is not None) is caught
    if caught:
        (r,) = [r for r in failed.failures if r.tensor == "dx"]
        assert r.shown_diagnosis.get("kind") == "wrong shape", r.message()


IMPORTANCE = '''
import numpy as np


class ImportanceLoss:
    """CV(importance)^2 of the gates' column sums: couples the whole batch."""

    def forward(self, logits):
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        self.gates = e / e.sum(axis=1, keepdims=True)
        self.imp = self.gates.sum(axis=0)
        self.m, self.v = self.imp.mean(), self.imp.var()
        return self.v / self.m ** 2

    def backward(self):
        E = self.imp.shape[0]
        dimp = 2.0 * (self.imp - self.m) / E / self.m ** 2 - 2.0 * self.v / self.m ** 3 * np.full(E, 1.0 / E)
        g, dg = self.gates, np.broadcast_to(dimp, self.gates.shape)
        return g * (dg - np.sum(g * dg, axis=1, keepdims=True))
'''


def test_a_loss_giving_the_same_number_on_a_4d_input_but_not_flattening_gets_none(tmp_path):
    """A loss over (N, E) logits whose reductions give the same number on (N, E, 1, 1): it was
    also checked there, its backward (written for 2-D) raised, and a right file failed five
    properties. A 4-D input is tried only where the backward runs on it."""
    found, _ = collect_source(tmp_path, "imp.py", IMPORTANCE)
    assert sorted(found) == ["imp.ImportanceLoss"]
    assert hunt("imp.ImportanceLoss", "grads_fd", max_examples=10, shrink=False) is None
