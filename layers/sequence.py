"""Sequence layers: an embedding, vanilla RNN / LSTM / GRU cells, unrolled RNN and LSTM,
a per-step affine layer and a masked per-step softmax cross-entropy.

Shapes: N samples, T time steps, D input features, H hidden units, V vocabulary
size. Recurrent layers keep their weights as Wx (D, kH), Wh (H, kH), b (kH,) with
the k gate blocks side by side along the last axis. Every output and gradient
keeps the dtype of its input or param.
"""
import numpy as np

from layers.base import Layer, Loss, check_input, check_positive_int
from layers.init import initialise


def _sigmoid(a):
    """Logistic sigmoid that never overflows: exp is only taken of -|a|."""
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1 / (1 + e), e / (1 + e))


def _recurrent_params(layer, name, input_size, hidden_size, gates, rng, dtype):
    check_positive_int(name, "input_size", input_size)
    check_positive_int(name, "hidden_size", hidden_size)
    layer.input_size, layer.hidden_size = input_size, hidden_size
    k = gates * hidden_size
    layer.params["Wx"] = initialise(rng, "xavier", input_size, k, (input_size, k), dtype)
    layer.params["Wh"] = initialise(rng, "xavier", hidden_size, k, (hidden_size, k), dtype)
    layer.params["b"] = np.zeros(k, dtype=dtype)


def _check_state(layer, name, h, n):
    check_input(layer, name, h, ndim_min=2)
    if h.shape != (n, layer.hidden_size):
        raise ValueError(f"{type(layer).__name__}.forward: {name} must have shape (N, H) = "
                         f"({n}, {layer.hidden_size}), got {h.shape}")


def _check_step(layer, x, *states):
    """x: (N, D); each (name, array) in ``states``: (N, H)."""
    check_input(layer, "x", x, ndim_min=2)
    if x.ndim != 2 or x.shape[1] != layer.input_size:
        raise ValueError(f"{type(layer).__name__}.forward: x must have shape (N, D) with "
                         f"D = input_size = {layer.input_size}, got {x.shape}")
    for name, h in states:
        _check_state(layer, name, h, x.shape[0])


def _check_sequence(layer, x, h0):
    """x: (N, T, D) with T >= 1; h0: (N, H)."""
    check_input(layer, "x", x, ndim_min=3)
    if x.ndim != 3 or x.shape[2] != layer.input_size:
        raise ValueError(f"{type(layer).__name__}.forward: x must have shape (N, T, D) with "
                         f"D = input_size = {layer.input_size}, got {x.shape}")
    if x.shape[1] == 0:
        raise ValueError(f"{type(layer).__name__}.forward: x has T = 0 time steps, "
                         f"a sequence needs at least one step")
    _check_state(layer, "h0", h0, x.shape[0])


def _shared_cell(cell_cls, owner):
    """A ``cell_cls`` whose params dict is ``owner``'s own: the very same arrays."""
    cell = cell_cls.__new__(cell_cls)
    Layer.__init__(cell)
    cell.input_size, cell.hidden_size = owner.input_size, owner.hidden_size
    cell.params = owner.params
    return cell


def _set_grads(layer, **grads):
    layer.grads.update({k: g.astype(layer.params[k].dtype, copy=False) for k, g in grads.items()})


def _rnn_step(x, h, Wx, Wh, b):
    return np.tanh(x @ Wx + h @ Wh + b)


def _lstm_step(x, h, c, Wx, Wh, b):
    """One LSTM step. Returns next_h, next_c and the activated gates (N, 4H) in order i, f, o, g."""
    H = h.shape[1]
    a = x @ Wx + h @ Wh + b
    gates = np.concatenate([_sigmoid(a[:, :3 * H]), np.tanh(a[:, 3 * H:])], axis=1)
    i, f, o, g = (gates[:, k * H:(k + 1) * H] for k in range(4))
    next_c = f * c + i * g
    return o * np.tanh(next_c), next_c, gates


