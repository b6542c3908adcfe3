"""Losses: ``forward(x, t) -> scalar`` (mean), ``backward(dout=1.0) -> dx``.

Each returns the loss as a NumPy scalar of x's dtype and honours ``dout``.
"""
import numpy as np

from layers.base import Loss, check_input


def _check_target(loss, x, t):
    if not isinstance(t, np.ndarray):
        raise TypeError(f"{type(loss).__name__}.forward: t must be a NumPy array, "
                        f"got {type(t).__name__}")
    if t.shape != x.shape:
        raise ValueError(f"{type(loss).__name__}.forward: t must have the shape of x "
                         f"{x.shape}, got {t.shape}")


def _log_softmax(x):
    z = x - x.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


class SoftmaxCrossEntropy(Loss):
    """Mean over the batch of -log softmax(x)[label]. x: (N, C) logits.

    t: integer labels (N,) in [0, C), or one-hot / probability rows (N, C).
    Stable for large logits (log-sum-exp with the row max subtracted).
    """

    def forward(self, x, t):
        check_input(self, "x", x, ndim_min=2)
        if x.ndim != 2:
            raise ValueError(f"SoftmaxCrossEntropy.forward: x must be (N, C) logits, got shape {x.shape}")
        n, c = x.shape
        if isinstance(t, np.ndarray) and t.dtype.kind in "iu":
            if t.shape != (n,):
                raise ValueError(f"SoftmaxCrossEntropy.forward: integer labels t must have shape "
                                 f"({n},), got {t.shape}")
            if t.size and (t.min() < 0 or t.max() >= c):
                raise ValueError(f"SoftmaxCrossEntropy.forward: labels t must lie in [0, {c}), "
                                 f"got values from {t.min()} to {t.max()}")
            onehot = np.zeros_like(x)
            onehot[np.arange(n), t] = 1
        else:
            _check_target(self, x, t)
            onehot = t.astype(x.dtype, copy=False)
        logp = _log_softmax(x)
        self._p, self._t, self._n = np.exp(logp), onehot, n
        return x.dtype.type(-(onehot * logp).sum() / n)

    def backward(self, dout=1.0):
        """Returns dx: (N, C) = dout * (softmax(x) - t) / N."""
        return (self._p - self._t) * (self._p.dtype.type(dout) / self._n)


class MSE(Loss):
    """Mean over all elements of (x - t)**2."""

    def forward(self, x, t):
        check_input(self, "x", x)
        _check_target(self, x, t)
        self._diff = x - t.astype(x.dtype, copy=False)
        return x.dtype.type(np.mean(self._diff ** 2))

    def backward(self, dout=1.0):
        """Returns dx = dout * 2 (x - t) / x.size."""
        d = self._diff
        return d * (d.dtype.type(2 * dout) / d.size)


class BCEWithLogits(Loss):
    """Mean over all elements of binary cross-entropy on logits x with targets t in [0, 1].

    Uses max(x, 0) - x t + log(1 + exp(-|x|)), which never overflows.
    """

    def forward(self, x, t):
        check_input(self, "x", x)
        _check_target(self, x, t)
        t = t.astype(x.dtype, copy=False)
        e = np.exp(-np.abs(x))
        self._sig = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
        self._t = t
        return x.dtype.type(np.mean(np.maximum(x, 0) - x * t + np.log1p(e)))

    def backward(self, dout=1.0):
        """Returns dx = dout * (sigmoid(x) - t) / x.size."""
        d = self._sig - self._t
        return d * (d.dtype.type(dout) / d.size)
