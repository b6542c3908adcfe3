"""Broken optimizers and a layer that learns slowly; each docstring names its one bug.

The optimizers keep the constructor and the declared configuration of the
class they break, so the Keras twin is built for what they claim to be.
``DenseTimidInit`` is registered as a planted entry: its forward and backward
agree, so every gradient property passes; only the golden loss curve of the
reference training run can catch it.
"""
import numpy as np
from hypothesis import strategies as st

import layers as L
from layers import optimizers as O
from properties.registry import Entry, register
from properties.strategies import feature_sizes, trailing_shapes


class AdamNoBiasCorrection(O.Adam):
    """Bug: claims bias_correction=True but steps by lr * m / (sqrt(v) + eps)."""

    def _update(self, p, g, slots, lr):
        b1, b2 = self.beta1, self.beta2
        slots["m"] = b1 * slots["m"] + (1 - b1) * g
        slots["v"] = b2 * slots["v"] + (1 - b2) * g * g
        p -= lr * slots["m"] / (np.sqrt(slots["v"]) + self.eps)


class SGDRebinds(O.SGD):
    """Bug: ``params[k] = params[k] - lr * g`` rebinds the entry to a new array (not in place)."""

    def step(self, params, grads):
        self.t += 1
        for k in list(params):
            params[k] = params[k] - self.lr * grads[k]


class MomentumForgetsVelocity(O.Momentum):
    """Bug: the velocity is not kept between steps (recreated as zeros at every step)."""

    def step(self, params, grads):
        self.slots = {}
        super().step(params, grads)


class AdamCounterPerParam(O.Adam):
    """Bug: the step counter advances once per parameter, not once per step.

    With one param this is the correct Adam; with two, the second param's bias
    correction uses t = 2 at the first step, and so on.
    """

    def step(self, params, grads):
        names = self._checked_names(params, grads)
        lr = self.lr
        for name in names:
            self.t += 1
            p = params[name]
            self._update(p, np.asarray(grads[name]), self._slots_for(name, p), lr)


class AdamStateNotCheckpointed(O.Adam):
    """Bug: get_state() saves the counters but not the moments, so a resumed run restarts them."""

    def get_state(self):
        return {**super().get_state(), "slots": {}}


class DenseTimidInit(L.Dense):
    """Bug (learning, not gradients): weights start at half the He scale (seed 000 starts at a
    fixed ``weight_init_std = 0.01``). Forward and backward are consistent; the network still
    learns (over 90% on the digits), only more slowly."""

    def __init__(self, in_features, out_features, *, rng, init="he", dtype=np.float64):
        super().__init__(in_features, out_features, rng=rng, init=init, dtype=dtype)
        self.params["W"] *= 0.5


class DenseIgnoresBias(L.Dense):
    """Bug (forward): out = x @ W, the bias left out (backward still writes db). Invisible while
    b is zero, as it is at initialisation: the reference run parts from its twin one step later."""

    def forward(self, x):
        return super().forward(x) - self.params["b"]


def _timid_dense(config, rng, dtype):
    layer = DenseTimidInit(int(np.prod(config["shape"])), config["out"], rng=rng, dtype=dtype)
    layer.params["b"] = rng.standard_normal(config["out"]).astype(dtype)
    return layer


register(Entry("planted.DenseTimidInit", _timid_dense,
               st.fixed_dictionaries({"shape": trailing_shapes(max_side=4), "out": feature_sizes()})),
         planted=__name__)