def _lstm_step_back(dh, dc, gates, c_prev, tanh_c):
    """Gradient at the pre-activations a (N, 4H) and at c_prev, from dnext_h and dnext_c."""
    H = dh.shape[1]
    i, f, o, g = (gates[:, k * H:(k + 1) * H] for k in range(4))
    dc = dc + dh * o * (1 - tanh_c * tanh_c)
    da = np.concatenate([dc * g * i * (1 - i), dc * c_prev * f * (1 - f),
                         dh * tanh_c * o * (1 - o), dc * i * (1 - g * g)], axis=1)
    return da, dc * f


class Embedding(Layer):
    """Row lookup out = W[idx]. idx: integers of any shape (typically (N, T)) in [0, V);
    W: (V, D); out: idx.shape + (D,). Nothing is differentiated but W.

    backward(dout) returns None and sets grads W with np.add.at, so the rows of
    an index that repeats accumulate every dout they received.
    """

    input_names = ()
    target_names = ("idx",)

    def __init__(self, num_embeddings, dim, *, rng, dtype=np.float64):
        super().__init__()
        check_positive_int("Embedding", "num_embeddings", num_embeddings)
        check_positive_int("Embedding", "dim", dim)
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"Embedding: rng must be a numpy.random.Generator, got {type(rng).__name__}")
        self.num_embeddings, self.dim = num_embeddings, dim
        self.params["W"] = rng.standard_normal((num_embeddings, dim)).astype(dtype)   # unit Gaussian rows

    def forward(self, idx):
        if not isinstance(idx, np.ndarray) or idx.dtype.kind not in "iu":
            what = f"dtype {idx.dtype}" if isinstance(idx, np.ndarray) else type(idx).__name__
            raise TypeError(f"Embedding.forward: idx must be a NumPy integer array, got {what}")
        if idx.size and (idx.min() < 0 or idx.max() >= self.num_embeddings):
            raise ValueError(f"Embedding.forward: idx values must lie in [0, {self.num_embeddings}), "
                             f"got values from {idx.min()} to {idx.max()}")
        self._idx = idx.copy()
        return self.params["W"][idx]

    def backward(self, dout):
        """dout: idx.shape + (D,) -> None; sets grads W: (V, D)."""
        dW = np.zeros_like(self.params["W"])
        np.add.at(dW, self._idx, dout.astype(dW.dtype, copy=False))
        self.grads["W"] = dW
        return None


class RNNCell(Layer):
    """One vanilla RNN step: next_h = tanh(x Wx + h_prev Wh + b).

    x: (N, D); h_prev: (N, H); Wx: (D, H); Wh: (H, H); b: (H,); next_h: (N, H).
    """

    input_names = ("x", "h_prev")

    def __init__(self, input_size, hidden_size, *, rng, dtype=np.float64):
        super().__init__()
        _recurrent_params(self, "RNNCell", input_size, hidden_size, 1, rng, dtype)

    def forward(self, x, h_prev):
        _check_step(self, x, ("h_prev", h_prev))
        self._x, self._h_prev = x, h_prev
        p = self.params
        self._next_h = _rnn_step(x, h_prev, p["Wx"], p["Wh"], p["b"]).astype(x.dtype, copy=False)
        return self._next_h.copy()

    def backward(self, dnext_h):
        """dnext_h: (N, H) -> (dx (N, D), dh_prev (N, H)); sets grads Wx, Wh, b."""
        da = dnext_h * (1 - self._next_h * self._next_h)
        p = self.params
        _set_grads(self, Wx=self._x.T @ da, Wh=self._h_prev.T @ da, b=da.sum(axis=0))
        return ((da @ p["Wx"].T).astype(self._x.dtype, copy=False),
                (da @ p["Wh"].T).astype(self._h_prev.dtype, copy=False))


