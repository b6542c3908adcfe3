"""Sequence layers as classes keeping self.W and writing self.dW (deep-learning-from-scratch style). Correct.

Bug: none. Check: ``./harness check`` adapts each class (``layers.AttributeLayer``):
``Embedding.forward(idx)`` gets integer indices with repeats (found by probing:
a float input cannot index W); ``LSTMCell`` has three inputs and two outputs,
``forward(x, h_prev, c_prev) -> (h_next, c_next)`` and
``backward(dh_next, dc_next) -> (dx, dh_prev, dc_prev)``; ``RNN`` runs a whole
sequence from h0. Each gets its TF twin and the battery passes on all three.
"""
import numpy as np


class Embedding:
    def __init__(self, vocab_size, dim):
        self.W = 0.01 * np.random.randn(vocab_size, dim)
        self.idx = None

    def forward(self, idx):
        self.idx = idx
        return self.W[idx]

    def backward(self, dout):
        self.dW = np.zeros_like(self.W)
        np.add.at(self.dW, self.idx, dout)
        return None


def _sigmoid(z):
    return 0.5 * (np.tanh(0.5 * z) + 1.0)


class LSTMCell:
    """Gates i, f, o, g in blocks of H along the columns of Wx (D, 4H), Wh (H, 4H) and b (4H,)."""

    def __init__(self, input_size, hidden_size):
        scale = 1.0 / np.sqrt(input_size)
        self.Wx = scale * np.random.randn(input_size, 4 * hidden_size)
        self.Wh = scale * np.random.randn(hidden_size, 4 * hidden_size)
        self.b = np.zeros(4 * hidden_size)

    def forward(self, x, h_prev, c_prev):
        H = h_prev.shape[1]
        a = np.dot(x, self.Wx) + np.dot(h_prev, self.Wh) + self.b
        i = _sigmoid(a[:, :H])
        f = _sigmoid(a[:, H:2 * H])
        o = _sigmoid(a[:, 2 * H:3 * H])
        g = np.tanh(a[:, 3 * H:])
        c_next = f * c_prev + i * g
        h_next = o * np.tanh(c_next)
        self.cache = (x, h_prev, c_prev, i, f, o, g, c_next)
        return h_next, c_next

    def backward(self, dh_next, dc_next):
        x, h_prev, c_prev, i, f, o, g, c_next = self.cache
        tanh_c = np.tanh(c_next)
        ds = dc_next + dh_next * o * (1 - tanh_c ** 2)
        di = ds * g * i * (1 - i)
        df = ds * c_prev * f * (1 - f)
        do = dh_next * tanh_c * o * (1 - o)
        dg = ds * i * (1 - g ** 2)
        dA = np.hstack((di, df, do, dg))
        self.dWx = np.dot(x.T, dA)
        self.dWh = np.dot(h_prev.T, dA)
        self.db = dA.sum(axis=0)
        return np.dot(dA, self.Wx.T), np.dot(dA, self.Wh.T), ds * f


class RNN:
    """A tanh RNN over a whole sequence: forward(x (N, T, D), h0 (N, H)) -> every h (N, T, H)."""

    def __init__(self, input_size, hidden_size):
        self.Wx = np.random.randn(input_size, hidden_size) / np.sqrt(input_size)
        self.Wh = np.random.randn(hidden_size, hidden_size) / np.sqrt(hidden_size)
        self.b = np.zeros(hidden_size)
        self.dWx = self.dWh = self.db = None

    def forward(self, x, h0):
        N, T, D = x.shape
        hs = np.empty((N, T, h0.shape[1]), dtype=x.dtype)
        h = h0
        for t in range(T):
            h = np.tanh(x[:, t] @ self.Wx + h @ self.Wh + self.b)
            hs[:, t] = h
        self.x, self.h0, self.hs = x, h0, hs
        return hs

    def backward(self, dhs):
        N, T, D = self.x.shape
        dx = np.empty_like(self.x)
        self.dWx = np.zeros_like(self.Wx)
        self.dWh = np.zeros_like(self.Wh)
        self.db = np.zeros_like(self.b)
        dh = np.zeros_like(self.h0)
        for t in range(T - 1, -1, -1):
            h_prev = self.hs[:, t - 1] if t > 0 else self.h0
            dt = (dhs[:, t] + dh) * (1 - self.hs[:, t] ** 2)
            dx[:, t] = dt @ self.Wx.T
            self.dWx += self.x[:, t].T @ dt
            self.dWh += h_prev.T @ dt
            self.db += dt.sum(axis=0)
            dh = dt @ self.Wh.T
        return dx, dh
