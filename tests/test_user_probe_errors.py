"""A layer skipped because its forward raised on every shape tried says what it raised.

A pool whose forward ignores its ``pad`` (a book's im2col version) raised ``cannot reshape`` on
every shape, and its ``Pooling(pad=1)`` variant was skipped with "no input shape made forward
and backward run; add a hint with its input shape": no hint could help, and nothing said the
padding was broken. The skip now names the exception and the first shape it was raised on.
"""
from tests.owncode_loading import collect_source

SOURCE = '''
import numpy as np


class ReshapesWrongly:
    """Its forward reshapes to a size no input has."""
    def forward(self, x):
        return x.reshape(x.shape[0], -1, 7, 11)

    def backward(self, dout):
        return dout


class Scale:
    def forward(self, x):
        return 2.0 * x

    def backward(self, dout):
        return 2.0 * dout
'''


def test_a_forward_raising_on_every_shape_is_named_in_the_skip(tmp_path):
    found, collected = collect_source(tmp_path, "raising.py", SOURCE)
    assert "raising.Scale" in found
    (skip,) = [s for s in collected.skipped if s.label == "raising.ReshapesWrongly"]
    assert "forward raised ValueError: cannot reshape" in skip.reason, skip.reason
    assert "on every shape tried (the first: (2, " in skip.reason, skip.reason
    assert "no input shape made forward and backward run" not in skip.reason
