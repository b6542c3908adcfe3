"""What a broken law's verdict says when the layer's values are NaN or inf: that, not a
linearity or batch fault the law cannot judge there (a square root fed negative inputs
'returned the same gradients whatever dout', as NaN equals nothing)."""
from properties.laws import BROKEN
from properties.search import hunt
from tests.owncode_loading import collect_source

SQRT = '''# gradcheck: Sqrt(); x=(N, 3) in (-inf, inf)
# gradcheck: HalfLoss(); x=(N, 3) in (-inf, inf); t=(N, 3)
import numpy as np


class Sqrt:
    def forward(self, x):
        self.y = np.sqrt(x)
        return self.y

    def backward(self, dout):
        return dout * 0.5 / self.y


class HalfLoss:
    """0.5 * mean(sqrt(x)): a scalar whose gradient is NaN where x < 0."""

    def forward(self, x, t):
        self.x = x
        return 0.5 * np.mean(np.sqrt(x)) + 0.0 * np.sum(t)

    def backward(self, dout=1.0):
        return dout * 0.25 / np.sqrt(self.x) / self.x.size
'''


def test_nan_values_are_named_as_the_cause_of_a_broken_law(tmp_path):
    """(The hints keep the inputs on the whole line, half negative; without them, each would
    be drawn in (0, inf), where it is finite: tests/test_user_domains.py.)"""
    found, _ = collect_source(tmp_path, "dom.py", SQRT)
    assert set(found) == {"dom.Sqrt", "dom.HalfLoss"}
    for label in ("dom.Sqrt", "dom.HalfLoss"):
        bad = hunt(label, "linear_in_dout", max_examples=25, shrink=False)
        assert bad is not None, label
        assert {r.explanation for r in bad.failures} == {BROKEN["not_finite"]}, label


MEAN_LOSS = '''import numpy as np


def logcosh_loss(x, y):
    """mean(log cosh(x - y)), its gradient missing the mean's 1 / x.size."""
    diff = x - y
    return np.mean(np.log(np.cosh(diff))), np.tanh(diff)
'''


def test_a_batch_gradient_off_by_n_is_named_so_beside_the_law(tmp_path):
    """batch_additive's general text (samples depending on each other) now comes with the
    diagnosis the value checks give: the batch size, a missing 1/N."""
    collect_source(tmp_path, "meanloss.py", MEAN_LOSS)
    bad = hunt("meanloss.logcosh_loss", "batch_additive", max_examples=15)
    assert bad is not None
    said = {r.diagnosis.get("kind") for r in bad.failures}
    assert said == {"constant factor"}, [r.message() for r in bad.failures]
    assert all("the batch size" in r.diagnosis.get("summary", "") for r in bad.failures), \
        bad.failures[0].message()


CE_BY_CLASSES = '''import numpy as np


class SoftmaxCE:
    """Softmax cross-entropy on integer labels, its gradient divided by the number of classes
    (x.shape[1]) where the batch size (x.shape[0]) belongs."""
    def forward(self, x, t):
        z = x - x.max(1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(1, keepdims=True))
        self.p, self.t = np.exp(logp), t
        return -logp[np.arange(len(t)), t].mean()

    def backward(self, dout=1.0):
        d = self.p.copy()
        d[np.arange(len(self.t)), self.t] -= 1
        return dout * d / self.p.shape[1]
'''


def test_a_users_loss_divided_by_its_classes_is_offered_n_over_k(tmp_path):
    """A user's loss has no "classes" in its configuration: its scores' width is the number of
    classes, so the N/K slip (x.shape[1] for x.shape[0]) is named among the factors."""
    collect_source(tmp_path, "cebyk.py", CE_BY_CLASSES)
    bad = hunt("cebyk.SoftmaxCE", "grads_tf", max_examples=15)
    assert bad is not None
    summary = bad.failures[0].diagnosis.get("summary", "")
    assert "the number of classes" in summary and "x.shape[1] for x.shape[0]" in summary, summary
