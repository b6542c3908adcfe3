"""Laws of the pooling layers beyond the battery: gradient mass, and one winner per max window.

Each law is ``case -> [Result]`` like a battery property (``declare.guarded``),
but only pooling entries get them (``tests/test_conv_laws.py`` runs them).
"""
import numpy as np

from properties.declare import guarded
from properties.laws import EXACT


def _pool_gradient_mass(trial):
    """Pooling sends back exactly the upstream gradient: sum(dx) == sum(dout) per image, channel."""
    _, dout, (dx,), _ = trial.run()
    want = np.sum(np.asarray(dout, np.float64).reshape(*dout.shape[:2], -1), axis=-1)
    got = np.sum(np.asarray(dx, np.float64), axis=(2, 3))
    return [trial.compare("sum(dx) per (n, c)", got, want, "law", note_if_failed=(
        "the gradient mass dx sends back differs from the mass of dout: some window's dout was "
        "lost, duplicated or scaled"))]


def _one_winner_per_window(trial):
    """Max-pool sends each window's gradient to one cell, inside the window.

    Windows may overlap, so one window's share is read off ``backward`` of a
    one-hot dout at that window (backward is linear in dout: ``linear_in_dout``).
    """
    out = trial.forward()
    layer = trial.layer
    (ph, pw), (sh, sw) = layer.pool_size, layer.stride
    receivers = np.zeros(out.shape, np.int64)     # cells getting one window's gradient
    outside = np.zeros(out.shape, np.int64)       # ... of which outside that window
    for idx in np.ndindex(*out.shape):
        probe = np.zeros_like(out)
        probe[idx] = 1
        (dx,), _ = trial.backward(probe)
        n, c, i, j = idx[0], idx[1], idx[2] * sh, idx[3] * sw
        receivers[idx] = np.count_nonzero(dx)
        outside[idx] = receivers[idx] - np.count_nonzero(dx[n, c, i:i + ph, j:j + pw])
    return [trial.compare(tensor, counts, want, "law", tol=EXACT, note_if_failed=note)
            for tensor, counts, want, note in [
                ("cells receiving one window's dout", receivers, np.minimum(receivers, 1),
                 "some windows send gradient to several cells: a tied maximum must pass dout to "
                 "one cell only (TF: the first maximum in row-major window order)"),
                ("cells outside the window receiving its dout", outside, np.zeros_like(outside),
                 "some windows send gradient to cells outside the window")]]


pool_gradient_mass = guarded("pool_gradient_mass", _pool_gradient_mass)
one_winner_per_window = guarded("one_winner_per_window", _one_winner_per_window)
