"""Discovering a user's code in the styles the new-user passes met: a backward that always
raises, a functional forward with a number default, ``backward(d, lr)`` that updates the layer,
params and grads kept in lists."""
import textwrap

from properties.battery import all_properties
from properties.cases import Case
from properties.owncode import collect
from properties.search import hunt


BACKWARD_ALWAYS_RAISES = '''
import numpy as np


class Relu:
    def forward(self, x):
        self.mask = x <= 0
        return np.maximum(x, 0)

    def backward(self, dout):
        dx = dout.copy()
        dx[self.mask] = 0
        return dx.reshape(dx.shape[0], dx.shape[1] + 1)   # raises on every shape
'''


def test_a_backward_that_always_raises_is_a_failure_not_a_skip(tmp_path):
    """A layer whose forward runs but whose backward raises on every shape is checked on the
    first shape its forward takes, and fails as ``layer raised`` naming the user's line: a
    skip would let the run pass."""
    (tmp_path / "crash.py").write_text(textwrap.dedent(BACKWARD_ALWAYS_RAISES))
    found = collect([tmp_path])
    (item,) = found.found
    assert not found.skipped and "backward raised on every shape tried" in item.how
    results = all_properties()["grads_tf"].fn(Case(layer=item.label, config={}, dtype="float64",
                                                   batch=2, kind="normal", seed=0))
    assert results and all(not r.passed and r.verdict == "layer raised" for r in results)
    assert any("crash.py:" in r.note for r in results)


SWISH_PAIRS = '''
import numpy as np


# gradcheck: swish_forward; x=(N, 5)
def swish_forward(x, beta=1.0):
    s = 0.5 * (1 + np.tanh(0.5 * beta * x))
    return x * s, (x, s, beta)


def swish_backward(dout, cache):
    x, s, beta = cache
    return dout * (s + beta * x * s * (1 - s))


def swish_bad_forward(x, beta=1.5):
    s = 0.5 * (1 + np.tanh(0.5 * beta * x))
    return x * s, (x, s, beta)


def swish_bad_backward(dout, cache):
    x, s, beta = cache
    return dout * (s + x * s * (1 - s))    # beta forgotten
'''


def test_a_forward_argument_with_a_number_default_is_a_hyperparameter(tmp_path):
    """``swish_forward(x, beta=1.0)``: beta keeps its default (it was drawn as a learnable
    (3,) array and the correct pair failed as 'layer raised'); the pair is checked, with or
    without a hint, and a backward that forgets beta is caught."""
    (tmp_path / "sw.py").write_text(textwrap.dedent(SWISH_PAIRS))
    found = collect([tmp_path])
    assert not found.skipped and not found.problems
    # (and each at its float options changed: swish_bad's beta=1.5 at 0.9)
    assert {f.label for f in found.found} == {"sw.swish", "sw.swish_bad", "sw.swish_bad(beta=0.9)"}
    for label in ("sw.swish", "sw.swish_bad"):
        assert hunt(label, "no_mutation", max_examples=3, shrink=False) is None
    assert hunt("sw.swish", "grads_fd", max_examples=10, shrink=False) is None
    bad = hunt("sw.swish_bad", "grads_fd", max_examples=10, shrink=False)
    assert bad is not None and {r.tensor for r in bad.failures} == {"dx"}
    assert {r.verdict for r in bad.failures} == {"layer vs fd"}     # no TF twin: FD alone


SGD_IN_BACKWARD = '''
import numpy as np


class Dense:
    def __init__(self, n_in=3, n_out=2):
        g = np.random.default_rng(0)
        self.W, self.b = g.standard_normal((n_in, n_out)) * 0.5, np.zeros(n_out)

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, d, lr):
        dx = d @ self.W.T
        self.W -= lr * self.x.T @ d
        self.b -= lr * d.sum(axis=0)
        return dx


class DenseUpdatesFirst(Dense):
    def backward(self, d, lr):
        self.W -= lr * self.x.T @ d
        self.b -= lr * d.sum(axis=0)
        return d @ self.W.T                  # dx from the W already updated


class Sigmoid:
    def forward(self, x):
        self.y = 1 / (1 + np.exp(-x))
        return self.y

    def backward(self, d, lr):               # lr unused: the network's one interface
        return d * self.y * (1 - self.y)
'''


