"""A layer drawing from a NumPy generator of its own (``self.rng = np.random.RandomState(0)``)
draws another dropout mask on every call. batch_resize compared its second call with a fresh
layer's first and failed it as "state kept from the first call". The generators a layer holds
now start again before the second call, as a fresh layer's do; state that is really kept (a
mask drawn once and reused) still fails."""
import pytest

from properties.search import hunt
from tests.owncode_loading import collect_source

DROPOUT = '''
import numpy as np


class OwnRngDropout:
    """A tanh with dropout after it, x: (N, D): no TF twin, so a second call is compared
    with a fresh layer's."""

    def __init__(self, p=0.5, seed=0):
        self.p, self.rng = p, np.random.{make}(seed)
        self.mask = None

    def forward(self, x):
        {draw}
        self.y = np.tanh(x)
        return self.y * self.mask / (1 - self.p)

    def backward(self, dout):
        return dout * self.mask / (1 - self.p) * (1 - self.y ** 2)
'''
EACH_CALL = "self.mask = self.rng.random(x.shape) >= self.p"
ONCE = "self.mask = self.rng.random(x.shape) >= self.p if self.mask is None else self.mask"


@pytest.mark.parametrize("make", ["RandomState", "default_rng"])
def test_a_mask_drawn_on_every_call_from_the_layers_own_generator_passes(make, tmp_path):
    draw = EACH_CALL.replace("self.rng.random(", "self.rng.random_sample(") \
        if make == "RandomState" else EACH_CALL
    found, _ = collect_source(tmp_path, f"own_rng_each_{make.lower()}.py",
                              DROPOUT.format(make=make, draw=draw))
    label = next(k for k in found if "(" not in k)     # (and its p=0.8 entry: its own)
    assert hunt(label, "batch_resize", max_examples=15, shrink=False) is None


def test_a_mask_drawn_once_and_reused_still_fails(tmp_path):
    found, _ = collect_source(tmp_path, "own_rng_once.py",
                              DROPOUT.format(make="default_rng", draw=ONCE))
    label = next(k for k in found if "(" not in k)
    failed = hunt(label, "batch_resize", max_examples=15)
    assert failed is not None and failed.failures
