"""A loss reading two columns of its prediction (a heteroscedastic Gaussian's mean and
log-variance), no shape of which its docstring or params tell: it ran on a (N, 5) prediction,
its (N, 2) gradient was "the wrong shape", and a right loss failed. Where no shape tried gives
every gradient its tensor's shape, the shape backward's gradient came out in is tried too, where
the forward reads nothing beyond it: a loss over every column whose gradient keeps two is a
wrong shape, reported, never checked on two columns where it is right."""
from tests.owncode_loading import hunt_alone

HETERO = '''
import numpy as np


class GaussianNLL:
    def forward(self, pred, target):
        self.mean, self.log_var, self.target = pred[:, 0], pred[:, 1], target
        r = target - self.mean
        return np.mean(0.5 * (self.log_var + r ** 2 * np.exp(-self.log_var)))

    def backward(self):
        r, prec, n = self.target - self.mean, np.exp(-self.log_var), len(self.mean)
        d = np.stack([-r * prec / n, {half}(1.0 - r ** 2 * prec) / n], axis=1)
        return d.astype(self.mean.dtype)
'''


def test_a_loss_reading_two_columns_is_checked_on_two(tmp_path):
    item, failed = hunt_alone(tmp_path, "hetero", HETERO.format(half="0.5 * "))
    assert "(N, 2): the shape of the gradient backward returns" in item.how, item.how
    assert failed is None, failed
    _, failed = hunt_alone(tmp_path, "hetero_bug", HETERO.format(half=""))
    assert failed is not None and {r.tensor for r in failed.failures} == {"dpred"}


SHORT = '''
import numpy as np


class MSE:
    def forward(self, pred, target):
        self.diff = pred - target
        return np.mean(self.diff ** 2)

    def backward(self):
        return 2 * self.diff[:, :2] / self.diff.size
'''


def test_a_gradient_short_of_what_the_forward_reads_is_the_bug(tmp_path):
    item, failed = hunt_alone(tmp_path, "short", SHORT)
    assert "the shape of the gradient backward returns" not in item.how, item.how
    assert failed is not None and {r.tensor for r in failed.failures} == {"dpred"}
    assert any("shape" in r.note for r in failed.failures), [r.note for r in failed.failures]