class RNN(Layer):
    """Vanilla RNN unrolled over a whole sequence, from initial state h0.

    x: (N, T, D); h0: (N, H); h: (N, T, H), every hidden state h_1 ... h_T.
    Params as RNNCell. backward(dh) is backpropagation through time.
    """

    input_names = ("x", "h0")

    def __init__(self, input_size, hidden_size, *, rng, dtype=np.float64):
        super().__init__()
        _recurrent_params(self, "RNN", input_size, hidden_size, 1, rng, dtype)

    def cell(self):
        """An RNNCell sharing this layer's params (the same dict and arrays)."""
        return _shared_cell(RNNCell, self)

    def forward(self, x, h0):
        _check_sequence(self, x, h0)
        p = self.params
        N, T, _ = x.shape
        h = np.empty((N, T, self.hidden_size), dtype=x.dtype)
        prev = h0
        for t in range(T):
            prev = h[:, t] = _rnn_step(x[:, t], prev, p["Wx"], p["Wh"], p["b"])
        self._x, self._h0, self._h = x, h0, h
        return h.copy()

    def backward(self, dh):
        """dh: (N, T, H) -> (dx (N, T, D), dh0 (N, H)); sets grads Wx, Wh, b."""
        p, x, h = self.params, self._x, self._h
        dx = np.empty(x.shape, dtype=x.dtype)
        dWx, dWh, db = 0, 0, 0
        dcarry = np.zeros_like(self._h0)
        for t in reversed(range(x.shape[1])):
            h_prev = h[:, t - 1] if t else self._h0
            da = (dh[:, t] + dcarry) * (1 - h[:, t] * h[:, t])
            dx[:, t] = da @ p["Wx"].T
            dWx, dWh, db = dWx + x[:, t].T @ da, dWh + h_prev.T @ da, db + da.sum(axis=0)
            dcarry = da @ p["Wh"].T
        _set_grads(self, Wx=dWx, Wh=dWh, b=db)
        return dx, dcarry.astype(self._h0.dtype, copy=False)


class LSTMCell(Layer):
    """One LSTM step; gate blocks i, f, o (sigmoid) and g (tanh) along the last axis of a.

    a = x Wx + h_prev Wh + b; next_c = f * c_prev + i * g; next_h = o * tanh(next_c).
    x: (N, D); h_prev, c_prev: (N, H); Wx: (D, 4H); Wh: (H, 4H); b: (4H,).
    forward returns (next_h, next_c); backward(dnext_h, dnext_c) -> (dx, dh_prev, dc_prev).
    """

    input_names = ("x", "h_prev", "c_prev")
    output_names = ("h", "c")

    def __init__(self, input_size, hidden_size, *, rng, dtype=np.float64):
        super().__init__()
        _recurrent_params(self, "LSTMCell", input_size, hidden_size, 4, rng, dtype)

    def forward(self, x, h_prev, c_prev):
        _check_step(self, x, ("h_prev", h_prev), ("c_prev", c_prev))
        p = self.params
        next_h, next_c, gates = _lstm_step(x, h_prev, c_prev, p["Wx"], p["Wh"], p["b"])
        self._x, self._h_prev, self._c_prev, self._gates, self._next_c = x, h_prev, c_prev, gates, next_c
        return next_h.astype(x.dtype, copy=False), next_c.astype(x.dtype)   # a copy of the cache

    def backward(self, dnext_h, dnext_c):
        """(dnext_h, dnext_c): (N, H) each -> (dx (N, D), dh_prev (N, H), dc_prev (N, H))."""
        p = self.params
        da, dc_prev = _lstm_step_back(dnext_h, dnext_c, self._gates, self._c_prev,
                                      np.tanh(self._next_c))
        _set_grads(self, Wx=self._x.T @ da, Wh=self._h_prev.T @ da, b=da.sum(axis=0))
        return ((da @ p["Wx"].T).astype(self._x.dtype, copy=False),
                (da @ p["Wh"].T).astype(self._h_prev.dtype, copy=False),
                dc_prev.astype(self._c_prev.dtype, copy=False))


