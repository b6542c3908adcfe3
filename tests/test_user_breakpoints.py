"""Piecewise layers whose breakpoints lie away from 0 (a hard sigmoid's at +-2.5, ReLU6's at 6).

A hard sigmoid clip(0.2 x + 0.5, 0, 1) whose backward masks |x| < 3 (another library's
breakpoints) is wrong only on 2.5 < |x| < 3. Small inputs of the usual kinds seldom land there
(a standard normal draw: 1 in 100), so that slip passed a whole `ci` run; the `fd_safe` kind now
spreads its values over a reach drawn per case, up to +-8."""
import numpy as np
import pytest

from properties.search import hunt
from properties.values import FD_SAFE_REACH, make_values
from tests.owncode_loading import collect_source

HARD_SIGMOID = '''
import numpy as np


class HardSigmoid:
    def forward(self, x):
        self.x = x
        return np.clip(0.2 * x + 0.5, 0.0, 1.0)

    def backward(self, dout):
        return dout * 0.2 * ((self.x > -{edge}) & (self.x < {edge}))
'''

RELU6 = '''
import numpy as np


class ReLU6:
    def forward(self, x):
        self.x = x
        return np.minimum(np.maximum(x, 0.0), 6.0)

    def backward(self, dout):
        return dout * ((self.x > 0) & (self.x < {edge}))
'''


def test_fd_safe_values_reach_the_usual_breakpoints_yet_stay_apart():
    """Over a few seeds, a 5-element tensor's values land in every unit band up to 7 (both
    signs), stay 0.01 apart and away from 0, and never leave the kind's reach."""
    draws = [make_values("fd_safe", (1, 5), np.dtype("float64"), np.random.default_rng(s))
             for s in range(60)]
    every = np.abs(np.concatenate([d.ravel() for d in draws]))
    for low in range(1, 7):
        assert ((every > low) & (every < low + 1)).any(), low
    assert every.max() <= FD_SAFE_REACH[1] and every.min() >= 0.0024
    assert all(np.diff(np.sort(d.ravel())).min() >= 0.0099 for d in draws)
    assert len({round(float(np.abs(d).max()), 6) for d in draws}) > 30     # a reach per draw


@pytest.mark.parametrize("source,name,right,wrong", [
    (HARD_SIGMOID, "HardSigmoid", "2.5", "3.0"),
    (RELU6, "ReLU6", "6.0", "5.0")])
def test_a_mask_wrong_between_breakpoints_away_from_zero_is_caught(tmp_path, source, name,
                                                                   right, wrong):
    folder = tmp_path / "right"
    folder.mkdir()
    collect_source(folder, "act.py", source.replace("{edge}", right))
    assert hunt(f"act.{name}", "grads_fd", max_examples=25, shrink=False) is None
    folder = tmp_path / "bug"
    folder.mkdir()
    collect_source(folder, "act_bug.py", source.replace("{edge}", wrong))
    found = hunt(f"act_bug.{name}", "grads_fd", max_examples=25)
    assert found is not None
    case, failed = found
    assert {r.tensor for r in failed} == {"dx"}
