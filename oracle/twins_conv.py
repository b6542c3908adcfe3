"""TF twins of the convolution and pooling layers.

The layers are NCHW; TF's CPU kernels take NHWC only, so each twin transposes
on the way in and back on the way out. Hyperparameters are read off the layer:
``padding`` is ((top, bottom), (left, right)) and goes to TF as explicit padding.
TF cannot differentiate a dilated convolution on the CPU: its ``tape.gradient``
raises, and the tape oracle reports the case as unavailable.
"""
import layers as L
from oracle.tf_runtime import tf
from oracle.twins import twin_of


def to_nhwc(x):
    return tf().transpose(x, (0, 2, 3, 1))


def to_nchw(x):
    return tf().transpose(x, (0, 3, 1, 2))


@twin_of(L.Conv2D)
def conv2d(layer, x, W, b):
    """x: (N, C, H, W); W: (F, C, KH, KW) -> TF's filter layout (KH, KW, C, F)."""
    (top, bottom), (left, right) = layer.padding
    out = tf().nn.conv2d(to_nhwc(x), tf().transpose(W, (2, 3, 1, 0)),
                         strides=[1, *layer.stride, 1],
                         padding=[[0, 0], [top, bottom], [left, right], [0, 0]],
                         dilations=[1, *layer.dilation, 1])
    return to_nchw(out + b)


@twin_of(L.MaxPool2D)
def max_pool2d(layer, x):
    """TF's gradient goes to the first maximum of a window in row-major order."""
    return to_nchw(tf().nn.max_pool2d(to_nhwc(x), ksize=layer.pool_size, strides=layer.stride,
                                      padding="VALID"))


@twin_of(L.AvgPool2D)
def avg_pool2d(layer, x):
    return to_nchw(tf().nn.avg_pool2d(to_nhwc(x), ksize=layer.pool_size, strides=layer.stride,
                                      padding="VALID"))


@twin_of(L.GlobalAvgPool2D)
def global_avg_pool2d(layer, x):
    return tf().reduce_mean(x, axis=(2, 3))