class LSTM(Layer):
    """LSTM unrolled over a whole sequence from h0, with initial cell state c0 = 0.

    x: (N, T, D); h0: (N, H); h: (N, T, H), every hidden state. Params as LSTMCell.
    backward(dh) -> (dx, dh0), backpropagation through time of h and c.
    """

    input_names = ("x", "h0")

    def __init__(self, input_size, hidden_size, *, rng, dtype=np.float64):
        super().__init__()
        _recurrent_params(self, "LSTM", input_size, hidden_size, 4, rng, dtype)

    def cell(self):
        """An LSTMCell sharing this layer's params (the same dict and arrays)."""
        return _shared_cell(LSTMCell, self)

    def forward(self, x, h0):
        _check_sequence(self, x, h0)
        p = self.params
        (N, T, _), H = x.shape, self.hidden_size
        h, c = np.empty((N, T, H), dtype=x.dtype), np.empty((N, T, H), dtype=x.dtype)
        gates = np.empty((N, T, 4 * H), dtype=x.dtype)
        h_prev, c_prev = h0, np.zeros_like(h0)
        for t in range(T):
            h_prev, c_prev, gates[:, t] = _lstm_step(x[:, t], h_prev, c_prev, p["Wx"], p["Wh"], p["b"])
            h[:, t], c[:, t] = h_prev, c_prev
        self._x, self._h0, self._h, self._c, self._gates = x, h0, h, c, gates
        return h.copy()

    def backward(self, dh):
        """dh: (N, T, H) -> (dx (N, T, D), dh0 (N, H)); sets grads Wx, Wh, b."""
        p, x, h, c = self.params, self._x, self._h, self._c
        dx = np.empty(x.shape, dtype=x.dtype)
        dWx, dWh, db = 0, 0, 0
        dh_carry, dc_carry = np.zeros_like(self._h0), np.zeros_like(self._h0)
        for t in reversed(range(x.shape[1])):
            h_prev = h[:, t - 1] if t else self._h0
            c_prev = c[:, t - 1] if t else np.zeros_like(self._h0)
            da, dc_carry = _lstm_step_back(dh[:, t] + dh_carry, dc_carry, self._gates[:, t],
                                           c_prev, np.tanh(c[:, t]))
            dx[:, t] = da @ p["Wx"].T
            dWx, dWh, db = dWx + x[:, t].T @ da, dWh + h_prev.T @ da, db + da.sum(axis=0)
            dh_carry = da @ p["Wh"].T
        _set_grads(self, Wx=dWx, Wh=dWh, b=db)
        return dx, dh_carry.astype(self._h0.dtype, copy=False)


class GRUCell(Layer):
    """One GRU step; gate blocks z, r, n along the last axis (reset applied before Wh_n).

    z = sigmoid(x Wx_z + h Wh_z + b_z); r = sigmoid(x Wx_r + h Wh_r + b_r);
    n = tanh(x Wx_n + (r * h) Wh_n + b_n); next_h = (1 - z) * n + z * h.
    x: (N, D); h_prev: (N, H); Wx: (D, 3H); Wh: (H, 3H); b: (3H,); next_h: (N, H).
    """

    input_names = ("x", "h_prev")

    def __init__(self, input_size, hidden_size, *, rng, dtype=np.float64):
        super().__init__()
        _recurrent_params(self, "GRUCell", input_size, hidden_size, 3, rng, dtype)

    def forward(self, x, h_prev):
        _check_step(self, x, ("h_prev", h_prev))
        Wx, Wh, b = (self.params[k] for k in ("Wx", "Wh", "b"))
        H = self.hidden_size
        xa = x @ Wx + b
        zr = _sigmoid(xa[:, :2 * H] + h_prev @ Wh[:, :2 * H])
        z, r = zr[:, :H], zr[:, H:]
        n = np.tanh(xa[:, 2 * H:] + (r * h_prev) @ Wh[:, 2 * H:])
        self._x, self._h_prev, self._z, self._r, self._n = x, h_prev, z, r, n
        return ((1 - z) * n + z * h_prev).astype(x.dtype, copy=False)

    def backward(self, dnext_h):
        """dnext_h: (N, H) -> (dx (N, D), dh_prev (N, H)); sets grads Wx, Wh, b."""
        Wx, Wh = self.params["Wx"], self.params["Wh"]
        x, h, z, r, n = self._x, self._h_prev, self._z, self._r, self._n
        H = self.hidden_size
        dz = dnext_h * (h - n)
        dan = dnext_h * (1 - z) * (1 - n * n)
        drh = dan @ Wh[:, 2 * H:].T
        dzr = np.concatenate([dz * z * (1 - z), drh * h * r * (1 - r)], axis=1)
        da = np.concatenate([dzr, dan], axis=1)
        dh_prev = dnext_h * z + drh * r + dzr @ Wh[:, :2 * H].T
        _set_grads(self, Wx=x.T @ da, b=da.sum(axis=0),
                   Wh=np.concatenate([h.T @ dzr, (r * h).T @ dan], axis=1))
        return (da @ Wx.T).astype(x.dtype, copy=False), dh_prev.astype(h.dtype, copy=False)


