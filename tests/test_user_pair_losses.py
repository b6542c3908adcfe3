"""A loss of two differentiable inputs and no targets (a PairMSE(a, b), a KL between two
softmaxes), or of a pair and a label under a name without "loss" in it, returns one number
for a batch: it was probed as a non-loss, whose output must have a batch axis, so only one
sample of a fixed (6, 6) ran. Its batch_additive was skipped as "one sample at a time" (not
so) and a batch size cached at the first forward passed every check (found by a new user).
A forward of a batch returning one number is now a loss whatever its name."""
from properties.battery import all_properties
from properties.catalog import get
from properties.search import hunt
from properties.user_batch_rule import BATCHLESS
from tests.owncode_loading import collect_source
from tests.test_no_derivative import CONTRASTIVE

PAIR_MSE = '''
import numpy as np


class PairMSE:
    def __init__(self):
        self.N = None

    def forward(self, a, b):
        if self.N is None or {fresh}:
            self.N = a.shape[0]
        self.d = a - b
        return np.sum(self.d ** 2) / a.shape[0]

    def backward(self, dout=1.0):
        return 2 * self.d * dout / self.N, -2 * self.d * dout / self.N
'''

# the contrastive loss of tests/test_no_derivative.py, guarded, under a name without "loss"
PAIR_WITH_LABEL = CONTRASTIVE.replace("class ContrastiveLoss:", "class Contrastive:").replace(
    "{d}", "np.where(d > 0, d, 1.0)")


def _entry(tmp_path, filename, source):
    found, _ = collect_source(tmp_path, filename, source)
    (label,) = found
    return label, get(label)


def test_a_two_input_loss_without_targets_is_checked_over_batches(tmp_path):
    label, entry = _entry(tmp_path, "pair_mse.py", PAIR_MSE.format(fresh="True"))
    assert entry.input_shapes({}, 3)[0][0] == 3 and entry.input_shapes({}, 2)[0][0] == 2
    assert entry.batch_rule == "mean"
    assert all_properties()["batch_additive"].not_applicable(entry) in ("", None)
    for prop in ("grads_fd", "batch_additive", "batch_resize", "linear_in_dout"):
        assert hunt(label, prop, max_examples=10, shrink=False) is None, prop


def test_its_batch_size_kept_from_the_first_forward_fails(tmp_path):
    label, _ = _entry(tmp_path, "pair_mse_stale.py", PAIR_MSE.format(fresh="False"))
    found = hunt(label, "batch_resize", max_examples=10)
    assert found is not None and {r.tensor for r in found.failures} == {"da", "db"}


def test_a_pair_loss_whose_name_does_not_say_loss_gets_its_labels_and_batches(tmp_path):
    label, entry = _entry(tmp_path, "pair_label.py", PAIR_WITH_LABEL)
    assert entry.input_shapes({}, 3) == ((3, 5), (3, 5))
    assert BATCHLESS not in (all_properties()["batch_additive"].not_applicable(entry) or "")
    for prop in ("grads_fd", "batch_additive"):
        assert hunt(label, prop, max_examples=10, shrink=False) is None, prop
