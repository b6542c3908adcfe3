"""Sequence layers as classes with self.W / self.dW, each with one backward bug.

Bugs, and the check that must catch each:

* ``Embedding.backward`` assigns ``self.dW[self.idx] = dout``: a repeated index
  keeps the last gradient instead of the sum. Caught by ``grads_tf`` on dW (layer bug).
* ``LSTMCell.backward`` returns ``dc_prev = ds`` without the forget gate
  (``ds * f``). Caught by ``grads_tf`` and ``grads_fd`` on dc_prev (layer bug);
  dx, dh_prev and the weights stay right.
"""
import numpy as np


class Embedding:
    def __init__(self, vocab_size, dim):
        self.W = np.random.randn(vocab_size, dim)
        self.dW = np.zeros_like(self.W)

    def forward(self, idx):
        self.idx = idx
        return self.W[idx]

    def backward(self, dout):
        self.dW[...] = 0
        self.dW[self.idx] = dout                 # BUG: overwrites a repeated index's rows
        return None


class LSTMCell:
    def __init__(self, input_size, hidden_size):
        self.Wx = np.random.randn(input_size, 4 * hidden_size) * 0.1
        self.Wh = np.random.randn(hidden_size, 4 * hidden_size) * 0.1
        self.b = np.zeros(4 * hidden_size)

    def forward(self, x, h_prev, c_prev):
        H = h_prev.shape[1]
        a = x @ self.Wx + h_prev @ self.Wh + self.b
        sig = 1 / (1 + np.exp(-np.clip(a[:, :3 * H], -500, 500)))
        i, f, o = sig[:, :H], sig[:, H:2 * H], sig[:, 2 * H:]
        g = np.tanh(a[:, 3 * H:])
        c_next = f * c_prev + i * g
        h_next = o * np.tanh(c_next)
        self.cache = (x, h_prev, c_prev, i, f, o, g, c_next)
        return h_next, c_next

    def backward(self, dh_next, dc_next):
        x, h_prev, c_prev, i, f, o, g, c_next = self.cache
        tc = np.tanh(c_next)
        ds = dc_next + dh_next * o * (1 - tc * tc)
        dA = np.hstack((ds * g * i * (1 - i), ds * c_prev * f * (1 - f),
                        dh_next * tc * o * (1 - o), ds * i * (1 - g * g)))
        self.dWx = x.T @ dA
        self.dWh = h_prev.T @ dA
        self.db = dA.sum(axis=0)
        return dA @ self.Wx.T, dA @ self.Wh.T, ds      # BUG: dc_prev is ds * f
