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

