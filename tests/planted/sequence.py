"""Broken variants of the sequence and attention layers; each docstring names its one bug.

Each is the kind of slip a learner makes, each in a different part of the maths.
Each is registered (at the end) under its correct layer's catalog entry.
"""
from dataclasses import replace

import numpy as np

import layers as L
from layers.attention import _causal_mask, _softmax
from layers.sequence import _lstm_step_back, _set_grads
from properties.catalog import get
from properties.registry import register
from tests.planted.core import _as


class EmbeddingOverwritesRepeats(L.Embedding):
    """Bug: grads W via fancy-indexed ``dW[idx] += dout``: a repeated index keeps one dout, not their sum."""

    def backward(self, dout):
        dW = np.zeros_like(self.params["W"])
        dW[self._idx] += dout
        self.grads["W"] = dW
        return None


class RNNCellUntransposedWh(L.RNNCell):
    """Bug: dh_prev = da @ Wh instead of da @ Wh.T."""

    def backward(self, dnext_h):
        dx, _ = super().backward(dnext_h)
        da = dnext_h * (1 - self._next_h * self._next_h)
        return dx, da @ self.params["Wh"]


class RNNNoCarry(L.RNN):
    """Bug: BPTT does not carry dh_prev back to the previous step: step t only gets its own dh[:, t]."""

    def backward(self, dh):
        p, x, h = self.params, self._x, self._h
        dx = np.empty(x.shape, dtype=x.dtype)
        dWx, dWh, db = 0, 0, 0
        dh_prev = np.zeros_like(self._h0)
        for t in reversed(range(x.shape[1])):
            h_prev = h[:, t - 1] if t else self._h0
            da = dh[:, t] * (1 - h[:, t] * h[:, t])
            dx[:, t] = da @ p["Wx"].T
            dWx, dWh, db = dWx + x[:, t].T @ da, dWh + h_prev.T @ da, db + da.sum(axis=0)
            dh_prev = da @ p["Wh"].T
        _set_grads(self, Wx=dWx, Wh=dWh, b=db)
        return dx, dh_prev


class LSTMCellForgetUsesNextC(L.LSTMCell):
    """Bug: the forget gate's gradient uses next_c instead of c_prev (df = dc * next_c)."""

    def backward(self, dnext_h, dnext_c):
        H, p = self.hidden_size, self.params
        i, f, o, g = (self._gates[:, k * H:(k + 1) * H] for k in range(4))
        tanh_c = np.tanh(self._next_c)
        dc = dnext_c + dnext_h * o * (1 - tanh_c * tanh_c)
        da = np.concatenate([dc * g * i * (1 - i), dc * self._next_c * f * (1 - f),
                             dnext_h * tanh_c * o * (1 - o), dc * i * (1 - g * g)], axis=1)
        _set_grads(self, Wx=self._x.T @ da, Wh=self._h_prev.T @ da, b=da.sum(axis=0))
        return da @ p["Wx"].T, da @ p["Wh"].T, dc * f


class LSTMCellNoCellGrad(L.LSTMCell):
    """Bug: backward returns only (dx, dh_prev), forgetting dc_prev: a contract failure."""

    def backward(self, dnext_h, dnext_c):
        dx, dh_prev, _ = super().backward(dnext_h, dnext_c)
        return dx, dh_prev


class LSTMOverwritesCache(L.LSTM):
    """Bug: backward saves memory with ``np.tanh(c, out=c)`` on the cached cell states.

    Step t's cached c is no longer needed once step t is done, so the first backward
    is right; a second backward after the same forward reads tanh(c) as c and is wrong.
    """

    def backward(self, dh):
        p, x, h, c = self.params, self._x, self._h, self._c
        dx = np.empty(x.shape, dtype=x.dtype)
        dWx, dWh, db = 0, 0, 0
        dh_carry, dc_carry = np.zeros_like(self._h0), np.zeros_like(self._h0)
        for t in reversed(range(x.shape[1])):
            h_prev = h[:, t - 1] if t else self._h0
            c_prev = c[:, t - 1] if t else np.zeros_like(self._h0)
            tanh_c = np.tanh(c[:, t], out=c[:, t])
            da, dc_carry = _lstm_step_back(dh[:, t] + dh_carry, dc_carry, self._gates[:, t],
                                           c_prev, tanh_c)
            dx[:, t] = da @ p["Wx"].T
            dWx, dWh, db = dWx + x[:, t].T @ da, dWh + h_prev.T @ da, db + da.sum(axis=0)
            dh_carry = da @ p["Wh"].T
        _set_grads(self, Wx=dWx, Wh=dWh, b=db)
        return dx, dh_carry