def test_a_backward_taking_the_learning_rate_is_a_self_updating_layer(tmp_path):
    """``backward(d, lr)`` that applies its own update (was skipped, the run passing): its
    gradients are recovered from the update at lr 1 and checked; one without parameters
    checks dx alone."""
    (tmp_path / "sgd.py").write_text(textwrap.dedent(SGD_IN_BACKWARD))
    found = collect([tmp_path])
    assert not found.skipped, [s.reason for s in found.skipped]
    styles = {f.label: f.style for f in found.found}
    assert styles == dict.fromkeys(("sgd.Dense", "sgd.DenseUpdatesFirst", "sgd.Sigmoid"),
                                   "self-updating")
    for label in ("sgd.Dense", "sgd.Sigmoid"):
        assert hunt(label, "grads_tf", max_examples=8, shrink=False) is None, label
    bad = hunt("sgd.DenseUpdatesFirst", "grads_tf", max_examples=8, shrink=False)
    assert bad is not None and "dx" in {r.tensor for r in bad.failures}
    assert {r.verdict for r in bad.failures} == {"layer bug"}


PARAM_LISTS = '''import numpy as np


class MatMul:
    def __init__(self, W):
        self.params = [W]
        self.grads = [np.zeros_like(W)]
        self.x = None

    def forward(self, x):
        W, = self.params
        self.x = x
        return np.dot(x, W)

    def backward(self, dout):
        W, = self.params
        dx = np.dot(dout, W.T)
        self.grads[0][...] = np.dot(self.x.T, dout)
        return dx


class Affine:
    def __init__(self, W, b):
        self.params = [W, b]
        self.grads = [np.zeros_like(W), np.zeros_like(b)]
        self.x = None

    def forward(self, x):
        W, b = self.params
        self.x = x
        return np.dot(x, W) + b

    def backward(self, dout):
        W, b = self.params
        dx = np.dot(dout, W.T)
        self.grads[0][...] = np.dot(self.x.T, dout)
        self.grads[1][...] = np.mean(dout, axis=0)      # bug: mean, not sum
        return dx
'''


def test_params_and_grads_kept_in_lists_are_found_and_checked(tmp_path):
    """deep-learning-from-scratch 2's ``self.params = [W, b]``, ``self.grads = [dW, db]``: the
    i-th gradient is the i-th param's (no params were found, and a wrong dW passed as
    '8 passed')."""
    (tmp_path / "book2.py").write_text(textwrap.dedent(PARAM_LISTS))
    found = collect([tmp_path])
    assert not found.skipped and {f.label for f in found.found} == {"book2.MatMul", "book2.Affine"}
    assert hunt("book2.MatMul", "grads_tf", max_examples=8, shrink=False) is None
    bad = hunt("book2.Affine", "grads_tf", max_examples=8)
    assert bad is not None and {r.tensor for r in bad.failures} == {"dparams[1]"}
    assert {r.verdict for r in bad.failures} == {"layer bug"}
    results = all_properties()["grads_tf"].fn(bad.case)
    assert {r.tensor for r in results} == {"dx", "dparams[0]", "dparams[1]"}


ACCUMULATING = '''
import numpy as np


class LinearNeverCleared:
    """Gradients accumulate (grad += ...) with nothing to clear them: a second backward is wrong."""

    def __init__(self, n_in=4, n_out=3):
        g = np.random.default_rng(0)
        self.weight, self.bias = g.standard_normal((n_out, n_in)) * 0.5, np.zeros(n_out)
        self.grad_weight, self.grad_bias = np.zeros_like(self.weight), np.zeros(n_out)

    def forward(self, x):
        self.x = x
        return x @ self.weight.T + self.bias

    def backward(self, grad_out):
        self.grad_weight += grad_out.T @ self.x
        self.grad_bias += grad_out.sum(0)
        return grad_out @ self.weight


class Linear(LinearNeverCleared):
    """PyTorch semantics: gradients accumulate until zero_grad()."""

    def zero_grad(self):
        self.grad_weight = np.zeros_like(self.weight)
        self.grad_bias = np.zeros_like(self.bias)
'''


def test_a_layer_accumulating_until_zero_grad_is_cleared_before_each_backward(tmp_path):
    """PyTorch's ``grad += ...`` with ``zero_grad()``: cleared before each backward, as its
    training loop does (it failed linear_in_dout and batch_resize); without a zero_grad the
    accumulation is still the bug those laws catch."""
    (tmp_path / "acc.py").write_text(textwrap.dedent(ACCUMULATING))
    found = collect([tmp_path])
    assert {f.label for f in found.found} == {"acc.Linear", "acc.LinearNeverCleared"}
    for prop in ("linear_in_dout", "batch_resize", "grads_tf"):
        assert hunt("acc.Linear", prop, max_examples=8, shrink=False) is None, prop
    assert hunt("acc.LinearNeverCleared", "linear_in_dout", max_examples=8) is not None


