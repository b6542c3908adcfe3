"""Small user-style layers for tests/test_user_twins.py: correct ones of kinds the corpus lacks, and buggy forwards.

Written the way users write them (self.W / self.dW attributes, cs231n
functional pairs); pytest does not collect this file.
"""
import numpy as np

from tests.owncode_loading import load

_F = load("functional/layers.py", "owncode_functional_layers_for_twins")


class TorchLinear:
    """PyTorch-style weight (out, in): y = x @ weight.T + bias."""

    def __init__(self, weight, bias):
        self.weight, self.bias, self.dweight, self.dbias = weight, bias, None, None

    def forward(self, x):
        self.x = x
        return x @ self.weight.T + self.bias

    def backward(self, dout):
        self.dweight, self.dbias = dout.T @ self.x, dout.sum(axis=0)
        return dout @ self.weight


class Convolution:
    """NCHW naive convolution with stride / pad attributes (honour_stride=False: a buggy forward)."""

    def __init__(self, W, b, stride=1, pad=0, honour_stride=True):
        self.W, self.b, self.dW, self.db = W, b, None, None
        self.stride, self.pad, self.honour = stride, pad, honour_stride

    def forward(self, x):
        self.x = x
        s = self.stride if self.honour else 1
        out, _ = _F.conv_forward_naive(x, self.W, self.b, {"stride": s, "pad": self.pad})
        return out

    def backward(self, dout):
        dx, self.dW, self.db = _F.conv_backward_naive(
            dout, (self.x, self.W, self.b, {"stride": self.stride, "pad": self.pad}))
        return dx


