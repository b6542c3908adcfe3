"""A loss in a network of self-updating layers: ``backprop(self, lr=None)`` takes the rate its
layers' ``backprop(d, lr)`` take, and no upstream gradient. It was given dout in place of the
rate and failed ``linear_in_dout`` as a loss ignoring its dout."""
from layers.attribute_probe import takes_upstream
from properties.search import hunt
from tests.owncode_loading import collect_source

MSE = '''
import numpy as np


class MSELoss:
    def forward(self, y, t):
        self.y, self.t = y, t
        return 0.5 * np.sum((y - t) ** 2) / y.shape[0]

    def backprop(self, {args}):
        return (self.y - self.t) / self.y.shape[0]{scaled}
'''


def test_a_rate_with_a_default_is_no_upstream_gradient():
    class Methods:
        def rate_only(self, lr=None): ...
        def eta_only(self, eta=0.1): ...
        def upstream_then_rate(self, d, lr): ...
        def upstream_with_default(self, dout=1.0): ...
        def rate_required(self, lr): ...
    m = Methods()
    assert not takes_upstream(m.rate_only) and not takes_upstream(m.eta_only)
    assert takes_upstream(m.upstream_then_rate) and takes_upstream(m.upstream_with_default)
    assert takes_upstream(m.rate_required)      # (a required first argument is the upstream)


def test_the_loss_is_checked_at_dout_1_and_its_slip_still_caught(tmp_path):
    (tmp_path / "ok").mkdir()
    found, _ = collect_source(tmp_path / "ok", "mse.py", MSE.format(args="lr=None", scaled=""))
    (label,) = found
    assert "takes no upstream gradient" in found[label].how
    assert hunt(label, "grads_fd", max_examples=10, shrink=False) is None
    assert found[label].entry.takes_dout is False
    (tmp_path / "bug").mkdir()
    found, _ = collect_source(tmp_path / "bug", "mse_bug.py",
                              MSE.format(args="lr=None", scaled=" * 2"))
    (label,) = found
    failed = hunt(label, "grads_fd", max_examples=10)
    assert failed is not None and failed.failures[0].tensor == "dx"
