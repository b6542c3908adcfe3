"""TF twins of the dense layers, activations, losses and nodes.

Each twin is a pure function of the inputs (and a loss's targets) and the
params, reading hyperparameters off the layer; ``twin_for`` finds a layer's.
"""
import functools
import importlib
import pkgutil

import numpy as np

import layers as L
import oracle
from oracle.tf_runtime import tf

TWINS = {}


def twin_modules():
    """Every ``oracle/twins_*.py`` module: each registers its twins with @twin_of when imported."""
    return sorted(f"oracle.{m.name}" for m in pkgutil.iter_modules(oracle.__path__)
                  if m.name.startswith("twins_"))


def twin_of(*layer_classes):
    """Decorator registering a function as the TF twin of ``layer_classes``."""
    def register(fn):
        for cls in layer_classes:
            TWINS[cls] = fn
        return fn
    return register


@functools.cache
def _import_twin_modules():
    """Once per process: listing the package's modules costs more than a small layer's check."""
    for module in twin_modules():
        importlib.import_module(module)


def twin_for(layer):
    """The twin registered for ``layer``'s class (or an adapted layer's wrapped class)."""
    _import_twin_modules()
    cls = type(getattr(layer, "layer", layer))
    for klass in cls.__mro__:
        if klass in TWINS:
            return TWINS[klass]
    raise LookupError(f"no TF twin registered for {cls.__name__}; add one with @twin_of")


@twin_of(L.Dense)
def dense(layer, x, W, b):
    return tf().reshape(x, (x.shape[0], -1)) @ W + b


@twin_of(L.ReLU)
def relu(layer, x):
    return tf().nn.relu(x)


@twin_of(L.LeakyReLU)
def leaky_relu(layer, x):
    # Same convention as tf.nn.leaky_relu (slope alpha at exactly 0), but exact in float64:
    # tf.nn.leaky_relu stores alpha as a float32 attribute and rounds it.
    return tf().where(x > 0, x, layer.alpha * x)


@twin_of(L.Sigmoid)
def sigmoid(layer, x):
    return tf().math.sigmoid(x)


@twin_of(L.Tanh)
def tanh(layer, x):
    return tf().math.tanh(x)


@twin_of(L.Softmax)
def softmax(layer, x):
    return tf().nn.softmax(x, axis=-1)


@twin_of(L.Flatten)
def flatten(layer, x):
    return tf().reshape(x, (x.shape[0], -1))


@twin_of(L.Add)
def add(layer, x, y):
    return x + y


@twin_of(L.Mul)
def mul(layer, x, y):
    return x * y


@twin_of(L.SoftmaxCrossEntropy)
def softmax_cross_entropy(layer, x, t):
    """The mean over the batch; a layer's ``ignore_index`` (PyTorch's) leaves those labels out
    of the mean and the gradient (every label ignored: 0/0, NaN, as PyTorch gives)."""
    t_ = tf()
    ignore = getattr(layer, "ignore_index", None)
    if t.dtype.is_integer and isinstance(ignore, (int, np.integer)) and not isinstance(ignore, bool):
        kept = t_.not_equal(t, ignore)
        safe = t_.where(kept, t, t_.zeros_like(t))
        per_sample = t_.nn.sparse_softmax_cross_entropy_with_logits(labels=safe, logits=x)
        weight = t_.cast(kept, per_sample.dtype)
        return t_.reduce_sum(per_sample * weight) / t_.reduce_sum(weight)
    if t.dtype.is_integer:
        per_sample = t_.nn.sparse_softmax_cross_entropy_with_logits(labels=t, logits=x)
    else:
        per_sample = t_.nn.softmax_cross_entropy_with_logits(labels=t, logits=x)
    return t_.reduce_mean(per_sample)


@twin_of(L.MSE)
def mse(layer, x, t):
    return tf().reduce_mean(tf().square(x - t))


@twin_of(L.BCEWithLogits)
def bce_with_logits(layer, x, t):
    return tf().reduce_mean(tf().nn.sigmoid_cross_entropy_with_logits(labels=t, logits=x))