CONV_LOOPS = '''
import numpy as np


def conv_forward(x, w, b, conv_param):
    s, p = conv_param["stride"], conv_param["pad"]
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    F, _, KH, KW = w.shape
    Ho, Wo = 1 + (xp.shape[2] - KH) // s, 1 + (xp.shape[3] - KW) // s
    out = np.zeros((x.shape[0], F, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            patch = xp[:, :, i * s:i * s + KH, j * s:j * s + KW]
            out[:, :, i, j] = np.tensordot(patch, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out, (x, w, conv_param)


def conv_backward(dout, cache, swap=False):
    x, w, conv_param = cache
    s, p = conv_param["stride"], conv_param["pad"]
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    _, _, KH, KW = w.shape
    Ho, Wo = dout.shape[2], dout.shape[3]
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for i in range(Ho):
        for j in range(Ho if swap else Wo):          # the bug: Ho where Wo belongs
            patch = xp[:, :, i * s:i * s + KH, j * s:j * s + KW]
            dw += np.tensordot(dout[:, :, i, j], patch, axes=([0], [0]))
            dxp[:, :, i * s:i * s + KH, j * s:j * s + KW] += np.tensordot(dout[:, :, i, j], w, axes=([1], [0]))
    H, W = x.shape[2], x.shape[3]
    return dxp[:, :, p:p + H, p:p + W], dw, dout.sum(axis=(0, 2, 3))


def conv_swapped_forward(x, w, b, conv_param):
    return conv_forward(x, w, b, conv_param)


def conv_swapped_backward(dout, cache):
    return conv_backward(dout, cache, swap=True)
'''


def test_a_conv_is_checked_on_an_input_wider_than_high(tmp_path):
    """On square inputs a backward looping over Ho where Wo belongs is right (it passed); the
    inputs a conv is sized to now give one output column more than rows."""
    (tmp_path / "conv.py").write_text(textwrap.dedent(CONV_LOOPS))
    found = {f.label: f for f in collect([tmp_path]).found}
    assert {"conv.conv", "conv.conv_swapped"} <= set(found)
    for label in ("conv.conv", "conv.conv_swapped"):
        assert "(N, 3, 5, 7) from w (2, 3, 3, 3)" in found[label].how, found[label].how
    assert hunt("conv.conv", "grads_tf", max_examples=6, shrink=False) is None
    bad = hunt("conv.conv_swapped", "grads_tf", max_examples=6, shrink=False)
    assert bad is not None and {r.verdict for r in bad.failures} == {"layer bug"}


UNUSED_HINT = '''
import numpy as np


# gradcheck: tahn_fwd; x=(N, 4)
def tanh_fwd(x):
    y = np.tanh(x)
    return y, y


def tanh_bwd(dout, cache):
    return dout * (1 - cache ** 2)


# gradcheck: relu_forward_naive; x=(N, 3)
def relu_forward_naive(x):          # a hint naming a pair's forward (cs231n's infix naming)
    return np.maximum(x, 0), x


def relu_backward_naive(dout, x):
    return dout * (x > 0)


# gradcheck: Relu(); x=(N, 3)
class Relu:
    def forward(self, x):
        self.mask = x <= 0
        return np.maximum(x, 0)

    def backward(self, dout):
        return np.where(self.mask, 0, dout)
'''


def test_a_hint_naming_nothing_found_is_a_finding_not_ignored(tmp_path):
    """A hint naming nothing found (a typo: ``tahn_fwd``) was silently ignored; it is a failing
    finding naming its line, and the rest is checked, the ``tanh_fwd``/``tanh_bwd`` pair too."""
    (tmp_path / "h.py").write_text(textwrap.dedent(UNUSED_HINT))
    found = collect([tmp_path])
    (problem,) = found.problems
    assert problem.where.endswith("h.py:5") and problem.kind == "a hint that names nothing"
    assert "tahn_fwd" in problem.text() and "nothing was checked for it" in problem.text()
    assert {f.label for f in found.found} == {"h.Relu", "h.relu_naive", "h.tanh"}
