"""Scaled dot-product attention: out = softmax(q k^T / sqrt(d) + mask) v, softmax over the keys."""
import numpy as np

from layers.base import Layer, check_input


def _causal_mask(tq, tk):
    """Boolean (Tq, Tk), True where query t may attend to key s (s <= t)."""
    return np.tril(np.ones((tq, tk), dtype=bool))


def _softmax(s, axis=-1):
    """Softmax along ``axis``, with the max subtracted; entries of -inf get weight exactly 0."""
    e = np.exp(s - s.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


class ScaledDotProductAttention(Layer):
    """Attention of every query over the keys; no params.

    q: (N, Tq, d); k: (N, Tk, d); v: (N, Tk, dv); out: (N, Tq, dv).
    weights A = softmax(q k^T / sqrt(d) + mask) over the key axis (last), stable.
    ``causal=True`` hides every key s > t from query t (needs Tq == Tk).
    backward(dout) -> (dq, dk, dv).
    """

    input_names = ("q", "k", "v")

    def __init__(self, *, causal=False):
        super().__init__()
        if not isinstance(causal, (bool, np.bool_)):
            raise TypeError(f"ScaledDotProductAttention: causal must be True or False, got {causal!r}")
        self.causal = bool(causal)

    def _check(self, q, k, v):
        name = "ScaledDotProductAttention.forward"
        for tname, t in (("q", q), ("k", k), ("v", v)):
            check_input(self, tname, t, ndim_min=3)
            if t.ndim != 3:
                raise ValueError(f"{name}: {tname} must be 3-D (N, T, features), got shape {t.shape}")
        (n, tq, d), (nk, tk, dk), (nv, tv, _) = q.shape, k.shape, v.shape
        if nk != n or dk != d:
            raise ValueError(f"{name}: k must have shape (N, Tk, d) = ({n}, Tk, {d}) to match q "
                             f"{q.shape}, got {k.shape}")
        if nv != n or tv != tk:
            raise ValueError(f"{name}: v must have shape (N, Tk, dv) = ({n}, {tk}, dv) to match q "
                             f"{q.shape} and k {k.shape}, got {v.shape}")
        if tq == 0 or tk == 0:
            raise ValueError(f"{name}: q has Tq = {tq} and k has Tk = {tk} steps; attention needs "
                             f"sequences of at least one step")
        if d == 0:
            raise ValueError(f"{name}: q and k have d = 0 features; the scale 1/sqrt(d) needs d >= 1")
        if self.causal and tq != tk:
            raise ValueError(f"{name}: causal attention needs as many queries as keys, "
                             f"got Tq = {tq} (q {q.shape}) and Tk = {tk} (k {k.shape})")

    def forward(self, q, k, v):
        self._check(q, k, v)
        self._scale = q.dtype.type(1 / np.sqrt(q.shape[-1]))
        s = (q @ k.transpose(0, 2, 1)) * self._scale
        if self.causal:
            s = np.where(_causal_mask(q.shape[1], k.shape[1]), s, -np.inf).astype(s.dtype, copy=False)
        self._q, self._k, self._v = q, k, v
        self._a = _softmax(s)
        return (self._a @ v).astype(q.dtype, copy=False)

    def backward(self, dout):
        """dout: (N, Tq, dv) -> (dq (N, Tq, d), dk (N, Tk, d), dv (N, Tk, dv))."""
        a, q, k, v = self._a, self._q, self._k, self._v
        dv = a.transpose(0, 2, 1) @ dout
        da = dout @ v.transpose(0, 2, 1)
        ds = a * (da - (da * a).sum(axis=-1, keepdims=True)) * self._scale
        return ((ds @ k).astype(q.dtype, copy=False),
                (ds.transpose(0, 2, 1) @ q).astype(k.dtype, copy=False),
                dv.astype(v.dtype, copy=False))