class AvgPooling:
    """deep-learning-from-scratch's Pooling signature, averaging: pool_h, pool_w, stride, pad."""

    def __init__(self, pool_h, pool_w, stride=1, pad=0):
        self.pool_h, self.pool_w, self.stride, self.pad = pool_h, pool_w, stride, pad

    def _windows(self, H, W):
        for i in range(1 + (H - self.pool_h) // self.stride):
            for j in range(1 + (W - self.pool_w) // self.stride):
                yield i, j, slice(i * self.stride, i * self.stride + self.pool_h), \
                    slice(j * self.stride, j * self.stride + self.pool_w)

    def forward(self, x):
        self.x_shape = x.shape
        N, C, H, W = x.shape
        out = np.zeros((N, C, 1 + (H - self.pool_h) // self.stride, 1 + (W - self.pool_w) // self.stride))
        for i, j, rows, cols in self._windows(H, W):
            out[:, :, i, j] = x[:, :, rows, cols].mean(axis=(2, 3))
        return out

    def backward(self, dout):
        dx = np.zeros(self.x_shape)
        for i, j, rows, cols in self._windows(*self.x_shape[2:]):
            dx[:, :, rows, cols] += dout[:, :, i, j][:, :, None, None] / (self.pool_h * self.pool_w)
        return dx


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    N, C, H, W = x.shape
    out, cache = _F.batchnorm_forward(x.transpose(0, 2, 3, 1).reshape(-1, C), gamma, beta, bn_param)
    return out.reshape(N, H, W, C).transpose(0, 3, 1, 2), (cache, x.shape)


def spatial_batchnorm_backward(dout, cache):
    cache, (N, C, H, W) = cache
    dx, dgamma, dbeta = _F.batchnorm_backward(dout.transpose(0, 2, 3, 1).reshape(-1, C), cache)
    return dx.reshape(N, H, W, C).transpose(0, 3, 1, 2), dgamma, dbeta


class LayerNorm:
    def __init__(self, gamma, beta, eps=1e-5):
        self.gamma, self.beta, self.eps, self.dgamma, self.dbeta = gamma, beta, eps, None, None

    def forward(self, x):
        self.std = np.sqrt(x.var(axis=-1, keepdims=True) + self.eps)
        self.xhat = (x - x.mean(axis=-1, keepdims=True)) / self.std
        return self.gamma * self.xhat + self.beta

    def backward(self, dout):
        self.dgamma, self.dbeta = (dout * self.xhat).sum(axis=0), dout.sum(axis=0)
        g = dout * self.gamma
        D = g.shape[-1]
        return (D * g - g.sum(-1, keepdims=True) - self.xhat * (g * self.xhat).sum(-1, keepdims=True)) / (D * self.std)


class InvertedDropout:
    """Divides by the keep probability in training; identity at inference. drop_rate is the drop ratio."""

    def __init__(self, drop_rate, seed):
        self.drop_rate, self.rng, self.mask, self.training = drop_rate, np.random.default_rng(seed), None, True

    def forward(self, x):
        if not self.training:
            return x
        self.mask = self.rng.random(x.shape) >= self.drop_rate
        return x * self.mask / (1 - self.drop_rate)

    def backward(self, dout):
        return dout * self.mask / (1 - self.drop_rate) if self.training else dout


def dropout_forward(x, dropout_param):
    """cs231n: p is the probability of KEEPING a unit; the mask already carries 1 / p."""
    p, mode = dropout_param["p"], dropout_param["mode"]
    mask = None
    if mode == "train":
        mask = (np.random.default_rng(dropout_param["seed"]).random(x.shape) < p) / p
        out = x * mask
    else:
        out = x
    return out, (dropout_param, mask)


def dropout_backward(dout, cache):
    dropout_param, mask = cache
    return dout * mask if dropout_param["mode"] == "train" else dout


class LeakyRelu:
    def __init__(self, alpha):
        self.alpha = alpha

    def forward(self, x):
        self.x = x
        return np.where(x > 0, x, self.alpha * x)

    def backward(self, dout):
        return np.where(self.x > 0, dout, self.alpha * dout)


class SoftmaxActivation:
    def forward(self, x):
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        self.y = e / e.sum(axis=-1, keepdims=True)
        return self.y

    def backward(self, dout):
        return self.y * (dout - (dout * self.y).sum(axis=-1, keepdims=True))


class CappedRelu:
    """A correct ReLU6 (min(max(x, 0), cap)): ReLU on ordinary inputs, not past the cap."""

    def __init__(self, cap=6.0):
        self.cap = cap

    def forward(self, x):
        self.mask = (x > 0) & (x < self.cap)
        return np.clip(x, 0, self.cap)

    def backward(self, dout):
        return dout * self.mask


class HalfSumSquares:
    """loss = 0.5 * sum((x - t)**2), a common hand-written MSE."""

    def forward(self, x, t):
        self.diff = x - t
        return 0.5 * np.sum(self.diff ** 2)

    def backward(self, dout=1.0):
        return dout * self.diff


class Square:
    """No standard kind: x**2."""

    def forward(self, x):
        self.x = x
        return x ** 2

    def backward(self, dout):
        return 2 * self.x * dout


class TanhNamedSigmoid(Square):
    def forward(self, x):
        return np.tanh(x)


class AffineBiasSubtracted(TorchLinear):
    """Bug: x @ W - b."""

    def __init__(self, W, b):
        self.W, self.b, self.dW, self.db = W, b, None, None

    def forward(self, x):
        self.x = x
        return x @ self.W - self.b


class BatchNormUnbiasedVar(LayerNorm):
    """Bug: normalises by the unbiased variance (ddof=1)."""

    def forward(self, x):
        return self.gamma * (x - x.mean(0)) / np.sqrt(x.var(0, ddof=1) + self.eps) + self.beta


def softmax_loss_summed(x, y):
    """Bug: the loss is summed over the batch, not averaged."""
    loss, dx = _F.softmax_loss(x, y)
    return loss * x.shape[0], dx * x.shape[0]


class BackpropView:
    """Seed 003's parameter-free MaxPool2 (forward / backprop(d), one image) seen through the protocol."""

    def __init__(self, obj):
        self.obj, self.params, self.grads, self.training = obj, {}, {}, True

    def forward(self, x):
        return self.obj.forward(x)

    def backward(self, dout):
        return self.obj.backprop(dout)