class GRUCellFlippedUpdate(L.GRUCell):
    """Bug: dz = dnext_h * (n - h_prev) instead of dnext_h * (h_prev - n)."""

    def backward(self, dnext_h):
        Wx, Wh = self.params["Wx"], self.params["Wh"]
        x, h, z, r, n = self._x, self._h_prev, self._z, self._r, self._n
        H = self.hidden_size
        dz = dnext_h * (n - h)
        dan = dnext_h * (1 - z) * (1 - n * n)
        drh = dan @ Wh[:, 2 * H:].T
        dzr = np.concatenate([dz * z * (1 - z), drh * h * r * (1 - r)], axis=1)
        da = np.concatenate([dzr, dan], axis=1)
        dh_prev = dnext_h * z + drh * r + dzr @ Wh[:, :2 * H].T
        _set_grads(self, Wx=x.T @ da, b=da.sum(axis=0),
                   Wh=np.concatenate([h.T @ dzr, (r * h).T @ dan], axis=1))
        return da @ Wx.T, dh_prev


class TemporalDenseFloat64(L.TemporalDense):
    """Bug: computes in float64 and never casts back: float32 input gives float64 output and dx."""

    def forward(self, x):
        super().forward(x)
        return x.astype(np.float64) @ self.params["W"].astype(np.float64) + self.params["b"]

    def backward(self, dout):
        super().backward(dout)
        return dout.astype(np.float64) @ self.params["W"].T.astype(np.float64)


class TemporalSoftmaxIgnoresMask(L.TemporalSoftmaxCrossEntropy):
    """Bug: forward applies the mask, backward forgets it: masked steps still get a gradient."""

    def backward(self, dout=1.0):
        return (self._p - self._onehot) * (self._p.dtype.type(dout) / self._n)


class AttentionSoftmaxWrongAxis(L.ScaledDotProductAttention):
    """Bug: softmax over the query axis (axis 1) instead of the key axis.

    Its backward is the correct derivative of that wrong forward.
    """

    def forward(self, q, k, v):
        self._check(q, k, v)
        self._scale = q.dtype.type(1 / np.sqrt(q.shape[-1]))
        s = (q @ k.transpose(0, 2, 1)) * self._scale
        if self.causal:
            s = np.where(_causal_mask(q.shape[1], k.shape[1]), s, -np.inf).astype(s.dtype)
        self._q, self._k, self._v = q, k, v
        self._a = _softmax(s, axis=1)
        return self._a @ v

    def backward(self, dout):
        a, q, k, v = self._a, self._q, self._k, self._v
        da = dout @ v.transpose(0, 2, 1)
        ds = a * (da - (da * a).sum(axis=1, keepdims=True)) * self._scale
        return ds @ k, ds.transpose(0, 2, 1) @ q, a.transpose(0, 2, 1) @ dout


class AttentionCausalAfterSoftmax(L.ScaledDotProductAttention):
    """Bug: the causal mask zeroes the weights after the softmax, without renormalising.

    Its backward is the correct derivative of that wrong forward; without ``causal``
    it is the reference layer.
    """

    def forward(self, q, k, v):
        self._check(q, k, v)
        self._scale = q.dtype.type(1 / np.sqrt(q.shape[-1]))
        self._q, self._k, self._v = q, k, v
        self._full = _softmax((q @ k.transpose(0, 2, 1)) * self._scale)
        keep = _causal_mask(q.shape[1], k.shape[1]) if self.causal else True
        self._keep = np.broadcast_to(keep, self._full.shape[1:]).astype(q.dtype)
        self._a = self._full * self._keep
        return self._a @ v

    def backward(self, dout):
        full, q, k, v = self._full, self._q, self._k, self._v
        da = (dout @ v.transpose(0, 2, 1)) * self._keep
        ds = full * (da - (da * full).sum(axis=-1, keepdims=True)) * self._scale
        return ds @ k, ds.transpose(0, 2, 1) @ q, self._a.transpose(0, 2, 1) @ dout