class TemporalDense(Layer):
    """The same affine map at every time step. x: (N, T, D); W: (D, M); b: (M,); out: (N, T, M)."""

    def __init__(self, in_features, out_features, *, rng, dtype=np.float64):
        super().__init__()
        check_positive_int("TemporalDense", "in_features", in_features)
        check_positive_int("TemporalDense", "out_features", out_features)
        self.in_features, self.out_features = in_features, out_features
        self.params["W"] = initialise(rng, "xavier", in_features, out_features,
                                      (in_features, out_features), dtype)
        self.params["b"] = np.zeros(out_features, dtype=dtype)

    def forward(self, x):
        check_input(self, "x", x, ndim_min=3)
        if x.ndim != 3 or x.shape[2] != self.in_features:
            raise ValueError(f"TemporalDense.forward: x must have shape (N, T, D) with "
                             f"D = in_features = {self.in_features}, got {x.shape}")
        self._x = x
        return (x @ self.params["W"] + self.params["b"]).astype(x.dtype, copy=False)

    def backward(self, dout):
        """dout: (N, T, M) -> dx: (N, T, D); sets grads W: (D, M), b: (M,)."""
        x2 = self._x.reshape(-1, self.in_features)
        d2 = dout.reshape(-1, self.out_features)
        _set_grads(self, W=x2.T @ d2, b=d2.sum(axis=0))
        return (dout @ self.params["W"].T).astype(self._x.dtype, copy=False)


class TemporalSoftmaxCrossEntropy(Loss):
    """Masked softmax cross-entropy summed over every step, divided by the batch size N.

    loss = -sum_{n,t} mask[n, t] * log softmax(x[n, t])[y[n, t]] / N.
    x: (N, T, V) logits; y: integers (N, T) in [0, V); mask: (N, T) of 0/1
    (bool, int or float; any weights work). Stable for large logits.
    """

    input_names = ("x",)
    target_names = ("y", "mask")

    def forward(self, x, y, mask):
        name = "TemporalSoftmaxCrossEntropy.forward"
        check_input(self, "x", x, ndim_min=3)
        if x.ndim != 3 or 0 in x.shape:
            raise ValueError(f"{name}: x must be (N, T, V) logits with N, T, V >= 1 (a sequence "
                             f"needs at least one step), got shape {x.shape}")
        N, T, V = x.shape
        if not isinstance(y, np.ndarray) or y.dtype.kind not in "iu":
            what = f"dtype {y.dtype}" if isinstance(y, np.ndarray) else type(y).__name__
            raise ValueError(f"{name}: y must be a NumPy integer array, got {what}")
        if y.shape != (N, T):
            raise ValueError(f"{name}: y must have shape (N, T) = {(N, T)}, got {y.shape}")
        if y.min() < 0 or y.max() >= V:
            raise ValueError(f"{name}: y values must lie in [0, {V}), "
                             f"got values from {y.min()} to {y.max()}")
        if not isinstance(mask, np.ndarray) or mask.dtype.kind not in "biuf":
            what = f"dtype {mask.dtype}" if isinstance(mask, np.ndarray) else type(mask).__name__
            raise ValueError(f"{name}: mask must be a NumPy bool, integer or float array, got {what}")
        if mask.shape != (N, T):
            raise ValueError(f"{name}: mask must have shape (N, T) = {(N, T)}, got {mask.shape}")
        z = x - x.max(axis=-1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
        onehot = np.zeros_like(x)
        np.put_along_axis(onehot, y[..., None].astype(np.intp), 1, axis=-1)
        self._p, self._onehot, self._n = np.exp(logp), onehot, N
        self._mask = mask.astype(x.dtype)[..., None]
        return x.dtype.type(-(self._mask * onehot * logp).sum() / N)

    def backward(self, dout=1.0):
        """Returns dx: (N, T, V) = dout * mask * (softmax(x) - onehot(y)) / N."""
        return (self._p - self._onehot) * self._mask * (self._p.dtype.type(dout) / self._n)
