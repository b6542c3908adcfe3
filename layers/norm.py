"""Normalisation layers: BatchNorm (couples the samples of a batch) and LayerNorm (per sample).

Both compute ``out = gamma * xhat + beta`` with ``xhat = (x - mean) / sqrt(var + eps)``
(biased variance) and share one backward:

    dxhat = dout * gamma
    dx    = (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)) / sqrt(var + eps)

where the means run over the axes the statistics were taken over. The two
subtracted terms are the paths through the mean and the variance. They nearly
cancel when a group's values nearly coincide (var comparable to eps), so both
layers compute in float64 and return the caller's dtype: float32 in, float32 out.
"""
import numpy as np

from layers.base import Layer, check_input, check_positive_int


def _normalise(x, axes, eps):
    """(xhat, mean, var, inv_std) in float64, statistics over ``axes`` (kept as size-1 axes)."""
    x = x.astype(np.float64)
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    inv_std = 1 / np.sqrt(var + eps)
    return (x - mean) * inv_std, mean, var, inv_std


def _dx_through_stats(dxhat, xhat, inv_std, axes):
    """dx of xhat = (x - mean(x)) * inv_std(x), mean and variance included (float64)."""
    return inv_std * (dxhat - dxhat.mean(axis=axes, keepdims=True)
                      - xhat * (dxhat * xhat).mean(axis=axes, keepdims=True))


class BatchNorm(Layer):
    """Batch normalisation per feature (N, D) or per channel (N, C, ...) such as NCHW.

    x: (N, C, ...) -> out: same shape; gamma, beta: (C,). Training: statistics of
    the batch over every axis but 1, and the running statistics move towards them:
    ``running = momentum * running + (1 - momentum) * batch`` (tf.keras's convention,
    biased batch variance). Evaluation: the running statistics, which stay fixed.
    """

    def __init__(self, num_features, *, eps=1e-5, momentum=0.9, dtype=np.float64):
        super().__init__()
        check_positive_int("BatchNorm", "num_features", num_features)
        if not eps > 0:
            raise ValueError(f"BatchNorm: eps must be positive, got {eps!r}")
        if not 0 <= momentum < 1:
            raise ValueError(f"BatchNorm: momentum must lie in [0, 1), got {momentum!r}")
        self.num_features, self.eps, self.momentum = num_features, float(eps), float(momentum)
        self.params["gamma"] = np.ones(num_features, dtype=dtype)
        self.params["beta"] = np.zeros(num_features, dtype=dtype)
        self.running_mean = np.zeros(num_features, dtype=dtype)
        self.running_var = np.ones(num_features, dtype=dtype)

    def forward(self, x):
        check_input(self, "x", x, ndim_min=2)
        if x.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm.forward: x of shape {x.shape} has {x.shape[1]} "
                             f"features/channels on axis 1, expected num_features={self.num_features}")
        self._axes = (0, *range(2, x.ndim))
        self._bshape = (1, -1) + (1,) * (x.ndim - 2)
        gamma, beta = (self.params[k].reshape(self._bshape) for k in ("gamma", "beta"))
        if self.training:
            xhat, mean, var, self._inv_std = _normalise(x, self._axes, self.eps)
            m, dt = self.momentum, self.running_mean.dtype
            self.running_mean = (m * self.running_mean + (1 - m) * mean.reshape(-1)).astype(dt)
            self.running_var = (m * self.running_var + (1 - m) * var.reshape(-1)).astype(dt)
        else:
            mean, var = (np.asarray(s, np.float64).reshape(self._bshape)
                         for s in (self.running_mean, self.running_var))
            self._inv_std = 1 / np.sqrt(var + self.eps)
            xhat = (x - mean) * self._inv_std
        self._xhat, self._training_pass = xhat, self.training
        return (gamma * xhat + beta).astype(x.dtype, copy=False)

    def backward(self, dout):
        """dout: shape of x -> dx; sets grads gamma, beta: (C,)."""
        d = dout.astype(np.float64)
        dt = self.params["gamma"].dtype
        self.grads["gamma"] = (d * self._xhat).sum(axis=self._axes).astype(dt)
        self.grads["beta"] = d.sum(axis=self._axes).astype(dt)
        dxhat = d * self.params["gamma"].reshape(self._bshape)
        if not self._training_pass:          # fixed statistics: an affine map of x
            return (dxhat * self._inv_std).astype(dout.dtype)
        return _dx_through_stats(dxhat, self._xhat, self._inv_std, self._axes).astype(dout.dtype)


class LayerNorm(Layer):
    """Layer normalisation over the trailing axes ``normalized_shape`` of each sample.

    x: (N, ..., *normalized_shape) -> out: same shape; gamma, beta: normalized_shape.
    Samples never mix, so batch gradients are sums of per-sample gradients.
    """

    def __init__(self, normalized_shape, *, eps=1e-5, dtype=np.float64):
        super().__init__()
        shape = (normalized_shape,) if np.isscalar(normalized_shape) else tuple(normalized_shape)
        if not shape:
            raise ValueError("LayerNorm: normalized_shape must name at least one axis, got ()")
        for size in shape:
            check_positive_int("LayerNorm", "normalized_shape", size)
        if not eps > 0:
            raise ValueError(f"LayerNorm: eps must be positive, got {eps!r}")
        self.normalized_shape, self.eps = tuple(int(s) for s in shape), float(eps)
        self.params["gamma"] = np.ones(self.normalized_shape, dtype=dtype)
        self.params["beta"] = np.zeros(self.normalized_shape, dtype=dtype)

    def forward(self, x):
        k = len(self.normalized_shape)
        check_input(self, "x", x, ndim_min=k + 1)
        if x.shape[-k:] != self.normalized_shape:
            raise ValueError(f"LayerNorm.forward: x of shape {x.shape} must end with "
                             f"normalized_shape={self.normalized_shape}")
        self._axes = tuple(range(x.ndim - k, x.ndim))
        self._xhat, _, _, self._inv_std = _normalise(x, self._axes, self.eps)
        return (self.params["gamma"] * self._xhat + self.params["beta"]).astype(x.dtype, copy=False)

    def backward(self, dout):
        """dout: shape of x -> dx; sets grads gamma, beta: normalized_shape."""
        lead = tuple(range(dout.ndim - len(self.normalized_shape)))
        d, dt = dout.astype(np.float64), self.params["gamma"].dtype
        self.grads["gamma"] = (d * self._xhat).sum(axis=lead).astype(dt)
        self.grads["beta"] = d.sum(axis=lead).astype(dt)
        dx = _dx_through_stats(d * self.params["gamma"], self._xhat, self._inv_std, self._axes)
        return dx.astype(dout.dtype)
