"""TF twins of the sequence and attention layers (found by ``oracle.twins.twin_for``).

Each twin is written with TensorFlow's own ops (gather, matmul, sigmoid, tanh,
softmax, sparse softmax cross-entropy); the unrolled recurrent twins loop over
the time steps in Python, so every gradient, backpropagation through time
included, comes from GradientTape, never from the layers' backward formulas.
Hyperparameters (hidden_size, causal) are read off the layer.
"""
import layers as L
from oracle.tf_runtime import tf
from oracle.twins import twin_of


def _gate(a, k, hidden):
    """The k-th gate block (N, H) of pre-activations a (N, gates * H)."""
    return a[:, k * hidden:(k + 1) * hidden]


def _rnn_step(x, h, Wx, Wh, b):
    return tf().math.tanh(tf().matmul(x, Wx) + tf().matmul(h, Wh) + b)


def _lstm_step(layer, x, h, c, Wx, Wh, b):
    t, H = tf(), layer.hidden_size
    a = t.matmul(x, Wx) + t.matmul(h, Wh) + b
    i, f, o = (t.math.sigmoid(_gate(a, k, H)) for k in range(3))
    g = t.math.tanh(_gate(a, 3, H))
    c = f * c + i * g
    return o * t.math.tanh(c), c


@twin_of(L.Embedding)
def embedding(layer, idx, W):
    """out = W[idx] for integer idx of any shape."""
    return tf().gather(W, tf().cast(idx, tf().int64))


@twin_of(L.RNNCell)
def rnn_cell(layer, x, h_prev, Wx, Wh, b):
    return _rnn_step(x, h_prev, Wx, Wh, b)


@twin_of(L.RNN)
def rnn(layer, x, h0, Wx, Wh, b):
    """Unrolled over T in Python; returns every hidden state (N, T, H)."""
    h, hs = h0, []
    for step in range(x.shape[1]):
        h = _rnn_step(x[:, step], h, Wx, Wh, b)
        hs.append(h)
    return tf().stack(hs, axis=1)


@twin_of(L.LSTMCell)
def lstm_cell(layer, x, h_prev, c_prev, Wx, Wh, b):
    """Gate order i, f, o, g; returns (next_h, next_c)."""
    return _lstm_step(layer, x, h_prev, c_prev, Wx, Wh, b)


@twin_of(L.LSTM)
def lstm(layer, x, h0, Wx, Wh, b):
    """Unrolled over T in Python from (h0, c0 = 0); returns every hidden state (N, T, H)."""
    h, c, hs = h0, tf().zeros_like(h0), []
    for step in range(x.shape[1]):
        h, c = _lstm_step(layer, x[:, step], h, c, Wx, Wh, b)
        hs.append(h)
    return tf().stack(hs, axis=1)


@twin_of(L.GRUCell)
def gru_cell(layer, x, h_prev, Wx, Wh, b):
    """Gate order z, r, n, the reset gate applied to h before Wh_n."""
    t, H = tf(), layer.hidden_size
    xa = t.matmul(x, Wx) + b
    z = t.math.sigmoid(_gate(xa, 0, H) + t.matmul(h_prev, Wh[:, :H]))
    r = t.math.sigmoid(_gate(xa, 1, H) + t.matmul(h_prev, Wh[:, H:2 * H]))
    n = t.math.tanh(_gate(xa, 2, H) + t.matmul(r * h_prev, Wh[:, 2 * H:]))
    return (1 - z) * n + z * h_prev


@twin_of(L.TemporalDense)
def temporal_dense(layer, x, W, b):
    return tf().einsum("ntd,dm->ntm", x, W) + b


@twin_of(L.TemporalSoftmaxCrossEntropy)
def temporal_softmax_cross_entropy(layer, x, y, mask):
    """Sum over (n, t) of mask * sparse softmax cross-entropy, divided by the batch size N."""
    t = tf()
    per_step = t.nn.sparse_softmax_cross_entropy_with_logits(labels=t.cast(y, t.int64), logits=x)
    return t.reduce_sum(per_step * t.cast(mask, x.dtype)) / t.cast(x.shape[0], x.dtype)


@twin_of(L.ScaledDotProductAttention)
def scaled_dot_product_attention(layer, q, k, v):
    """softmax over the keys of q k^T / sqrt(d); causal keys s > t are replaced by -inf.

    tf.where sends no gradient to the replaced scores, and softmax gives their
    weights exactly 0, so every gradient stays finite.
    """
    t = tf()
    scores = t.matmul(q, k, transpose_b=True) / t.sqrt(t.cast(q.shape[-1], q.dtype))
    if layer.causal:
        keep = t.linalg.band_part(t.ones(scores.shape[1:], scores.dtype), -1, 0) > 0
        scores = t.where(keep, scores, t.constant(float("-inf"), scores.dtype))
    return t.matmul(t.nn.softmax(scores, axis=-1), v)
