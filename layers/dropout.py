"""Inverted dropout with its mask drawn from an injected generator."""
import numbers

import numpy as np

from layers.base import Layer, check_input


class Dropout(Layer):
    """Zero each unit with probability ``p`` in training; scale the kept ones by 1 / (1 - p).

    x: (N, ...) -> out: same shape. The mask (``self.mask``, bool, shape of x, True
    where kept) is drawn in forward as ``rng.random(x.shape) >= p``: float64
    uniforms whatever x's dtype, so a copy of the layer with a copy of ``rng``
    draws the same mask. In evaluation the layer is the identity and draws nothing.
    """

    def __init__(self, p=0.5, *, rng):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p < 1:
            raise ValueError(f"Dropout: p must be a number in [0, 1), got {p!r}")
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"Dropout: rng must be a numpy.random.Generator "
                            f"(np.random.default_rng(seed)), got {type(rng).__name__}")
        self.p, self.rng = float(p), rng
        self.mask = None

    def forward(self, x):
        check_input(self, "x", x)
        self._training_pass = self.training
        if not self.training:
            return x.copy()
        self.mask = self.rng.random(x.shape) >= self.p
        self._keep = self.mask.astype(x.dtype) * x.dtype.type(1 / (1 - self.p))
        return x * self._keep

    def backward(self, dout):
        """dout: shape of x -> dx = dout * mask / (1 - p) (training), dout (evaluation)."""
        if not self._training_pass:
            return dout.copy()
        return dout * self._keep.astype(dout.dtype, copy=False)
