"""A layer no TF twin matches has no one to say how it breaks a tie, and finite differences
across a tie measure the kink: a maxout sending dout to every tied maximum passed every check.
Moving one group of equal inputs together keeps them tied, the function is smooth that way,
and every right gradient (the first maximum's, an even split) gives the same rate along it:
the layer's total there is held against that slope."""
from tests.owncode_loading import hunt_alone

MAXOUT = '''
import numpy as np


class Maxout:
    """Maxout over groups of k consecutive features. x: (N, D)"""
    def __init__(self, k=2):
        self.k = k

    def forward(self, x):
        self.shape = x.shape
        self.xr = x.reshape(x.shape[0], -1, self.k)
        self.out = self.xr.max(axis=2)
        return self.out

    def backward(self, dout):
        {mask}
        return (mask * dout[:, :, None]).reshape(self.shape)
'''
EVERY = "mask = (self.xr == self.out[:, :, None]).astype(float)"
FIRST = ("mask = np.zeros_like(self.xr); idx = self.xr.argmax(axis=2)\n"
         "        np.put_along_axis(mask, idx[:, :, None], 1.0, axis=2)")
SPLIT = ("mask = (self.xr == self.out[:, :, None]).astype(float)\n"
         "        mask /= mask.sum(axis=2, keepdims=True)")

TOP2 = '''
import numpy as np


class TopTwoSum:
    """The sum of each row's two largest values, rectified. x: (N, D)"""
    def forward(self, x):
        self.x = x
        self.idx = np.argsort(-x, axis=1, kind="stable")[:, :2]
        s = np.take_along_axis(x, self.idx, axis=1).sum(axis=1)
        self.active = s > 0
        return np.maximum(s, 0.0)

    def backward(self, dout):
        dx = np.zeros_like(self.x)
        np.put_along_axis(dx, self.idx, (dout * self.active)[:, None], axis=1)
        return dx
'''


def test_a_gradient_sent_to_every_tied_maximum_is_caught_without_a_twin(tmp_path):
    item, failed = hunt_alone(tmp_path, "maxout_every", MAXOUT.format(mask=EVERY), "grads_tf", 20)
    assert "no TF twin matched" in item.how, item.how
    assert failed is not None and {r.tensor for r in failed.failures} == {"dx"}
    (res,) = failed.failures
    assert res.verdict == "layer bug" and "tied inputs" in res.note, res.note
    assert "every tied maximum" in res.explanation


def test_right_ways_to_break_a_tie_pass(tmp_path):
    for name, source in (("maxout_first", MAXOUT.format(mask=FIRST)),
                         ("maxout_split", MAXOUT.format(mask=SPLIT)), ("top_two", TOP2)):
        item, failed = hunt_alone(tmp_path, name, source, "grads_tf", 20)
        assert "no TF twin matched" in item.how, item.how
        assert failed is None, (name, failed and [(r.tensor, r.note) for r in failed.failures])
