"""TF twins of the dense layers, activations, losses and nodes.

Each twin is a pure function of the inputs (and a loss's targets) and the
params, reading hyperparameters off the layer; ``twin_for`` finds a layer's.
"""
import importlib

from layers import (Add, BCEWithLogits, Dense, Flatten, LeakyReLU, MSE, Mul, ReLU, Sigmoid,
                    Softmax, SoftmaxCrossEntropy, Tanh)
from oracle.tf_runtime import tf

TWINS = {}
# Modules holding more twins; each registers its own with @twin_of when imported.
TWIN_MODULES = (
    "oracle.twins_norm",
    "oracle.twins_conv",
)


def twin_of(*layer_classes):
    """Decorator registering a function as the TF twin of ``layer_classes``."""
    def register(fn):
        for cls in layer_classes:
            TWINS[cls] = fn
        return fn
    return register


def twin_for(layer):
    """The twin registered for ``layer``'s class (or an adapted layer's wrapped class)."""
    for module in TWIN_MODULES:
        importlib.import_module(module)
    cls = type(getattr(layer, "layer", layer))
    for klass in cls.__mro__:
        if klass in TWINS:
            return TWINS[klass]
    raise LookupError(f"no TF twin registered for {cls.__name__}; add one with @twin_of")


@twin_of(Dense)
def dense(layer, x, W, b):
    return tf().reshape(x, (x.shape[0], -1)) @ W + b


@twin_of(ReLU)
def relu(layer, x):
    return tf().nn.relu(x)


@twin_of(LeakyReLU)
def leaky_relu(layer, x):
    # Same convention as tf.nn.leaky_relu (slope alpha at exactly 0), but exact in float64:
    # tf.nn.leaky_relu stores alpha as a float32 attribute and rounds it.
    return tf().where(x > 0, x, layer.alpha * x)


@twin_of(Sigmoid)
def sigmoid(layer, x):
    return tf().math.sigmoid(x)


@twin_of(Tanh)
def tanh(layer, x):
    return tf().math.tanh(x)


@twin_of(Softmax)
def softmax(layer, x):
    return tf().nn.softmax(x, axis=-1)


@twin_of(Flatten)
def flatten(layer, x):
    return tf().reshape(x, (x.shape[0], -1))


@twin_of(Add)
def add(layer, x, y):
    return x + y


@twin_of(Mul)
def mul(layer, x, y):
    return x * y


@twin_of(SoftmaxCrossEntropy)
def softmax_cross_entropy(layer, x, t):
    t_ = tf()
    if t.dtype.is_integer:
        per_sample = t_.nn.sparse_softmax_cross_entropy_with_logits(labels=t, logits=x)
    else:
        per_sample = t_.nn.softmax_cross_entropy_with_logits(labels=t, logits=x)
    return t_.reduce_mean(per_sample)


@twin_of(MSE)
def mse(layer, x, t):
    return tf().reduce_mean(tf().square(x - t))


@twin_of(BCEWithLogits)
def bce_with_logits(layer, x, t):
    return tf().reduce_mean(tf().nn.sigmoid_cross_entropy_with_logits(labels=t, logits=x))
