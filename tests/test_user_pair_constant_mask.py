"""A functional pair taking a constant 0/1 mask after its params (MADE's
``masked_dense_forward(x, W, b, mask)``, whose backward returns dx, dW, db and no dmask) had the
mask taken for a param: guessed shapes that did not run, "layer raised" on every check, and a
hint naming the mask was refused the same way. A mask among its last params that backward
returns no gradient of is a constant now, of the shape guessed for it."""
from tests.owncode_loading import hunt_alone

MADE = '''
import numpy as np


def masked_dense_forward(x, W, b, mask):
    """x: (N, D), W: (D, M), b: (M,), mask: (D, M) of 0/1 entries."""
    out = x.dot(W * mask) + b
    return out, (x, W, mask)


def masked_dense_backward(dout, cache):
    x, W, mask = cache
    return dout.dot((W * mask).T), x.T.dot(dout){masked}, dout.sum(axis=0)
'''


def test_a_mask_after_the_params_is_a_constant_of_the_pair(tmp_path):
    item, failed = hunt_alone(tmp_path, "made", MADE.format(masked=" * mask"))
    assert "(N, 4) from W (4, 3)" in item.how and failed is None, (item.how, failed)
    _, failed = hunt_alone(tmp_path, "made_bug", MADE.format(masked=""))
    assert failed is not None and {r.tensor for r in failed.failures} == {"dW"}
