"""Fully connected layer: out = x.reshape(N, -1) @ W + b."""
import numpy as np

from layers.base import Layer, check_input, check_positive_int
from layers.init import initialise


class Dense(Layer):
    """Affine layer. x: (N, ...) flattened to (N, D); W: (D, M); b: (M,); out: (N, M).

    ``dx`` is reshaped back to the shape of ``x``, as in the seeds' Affine layer.
    """

    def __init__(self, in_features, out_features, *, rng, init="he", dtype=np.float64):
        super().__init__()
        check_positive_int("Dense", "in_features", in_features)
        check_positive_int("Dense", "out_features", out_features)
        self.in_features, self.out_features = in_features, out_features
        self.params["W"] = initialise(rng, init, in_features, out_features,
                                      (in_features, out_features), dtype)
        self.params["b"] = np.zeros(out_features, dtype=dtype)

    def forward(self, x):
        check_input(self, "x", x, ndim_min=2)
        x2 = x.reshape(x.shape[0], -1)
        if x2.shape[1] != self.in_features:
            raise ValueError(f"Dense.forward: x of shape {x.shape} has {x2.shape[1]} features "
                             f"per sample, expected in_features={self.in_features}")
        self._x_shape, self._x2 = x.shape, x2
        return x2 @ self.params["W"] + self.params["b"]

    def backward(self, dout):
        """dout: (N, M) -> dx: shape of x; sets grads W: (D, M), b: (M,)."""
        self.grads["W"] = self._x2.T @ dout
        self.grads["b"] = dout.sum(axis=0)
        return (dout @ self.params["W"].T).reshape(self._x_shape)
