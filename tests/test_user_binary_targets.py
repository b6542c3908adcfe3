"""A binary loss's targets are 0 or 1. A binary focal loss reading ``np.where(y == 1, ...)`` in
its forward and 2y - 1 in its backward is right on 0/1 targets, and failed as a layer bug
when drawn real targets (a false alarm a new user found). Losses named binary or BCE now get
0/1 targets shaped like their input first, and say so."""
from properties.search import hunt
from tests.owncode_loading import collect_source

FOCAL = '''
import numpy as np


class BinaryFocalLoss:
    def __init__(self, gamma=2.0, alpha=0.25):
        self.gamma, self.alpha = gamma, alpha

    def forward(self, logits, targets):
        log_p, log_1mp = -np.logaddexp(0.0, -logits), -np.logaddexp(0.0, logits)
        y = targets
        self.log_pt = np.where(y == 1, log_p, log_1mp)
        self.pt = np.exp(self.log_pt)
        self.one_m_pt = np.where(y == 1, np.exp(log_1mp), np.exp(log_p))
        self.alpha_t = np.where(y == 1, self.alpha, 1.0 - self.alpha)
        self.y = y
        return np.mean(-self.alpha_t * self.one_m_pt ** self.gamma * self.log_pt)

    def backward(self):
        g, sign = self.gamma, 2.0 * self.y - 1.0
        d = self.alpha_t * sign * self.one_m_pt ** g * (g * self.pt * self.log_pt - {last})
        return d / self.y.size
'''


def test_a_binary_focal_loss_is_checked_on_0_1_targets_and_passes(tmp_path):
    found, _ = collect_source(tmp_path, "focal.py", FOCAL.replace("{last}", "self.one_m_pt"))
    (label,) = [k for k in found if "(" not in k]     # (options changed: apart)
    assert "targets 0 or 1, shaped like the input" in found[label].how
    for prop in ("grads_fd", "batch_additive"):
        assert hunt(label, prop, max_examples=15, shrink=False) is None, prop


def test_its_modulating_factors_derivative_left_out_is_caught(tmp_path):
    found, _ = collect_source(tmp_path, "focal_bug.py", FOCAL.replace(
        "(g * self.pt * self.log_pt - {last})", "(-self.one_m_pt)"))
    (label,) = [k for k in found if "(" not in k]     # (options changed: apart)
    failed = hunt(label, "grads_fd", max_examples=15)
    assert failed is not None and {r.tensor for r in failed.failures} == {"dlogits"}
