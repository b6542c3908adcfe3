"""cs231n-style recurrent layers with four classic backward bugs (the forwards are right).

Bugs, and the check that must catch each:

* ``rnn_step_backward`` takes tanh's derivative from the tanh's input (the
  pre-activation) instead of its output: ``1 - a**2`` for ``1 - next_h**2``.
  Caught by ``grads_tf`` and ``grads_fd`` on dx, dprev_h, dWx, dWh, db (layer bug).
* ``lstm_step_backward`` forgets that next_h depends on next_c: the cell's
  gradient is ``dnext_c`` alone. Caught by ``grads_tf`` (layer bug).
* ``word_embedding_backward`` writes ``dW[x] += dout``: fancy indexing keeps one
  gradient for a word used several times (``np.add.at`` keeps them all).
  Caught by ``grads_tf`` on dW (layer bug): the harness draws repeated indices.
* ``temporal_softmax_loss`` computes the masked loss but forgets the mask in
  dx: padded steps get gradients. Caught by ``grads_tf`` on dx (layer bug) and by
  ``masked_no_grad``.
"""
import numpy as np


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    a = x @ Wx + prev_h @ Wh + b
    next_h = np.tanh(a)
    return next_h, (x, prev_h, Wx, Wh, a)


def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, a = cache
    dz = dnext_h * (1.0 - a ** 2)             # BUG: tanh' is 1 - tanh(a)**2, not 1 - a**2
    return dz @ Wx.T, dz @ Wh.T, x.T @ dz, prev_h.T @ dz, dz.sum(axis=0)


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i, f, o = _sigmoid(a[:, :H]), _sigmoid(a[:, H:2 * H]), _sigmoid(a[:, 2 * H:3 * H])
    g = np.tanh(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    return next_h, next_c, (x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c)


def lstm_step_backward(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c = cache
    tc = np.tanh(next_c)
    dc = dnext_c                              # BUG: misses + dnext_h * o * (1 - tc**2)
    da = np.concatenate([dc * g * i * (1 - i), dc * prev_c * f * (1 - f),
                         dnext_h * tc * o * (1 - o), dc * i * (1 - g * g)], axis=1)
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def word_embedding_forward(x, W):
    out = W[x]
    return out, (x, W)


def word_embedding_backward(dout, cache):
    x, W = cache
    dW = np.zeros_like(W)
    dW[x] += dout                             # BUG: a repeated word keeps one gradient only
    return dW


def temporal_softmax_loss(x, y, mask):
    N, T, V = x.shape
    z = x - x.max(axis=2, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=2, keepdims=True))
    picked = np.take_along_axis(logp, y[:, :, None], axis=2)[:, :, 0]
    loss = -(picked * mask).sum() / N
    dx = np.exp(logp)
    np.put_along_axis(dx, y[:, :, None], np.take_along_axis(dx, y[:, :, None], axis=2) - 1, axis=2)
    dx /= N                                   # BUG: the mask is forgotten here
    return loss, dx
