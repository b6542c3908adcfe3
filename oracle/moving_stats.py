"""The running-statistics oracle: tf.keras's BatchNormalization, in float64.

``keras_moving_stats`` trains a ``tf.keras.layers.BatchNormalization`` (axis 1,
the layer's momentum, its starting running statistics) on the same batches the
layer saw, and returns Keras's moving mean and variance. Keras's convention:
``moving = momentum * moving + (1 - momentum) * batch``, with the biased batch
variance (neither epsilon nor the scale and shift enter it).

``conventions`` gives the running statistics under the other conventions in
common use (PyTorch's: momentum weighs the new batch, unbiased variance), so a
layer that follows one consistently is told apart from one that is wrong.
"""
import numpy as np

from oracle.tf_runtime import tf


def _stat_axes(x):
    return [0, *range(2, np.ndim(x))]


def keras_moving_stats(batches, *, mean0, var0, momentum):
    """(moving mean, moving variance) of Keras's batch norm after training on ``batches``."""
    t = tf()
    bn = t.keras.layers.BatchNormalization(axis=1, momentum=float(momentum), dtype="float64")
    bn.build(np.shape(batches[0]))
    for var, value in ((bn.moving_mean, mean0), (bn.moving_variance, var0)):
        var.assign(np.asarray(value, np.float64).reshape(-1))
    for x in batches:
        bn(t.constant(np.asarray(x, np.float64)), training=True)
    return bn.moving_mean.numpy(), bn.moving_variance.numpy()


def conventions(batches, *, mean0, var0, momentum):
    """{name of a convention: (running mean, running variance)} after ``batches`` under it."""
    t = tf()
    found = {}
    for swapped in (False, True):
        for unbiased in (False, True):
            if not (swapped or unbiased):
                continue     # that one is Keras's own
            mean, var = np.asarray(mean0, np.float64), np.asarray(var0, np.float64)
            keep = 1 - momentum if swapped else momentum
            for x in batches:
                m, v = (s.numpy() for s in t.nn.moments(t.constant(np.asarray(x, np.float64)),
                                                        axes=_stat_axes(x)))
                count = np.size(x) / np.shape(x)[1]
                if unbiased:
                    if count < 2:
                        break
                    v = v * count / (count - 1)
                mean, var = keep * mean + (1 - keep) * m, keep * var + (1 - keep) * v
            else:
                found[_name(swapped, unbiased)] = (mean, var)
    return found


def _name(swapped, unbiased):
    parts = []
    if swapped:
        parts.append("momentum weighs the new batch (running = (1 - momentum) * running + "
                     "momentum * batch)")
    if unbiased:
        parts.append("the running variance is fed the unbiased batch variance (n - 1)")
    return " and ".join(parts) + (" (PyTorch's convention)" if swapped and unbiased else "")
