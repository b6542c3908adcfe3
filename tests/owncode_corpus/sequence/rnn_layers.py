"""Recurrent layers in the cs231n assignment 3 style: functional pairs with caches. Correct.

Bug: none. Check: ``./harness check`` finds every pair and the loss
(``rnn_step``, ``rnn``, ``lstm_step``, ``lstm``, ``word_embedding``,
``temporal_affine``, ``temporal_softmax_loss``), tells the inputs (x, prev_h,
prev_c, h0) from the params (Wx, Wh, b), draws integer word indices with
repeats and masks with padded tails, matches each one to its TF twin, and the
whole battery passes on every one of them.
"""
import numpy as np


def sigmoid(z):
    """A logistic function that does not overflow for large |z|."""
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    """One timestep of a tanh RNN.

    x: (N, D) inputs, prev_h: (N, H) previous hidden state, Wx: (D, H),
    Wh: (H, H), b: (H,). Returns next_h (N, H) and a cache.
    """
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    """Returns dx, dprev_h, dWx, dWh, db."""
    x, prev_h, Wx, Wh, next_h = cache
    dz = dnext_h * (1.0 - next_h ** 2)        # tanh' from the step's output
    return dz @ Wx.T, dz @ Wh.T, x.T @ dz, prev_h.T @ dz, dz.sum(axis=0)


def rnn_forward(x, h0, Wx, Wh, b):
    """Run the RNN over a whole sequence. x: (N, T, D), h0: (N, H); returns h: (N, T, H)."""
    N, T, _ = x.shape
    h = np.zeros((N, T, h0.shape[1]))
    steps = []
    prev = h0
    for t in range(T):
        prev, step_cache = rnn_step_forward(x[:, t, :], prev, Wx, Wh, b)
        h[:, t, :] = prev
        steps.append(step_cache)
    return h, steps


def rnn_backward(dh, cache):
    """dh: (N, T, H) upstream gradients of every hidden state. Returns dx, dh0, dWx, dWh, db."""
    N, T, H = dh.shape
    D = cache[0][0].shape[1]
    dx = np.zeros((N, T, D))
    dWx, dWh, db = 0.0, 0.0, 0.0
    dprev = np.zeros((N, H))
    for t in reversed(range(T)):
        dx_t, dprev, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t, :] + dprev, cache[t])
        dx[:, t, :] = dx_t
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
    return dx, dprev, dWx, dWh, db


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """One LSTM timestep; the 4H pre-activations hold the gates i, f, o, g in that order.

    x: (N, D), prev_h and prev_c: (N, H), Wx: (D, 4H), Wh: (H, 4H), b: (4H,).
    Returns next_h, next_c (N, H) and a cache.
    """
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i = sigmoid(a[:, :H])
    f = sigmoid(a[:, H:2 * H])
    o = sigmoid(a[:, 2 * H:3 * H])
    g = np.tanh(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    tc = np.tanh(next_c)
    next_h = o * tc
    return next_h, next_c, (x, prev_h, prev_c, Wx, Wh, i, f, o, g, tc)


def lstm_step_backward(dnext_h, dnext_c, cache):
    """Returns dx, dprev_h, dprev_c, dWx, dWh, db."""
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, tc = cache
    dc = dnext_c + dnext_h * o * (1.0 - tc ** 2)
    da = np.hstack([dc * g * i * (1.0 - i),
                    dc * prev_c * f * (1.0 - f),
                    dnext_h * tc * o * (1.0 - o),
                    dc * i * (1.0 - g ** 2)])
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def lstm_forward(x, h0, Wx, Wh, b):
    """An LSTM over a whole sequence; the first cell state is zero. x: (N, T, D), h0: (N, H)."""
    N, T, _ = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H))
    prev_h, prev_c = h0, np.zeros((N, H))
    steps = []
    for t in range(T):
        prev_h, prev_c, step_cache = lstm_step_forward(x[:, t, :], prev_h, prev_c, Wx, Wh, b)
        h[:, t, :] = prev_h
        steps.append(step_cache)
    return h, steps


def lstm_backward(dh, cache):
    """Returns dx, dh0, dWx, dWh, db."""
    N, T, H = dh.shape
    D = cache[0][0].shape[1]
    dx = np.zeros((N, T, D))
    dWx, dWh, db = 0.0, 0.0, 0.0
    dprev_h, dprev_c = np.zeros((N, H)), np.zeros((N, H))
    for t in reversed(range(T)):
        dx[:, t, :], dprev_h, dprev_c, dWx_t, dWh_t, db_t = lstm_step_backward(
            dh[:, t, :] + dprev_h, dprev_c, cache[t])
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
    return dx, dprev_h, dWx, dWh, db


def word_embedding_forward(x, W):
    """x: (N, T) integer word indices into the V rows of W: (V, D). Returns out (N, T, D)."""
    return W[x], (x, W.shape)


def word_embedding_backward(dout, cache):
    """Returns dW (V, D); a word used several times collects every one of its gradients."""
    x, shape = cache
    dW = np.zeros(shape)
    np.add.at(dW, x, dout)
    return dW


def temporal_affine_forward(x, w, b):
    """The same affine map at every timestep. x: (N, T, D), w: (D, M), b: (M,) -> (N, T, M)."""
    N, T, D = x.shape
    out = (x.reshape(N * T, D) @ w).reshape(N, T, -1) + b
    return out, (x, w)


def temporal_affine_backward(dout, cache):
    """Returns dx, dw, db."""
    x, w = cache
    N, T, D = x.shape
    M = w.shape[1]
    d2 = dout.reshape(N * T, M)
    return (d2 @ w.T).reshape(N, T, D), x.reshape(N * T, D).T @ d2, d2.sum(axis=0)


def temporal_softmax_loss(x, y, mask, verbose=False):
    """Softmax cross-entropy summed over the unmasked timesteps, divided by N.

    x: (N, T, V) scores, y: (N, T) integers in [0, V), mask: (N, T) booleans
    (False at padding). Returns the loss and dx (N, T, V).
    """
    N, T, V = x.shape
    scores = x.reshape(N * T, V)
    labels = y.reshape(N * T)
    keep = mask.reshape(N * T)
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(N * T)
    loss = -np.sum(keep * log_probs[rows, labels]) / N
    dscores = np.exp(log_probs)
    dscores[rows, labels] -= 1.0
    dscores *= keep[:, None] / N
    if verbose:
        print("dx:", dscores.shape)
    return loss, dscores.reshape(N, T, V)
