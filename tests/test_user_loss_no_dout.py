"""A loss whose backward takes no upstream gradient (``def backward(self)``, as PyTorch's
``loss.backward()`` is called) was "a forward() but no backward(): nothing to check", and the
run still exited 0. It is now checked at dout = 1; linear_in_dout does not apply to it (there
is no dout to scale), said as a skip."""
from properties.battery import all_properties
from properties.catalog import get
from properties.search import hunt
from tests.owncode_loading import collect_source

SOURCE = '''
import numpy as np


class MSELoss:
    def forward(self, y, t):
        self.diff = y - t
        return 0.5 * np.mean(np.sum(self.diff ** 2, axis=1))

    def backward(self):
        return self.diff / {n}
'''


def test_a_loss_backward_without_dout_is_checked_at_dout_one(tmp_path):
    found, _ = collect_source(tmp_path, "no_dout_mse.py", SOURCE.format(n="self.diff.shape[0]"))
    (label,) = found
    assert "takes no upstream gradient" in found[label].how
    for prop in ("grads_tf", "grads_fd", "batch_additive"):
        assert hunt(label, prop, max_examples=10, shrink=False) is None, prop
    reason = all_properties()["linear_in_dout"].not_applicable(get(label))
    assert "takes no upstream gradient" in reason


def test_its_missing_mean_is_caught(tmp_path):
    found, _ = collect_source(tmp_path, "no_dout_mse_bug.py", SOURCE.format(n="1"))
    (label,) = found
    failed = hunt(label, "grads_tf", max_examples=10)
    assert failed is not None and {r.tensor for r in failed.failures} == {"dy"}


def test_one_keeping_params_and_grads_dicts_is_adapted_too(tmp_path):
    """Kept as it is (protocol style), it was called with a dout it does not take."""
    source = SOURCE.format(n="self.diff.shape[0]").replace(
        "class MSELoss:\n", "class MSELoss:\n    def __init__(self):\n        self.params, self.grads = {}, {}\n\n")
    found, _ = collect_source(tmp_path, "no_dout_mse_dicts.py", source)
    (label,) = found
    assert hunt(label, "grads_fd", max_examples=10, shrink=False) is None