class AttentionBackwardMissingScale(L.ScaledDotProductAttention):
    """Bug: dq and dk forget the 1 / sqrt(d) the forward applied to the scores."""

    def backward(self, dout):
        dq, dk, dv = super().backward(dout)
        root_d = self._q.dtype.type(np.sqrt(self._q.shape[-1]))
        return dq * root_d, dk * root_d, dv


class TemporalDenseBiasLastStep(L.TemporalDense):
    """Bug: grads b sums dout over the batch at the last time step only, not over every step."""

    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["b"] = dout[:, -1].sum(axis=0)
        return dx


class RNNIgnoresH0(L.RNN):
    """Bug: the unrolled forward starts from zeros instead of the h0 it is given; its
    backward is the derivative of that forward (dh0 = 0)."""

    def forward(self, x, h0):
        return super().forward(x, np.zeros_like(h0))

    def backward(self, dh):
        dx, dh0 = super().backward(dh)
        return dx, np.zeros_like(dh0)


# Each planted class is checked under its correct layer's catalog entry (same configs,
# shapes, targets and laws), built as the correct layer and then given the broken class.
PLANTED_UNDER = {
    EmbeddingOverwritesRepeats: "Embedding", RNNCellUntransposedWh: "RNNCell", RNNNoCarry: "RNN",
    RNNIgnoresH0: "RNN",
    LSTMCellForgetUsesNextC: "LSTMCell", LSTMCellNoCellGrad: "LSTMCell",
    LSTMOverwritesCache: "LSTM", GRUCellFlippedUpdate: "GRUCell",
    TemporalDenseFloat64: "TemporalDense", TemporalDenseBiasLastStep: "TemporalDense",
    TemporalSoftmaxIgnoresMask: "TemporalSoftmaxCrossEntropy",
    AttentionSoftmaxWrongAxis: "ScaledDotProductAttention",
    AttentionBackwardMissingScale: "ScaledDotProductAttention",
    AttentionCausalAfterSoftmax: "ScaledDotProductAttention.causal",
}
for _cls, _base in PLANTED_UNDER.items():
    _entry = get(_base)
    register(replace(_entry, name=f"planted.{_cls.__name__}", make=_as(_cls, _entry.make)),
             planted=__name__)


# The accumulation law (properties/accumulation_law.py) is specialised too: its planted bug is
# a Dense written PyTorch's way, with Parameters and a zero_grad(), whose backward assigns .grad.
class _Parameter:
    def __init__(self, data):
        self.data, self.grad = data, np.zeros_like(data)


class LinearGradAssigned:
    """Bug: ``W.grad =`` where its zero_grad() says the backward adds (``+=``), as b.grad does."""

    def __init__(self, W, b):
        self.W, self.b = _Parameter(W), _Parameter(b)

    def zero_grad(self):
        for p in (self.W, self.b):
            p.grad = np.zeros_like(p.data)

    def forward(self, x):
        self.x = x
        return x @ self.W.data + self.b.data

    def backward(self, dout):
        self.W.grad = self.x.T @ dout
        self.b.grad += dout.sum(axis=0)
        return dout @ self.W.data.T


def _grad_assigned(config, rng, dtype):
    from layers.adapter import AttributeLayer
    dense = get("Dense").make(config, rng, dtype)
    return AttributeLayer(LinearGradAssigned(dense.params["W"], dense.params["b"]))


register(replace(get("Dense"), name="planted.LinearGradAssigned", make=_grad_assigned,
                 accumulates=True), planted=__name__)
