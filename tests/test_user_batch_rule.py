"""A user's layer whose forward draws random numbers is coupled over its batch, every run.

The batch rule is found by running each sample alone and comparing with the batch. A dropout
draws another mask for a sample alone than for it in the batch, so whether the two agreed was
chance: a PyTorch-style ``Dropout(p=0.2)`` drawing from ``np.random`` was "coupled" in most
runs and, about one run in 300, "sum" (its ``batch_additive`` then failed at 1e11 times the
tolerance). A forward that draws from NumPy's global state or from a generator it holds is now
coupled, always; a deterministic layer is judged as before.
"""
import numpy as np
import pytest

from properties.search import hunt
from properties.user_batch_rule import COUPLED
from tests.owncode_loading import collect_source

SOURCE = '''
import numpy as np


class GlobalDropout:
    """Drops a hundredth of the units: a sample's mask alone mostly matches its row's."""
    def __init__(self, p=0.01):
        self.p = p

    def forward(self, x):
        self.mask = (np.random.rand(*x.shape) >= self.p) / (1 - self.p)
        return x * self.mask

    def backward(self, dout):
        return dout * self.mask


class OwnGeneratorDropout:
    def __init__(self, p=0.01):
        self.p, self.rng = p, np.random.default_rng(0)

    def forward(self, x):
        self.mask = (self.rng.random(x.shape) >= self.p) / (1 - self.p)
        return x * self.mask

    def backward(self, dout):
        return dout * self.mask


class Scale:
    def forward(self, x):
        return 2.0 * x

    def backward(self, dout):
        return 2.0 * dout
'''


@pytest.mark.parametrize("state", range(4))
def test_a_forward_drawing_random_numbers_is_coupled_whatever_the_global_state(tmp_path, state):
    np.random.seed(state)      # the probe's outcome once hung on this state
    found, _ = collect_source(tmp_path, f"drops{state}.py", SOURCE)
    for name in ("GlobalDropout", "OwnGeneratorDropout"):
        assert found[f"drops{state}.{name}"].entry.batch_rule == COUPLED, name
    assert found[f"drops{state}.Scale"].entry.batch_rule == "sum"



SHARED_NEGATIVES = '''
import numpy as np


# gradcheck: SampledSoftmaxLoss(num_classes=12, dim=4); h=(N, 4); labels=int(N)<12; sampled=int(5)<12
class SampledSoftmaxLoss:
    """Softmax over each row's label and negatives shared by the whole batch."""

    def __init__(self, num_classes=12, dim=4):
        self.W = np.random.randn(num_classes, dim) * 0.1

    def forward(self, h, labels, sampled):
        self.h = h
        self.cand = np.column_stack([labels, np.tile(sampled, (h.shape[0], 1))])
        logits = np.einsum("nd,ncd->nc", h, self.W[self.cand])
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        self.p = e / e.sum(axis=1, keepdims=True)
        return -np.mean(np.log(self.p[:, 0]))

    def backward(self):
        N, D = self.h.shape
        g = self.p.copy()
        g[:, 0] -= 1
        g /= {scale}
        self.dW = np.zeros_like(self.W)
        np.add.at(self.dW, self.cand.ravel(), (g[:, :, None] * self.h[:, None, :]).reshape(-1, D))
        return np.einsum("nc,ncd->nd", g, self.W[self.cand])
'''


def test_negatives_shared_by_the_batch_are_given_whole_to_a_sample_run_alone(tmp_path):
    """``sampled`` (S,) was sliced like the labels when each sample ran alone (one negative
    each), so a mean over rows looked coupled and batch_additive was skipped. A target whose
    leading axis does not follow the batch is given whole: the rule is "mean", its law
    holds, and a backward dividing by a fixed 3 where N belongs fails it."""
    found, _ = collect_source(tmp_path, "ssm.py", SHARED_NEGATIVES.replace("{scale}", "N"))
    assert found["ssm.SampledSoftmaxLoss"].entry.batch_rule == "mean"
    assert hunt("ssm.SampledSoftmaxLoss", "batch_additive", max_examples=10) is None
    (tmp_path / "bug").mkdir()
    found, _ = collect_source(tmp_path / "bug", "ssm_bug.py", SHARED_NEGATIVES.replace("{scale}", "3"))
    assert hunt("ssm_bug.SampledSoftmaxLoss", "batch_additive", max_examples=10) is not None


ANNEALED = '''
import numpy as np


class AnnealedKL:
    """beta(step) * mean_n KL(q_n || N(0, 1)); beta is 0 at the first step."""

    def __init__(self, warmup=10):
        self.warmup, self.step = warmup, 0

    def forward(self, mu, logvar):
        self.mu, self.logvar = mu, logvar
        self.beta = min(1.0, self.step / self.warmup)
        kl = 0.5 * np.sum(np.exp(logvar) + mu ** 2 - 1.0 - logvar, axis=1)
        return self.beta * kl.mean()

    def backward(self):
        N = self.mu.shape[0]
        return self.beta * self.mu / N, self.beta * 0.5 * (np.exp(self.logvar) - 1.0) / N
'''


def test_a_loss_0_on_every_draw_has_no_batch_rule(tmp_path):
    """A KL annealed from beta = 0 is 0 at its first step: "sum" was taken for its batch rule
    (0 is the sum as much as the mean), and its law then said "an extra 1/N" of a batch mean."""
    from properties.user_batch_rule import UNTOLD
    found, _ = collect_source(tmp_path, "anneal.py", ANNEALED)
    assert found["anneal.AnnealedKL"].entry.batch_rule == UNTOLD
