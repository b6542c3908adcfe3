"""TF twins of BatchNorm, LayerNorm and Dropout (found by ``oracle.twins.twin_for``).

The normalisation twins take their statistics from ``tf.nn.moments`` and apply
them with ``tf.nn.batch_normalization``, so the gradient through the mean and the
variance is TensorFlow's, not a transcription of the layer's formula. The
Dropout twin multiplies by the very mask the layer drew in its last forward.
"""
import numpy as np

import layers as L
from oracle.tf_runtime import tf
from oracle.twins import twin_of


@twin_of(L.BatchNorm)
def batch_norm(layer, x, gamma, beta):
    """x: (N, C, ...); statistics per channel (axis 1): the batch's in training, running in evaluation."""
    t = tf()
    rank = len(x.shape)
    per_channel = (1, -1) + (1,) * (rank - 2)
    if layer.training:
        mean, var = t.nn.moments(x, axes=[0, *range(2, rank)], keepdims=True)
    else:
        mean = t.constant(np.reshape(layer.running_mean, per_channel), x.dtype)
        var = t.constant(np.reshape(layer.running_var, per_channel), x.dtype)
    return t.nn.batch_normalization(x, mean, var, offset=t.reshape(beta, per_channel),
                                    scale=t.reshape(gamma, per_channel),
                                    variance_epsilon=layer.eps)


@twin_of(L.LayerNorm)
def layer_norm(layer, x, gamma, beta):
    """x: (N, ..., *normalized_shape); statistics per sample over the trailing axes."""
    t = tf()
    rank, k = len(x.shape), len(layer.normalized_shape)
    mean, var = t.nn.moments(x, axes=list(range(rank - k, rank)), keepdims=True)
    return t.nn.batch_normalization(x, mean, var, offset=beta, scale=gamma,
                                    variance_epsilon=layer.eps)


@twin_of(L.Dropout)
def dropout(layer, x):
    """Identity in evaluation; in training x * mask / (1 - p) with the layer's own last mask."""
    t = tf()
    if not layer.training:
        return t.identity(x)
    if layer.mask is None or tuple(layer.mask.shape) != tuple(x.shape):
        raise ValueError(f"the Dropout twin needs the mask of the layer's last forward on this "
                         f"input; the layer holds {None if layer.mask is None else layer.mask.shape}, "
                         f"x has shape {tuple(x.shape)}")
    return x * t.constant(layer.mask.astype(np.float64) / (1.0 - layer.p), x.dtype)
