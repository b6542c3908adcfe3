"""Self-updating layers whatever their learning rate is called. A ``backward(delta)`` stepping
``self.W`` with ``self.eta`` or a module's ``STEP_SIZE`` was skipped ("needs
SelfUpdatingLayer, not AttributeLayer", with a hint that changed nothing); an
``update(grad)`` stepping with ``self.alpha`` was checked as a plain layer and failed every
law, its weights moving under it. The probe that sees the method change the layer's own
arrays and write no gradient now picks the self-updating adapter, and the learning rate is
the number the method reads."""
import pytest

from properties.search import hunt
from tests.owncode_loading import collect_source

SOURCE = '''
import numpy as np

LR = 0.3          # read by no layer here: it must not be taken for LinearAlpha's rate
STEP_SIZE = 0.05


class LinearEta:
    def __init__(self, n_in=3, n_out=2, eta=0.1):
        self.W, self.b = np.ones((n_in, n_out)), np.zeros(n_out)
        self.eta = eta

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, delta):
        dx = delta @ self.W.T
        self.W -= self.eta * (self.x.T @ delta)
        self.b -= self.eta * delta.sum(axis=0)
        return dx


class LinearEtaDeltaAfterStep(LinearEta):
    def backward(self, delta):
        self.W -= self.eta * (self.x.T @ delta)
        self.b -= self.eta * delta.sum(axis=0)
        return delta @ self.W.T


class LinearAlpha:
    def __init__(self, n_in=3, n_out=2, alpha=0.01):
        self.W, self.b = np.ones((n_in, n_out)), np.zeros(n_out)
        self.alpha = alpha

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def update(self, grad):
        dx = grad @ self.W.T
        self.W -= self.alpha * self.x.T @ grad
        self.b -= self.alpha * np.sum(grad, axis=0)
        return dx


class LinearGlobalStep(LinearEta):
    def backward(self, delta):
        dx = delta @ self.W.T
        self.W -= STEP_SIZE * self.x.T @ delta
        self.b -= STEP_SIZE * delta.mean(axis=0)
        return dx


class LeakyReLU:
    def __init__(self, alpha=0.1):
        self.alpha = alpha

    def forward(self, x):
        self.x = x
        return np.where(x > 0, x, self.alpha * x)

    def backward(self, dout):
        return np.where(self.x > 0, dout, self.alpha * dout)
'''


@pytest.fixture(scope="module")
def found(tmp_path_factory):
    return collect_source(tmp_path_factory.mktemp("selfupd"), "selfupd.py", SOURCE)[0]


@pytest.mark.parametrize("name", ["LinearEta", "LinearAlpha"])
def test_a_learning_rate_of_any_name_is_found_and_the_layer_passes(found, name):
    assert "self-updating style" in found[f"selfupd.{name}"].how
    assert "TF twin: dense" in found[f"selfupd.{name}"].how
    for prop in ("grads_tf", "grads_fd", "linear_in_dout", "batch_resize"):
        assert hunt(f"selfupd.{name}", prop, max_examples=10, shrink=False) is None, (name, prop)


def test_a_module_constant_it_reads_is_its_learning_rate_and_its_bug_is_caught(found):
    assert "self-updating style" in found["selfupd.LinearGlobalStep"].how
    bad = hunt("selfupd.LinearGlobalStep", "grads_tf", max_examples=10, shrink=False)
    assert bad is not None and {r.tensor for r in bad.failures} == {"db"}   # mean, not sum
    assert {r.verdict for r in bad.failures} == {"layer bug"}


def test_dx_taken_after_the_step_is_caught(found):
    bad = hunt("selfupd.LinearEtaDeltaAfterStep", "grads_tf", max_examples=10, shrink=False)
    assert bad is not None and "dx" in {r.tensor for r in bad.failures}


def test_an_activation_reading_alpha_is_not_taken_for_a_self_updating_layer(found):
    assert "attribute style" in found["selfupd.LeakyReLU"].how
    assert "TF twin: leaky_relu" in found["selfupd.LeakyReLU"].how
    assert hunt("selfupd.LeakyReLU", "grads_tf", max_examples=10, shrink=False) is None


PRE_EMPHASIS = '''
import numpy as np


class PreEmphasis:
    """y[t] = x[t] - coef * x[t - 1]: a learned number, stepped inside backprop."""

    def __init__(self, coef=0.97):
        self.coef = coef
        self.last_loss = 0.0

    def forward(self, x):
        self.x = x
        y = x.copy()
        y[:, 1:] -= self.coef * x[:, :-1]
        return y

    def backprop(self, d, lr):
        dcoef = {sign}np.sum(d[:, 1:] * self.x[:, :-1])
        dx = d.copy()
        dx[:, :-1] -= self.coef * d[:, 1:]
        self.coef {step} lr * dcoef
        self.last_loss = float(np.sum(d))      # a number it stores: no param
        return dx
'''


def test_a_learned_number_stepped_inside_backprop_is_a_param(tmp_path):
    """``self.coef -= lr * dcoef`` with coef a float: it was no param, so every call moved it
    under the checks (linear_in_dout and batch_resize failed a right layer as "keeps something
    from one call to the next") and its gradient went unchecked. It is a 0-d param now: the
    right layer passes every law, a sign slip in dcoef fails grads_fd on dcoef."""
    for name, sign, step, right in (("pre", "-", "-=", True), ("pre_bug", "", "-=", False),
                                    ("pre_assign", "-", "= self.coef -", True)):
        (tmp_path / name).mkdir()
        found, _ = collect_source(tmp_path / name, f"{name}.py", PRE_EMPHASIS.replace(
            "{sign}", sign).replace("{step}", step))
        label = f"{name}.PreEmphasis"
        assert "self-updating style" in found[label].how
        for law in ("linear_in_dout", "batch_resize"):
            assert hunt(label, law, max_examples=10, shrink=False) is None, law
        failed = hunt(label, "grads_fd", max_examples=10)
        assert (failed is None) == right
        if not right:
            assert {r.tensor for r in failed[1]} == {"dcoef"}
