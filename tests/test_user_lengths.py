"""A layer taking each sequence's length beside its input (``forward(x, lengths)``: a masked
mean over the valid steps) was taken for a loss of (x, labels), probed with no lengths at all,
and skipped ("no input shape made forward and backward run", a hint of floats suggested). Its
lengths are drawn now, 1 to x's steps, the last row padded, never 0."""
import numpy as np

from properties.user_targets import Target
from tests.owncode_loading import hunt_alone

POOL = '''
import numpy as np


class MaskedMeanPool:
    """forward(x, lengths): x (N, T, D), lengths (N,) ints in [1, T] -> (N, D)"""

    def forward(self, x, lengths):
        T = x.shape[1]
        self.mask = (np.arange(T)[None, :] < np.asarray(lengths)[:, None]).astype(x.dtype)
        self.count = self.mask.sum(axis=1, keepdims=True)
        self.shape = x.shape
        return (x * self.mask[:, :, None]).sum(axis=1) / self.count

    def backward(self, dout):
        dx = np.broadcast_to((dout / self.count)[:, None, :], self.shape).copy()
        return dx{masked}
'''


def test_lengths_are_drawn_within_the_steps_and_a_leak_into_padding_is_caught(tmp_path):
    item, failed = hunt_alone(tmp_path, "pool", POOL.format(masked=" * self.mask[:, :, None]"))
    assert "each sequence's length" in item.how and failed is None, (item.how, failed)
    _, failed = hunt_alone(tmp_path, "pool_bug", POOL.format(masked=""))
    assert failed is not None and {r.tensor for r in failed.failures} == {"dx"}


def test_lengths_run_from_one_to_the_steps_the_last_row_padded():
    rng = np.random.default_rng(0)
    for batch in (1, 2, 5):
        got = Target("lengths", "lengths", ("N",)).draw(rng, batch, (np.zeros((batch, 4, 3)),))
        assert got.shape == (batch,) and got.min() >= 1 and got.max() <= 4 and got[-1] < 4


def test_a_hints_integer_lengths_are_lengths_too(tmp_path):
    hinted = "# gradcheck: MaskedMeanPool(); x=(N, 4, 3); lengths=int(N)<5\n" + \
        POOL.format(masked=" * self.mask[:, :, None]")
    item, failed = hunt_alone(tmp_path, "hinted", hinted)
    assert "from the hint" in item.how and "each sequence's length" in item.how, item.how
    assert failed is None, failed
