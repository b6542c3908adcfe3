"""A user's layer drawing from a NumPy generator of its own or of its module is checked repeatably.

A Gaussian dropout making ``np.random.default_rng()`` unseeded in its constructor drew other
noise in every build, and the harness compares builds of one case (the layer with its float64
copy, a fresh layer in ``batch_resize``): the right layer failed ``grads`` ("layer vs fd") and
``batch_resize`` ("kept from the first call"). A dropout drawing from ``RNG`` at the top of its
file advanced it in every finite-difference forward and was "not deterministic". The held
generator is now seeded from the case at every build, the module's is put back before every
forward (as NumPy's global state is seeded), and the results say so. A wrong backward still
fails.
"""
import pytest

from properties.search import hunt
from properties.trial import HELD_RNG_NOTE, MODULE_RNG_NOTE
from tests.owncode_loading import collect_source

SOURCE = '''
import numpy as np

RNG = np.random.default_rng(42)


class GaussianDropout:
    """Multiplicative noise N(1, p / (1 - p)) in training, from an unseeded generator."""
    def __init__(self, p=0.3):
        self.p, self.rng, self.training = p, np.random.default_rng(), True

    def forward(self, x):
        if not self.training:
            self.noise = None
            return x
        std = np.sqrt(self.p / (1 - self.p))
        self.noise = self.rng.normal(1.0, std, size=x.shape)
        return x * self.noise

    def backward(self, dout):
        return dout if self.noise is None else dout * self.noise


class GaussianDropoutNoiseSquared(GaussianDropout):
    def backward(self, dout):
        return dout if self.noise is None else dout * self.noise ** 2


class ModuleDropout:
    """Inverted dropout whose mask comes from the module's RNG."""
    def __init__(self, p=0.2):
        self.p, self.training = p, True

    def forward(self, x):
        if not self.training:
            self.mask = None
            return x
        self.mask = (RNG.random(x.shape) >= self.p) / (1 - self.p)
        return x * self.mask

    def backward(self, dout):
        return dout if self.mask is None else dout * self.mask


class ModuleDropoutRedrawsInBackward(ModuleDropout):
    def backward(self, dout):
        if self.mask is None:
            return dout
        return dout * (RNG.random(dout.shape) >= self.p) / (1 - self.p)
'''


@pytest.fixture(scope="module")
def found(tmp_path_factory):
    return collect_source(tmp_path_factory.mktemp("generators"), "noisy.py", SOURCE)[0]


@pytest.mark.parametrize("label,note", [("noisy.GaussianDropout", HELD_RNG_NOTE),
                                        ("noisy.ModuleDropout", MODULE_RNG_NOTE)])
def test_a_right_layer_drawing_from_its_own_generator_passes(found, label, note, result_log):
    assert label in found
    for prop in ("grads", "batch_resize", "no_mutation", "linear_in_dout"):
        bad = hunt(label, prop, max_examples=12, shrink=False)
        assert bad is None, bad.failures[0].message()
    from properties.battery import all_properties
    from properties.cases import Case
    results = all_properties()["grads_fd"].fn(Case(layer=label, config={}, dtype="float64",
                                                   batch=3, kind="normal", seed=2))
    result_log.add(results)
    assert results and all(r.passed for r in results) and note in results[0].note


@pytest.mark.parametrize("label", ["noisy.GaussianDropoutNoiseSquared",
                                   "noisy.ModuleDropoutRedrawsInBackward"])
def test_a_wrong_backward_of_such_a_layer_still_fails(found, label):
    bad = hunt(label, "grads", max_examples=12, shrink=False)
    assert bad is not None
    assert {r.verdict for r in bad.failures} & {"layer bug", "layer vs fd"}, \
        bad.failures[0].message()
