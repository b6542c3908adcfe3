"""A law comparing the layer with a fresh copy of itself at another batch size holds where
both give the same NaN: whether NaN belongs there is for the gradient checks (and
``batch_additive``) to judge. A right contrastive loss, NaN where a pair's two embeddings are
equal (a cone of the distance), failed ``batch_resize`` on such a draw."""
import numpy as np

from properties.no_derivative import same_nonfinite
from properties.search import hunt
from tests.owncode_loading import collect_source

CONTRASTIVE = '''
import numpy as np


class ContrastiveLoss:
    def __init__(self, margin=1.0):
        self.margin = margin

    def forward(self, x1, x2, y):
        self.diff = x1 - x2
        self.d = np.sqrt(np.sum(self.diff ** 2, axis=1))
        self.y, self.h = y, np.maximum(self.margin - self.d, 0.0)
        return 0.5 * np.mean(y * self.d ** 2 + (1 - y) * self.h ** 2)

    def backward(self):
        y, h, d = self.y[:, None], self.h[:, None], self.d[:, None]
        g = ({similar}) * self.diff - (1 - y) * h * self.diff / d
        return g / len(d), -g / len(d)
'''


def test_the_same_nan_on_both_sides_is_where_a_law_holds():
    a = np.array([1.0, np.nan, np.inf, 2.0, np.nan])
    b = np.array([1.0, np.nan, np.inf, 3.0, 0.0])
    assert same_nonfinite(a, b).tolist() == [False, True, True, False, False]
    assert same_nonfinite(np.ones(3), np.ones(3)) is None
    assert same_nonfinite(np.ones(3), np.ones(4)) is None


def test_resizing_a_contrastive_loss_passes_and_its_0_times_nan_is_still_judged(tmp_path):
    """batch_resize passes; batch_additive still fails the similar pair's (1 - y) * h * diff / d,
    0 * NaN where d ** 2 has its derivative 0 (tests/test_no_derivative.py); a wrong factor on
    the similar pairs is caught by grads_fd."""
    found, _ = collect_source(tmp_path, "contrastive_cone.py", CONTRASTIVE.replace("{similar}", "y"))
    (label,) = [f for f in found if "(" not in f]
    assert hunt(label, "batch_resize", max_examples=25) is None
    assert hunt(label, "batch_additive", max_examples=25) is not None
    (tmp_path / "bug").mkdir()
    found, _ = collect_source(tmp_path / "bug", "contrastive_cone_bug.py",
                              CONTRASTIVE.replace("{similar}", "2 * y"))
    (label,) = [f for f in found if "(" not in f]
    assert hunt(label, "grads_fd", max_examples=25) is not None
