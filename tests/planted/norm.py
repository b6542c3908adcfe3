"""Broken variants of BatchNorm, Dropout and Sequential; each docstring names its one bug.

The layers are registered as planted entries (found by name by ``properties.search``);
the stacks are swapped into drawn networks through a spec's ``"classes"``
(``"tests.planted.norm:SequentialBackwardInForwardOrder"``).
"""
import numpy as np
from hypothesis import strategies as st

import layers as L
from layers.norm import _normalise
from properties.catalog.core import SHAPES
from properties.catalog.norm import (BATCH_MASK, BATCH_STATISTICS, RUNNING, batch_norm,
                                     trained_statistics)
from tests.planted.core import _as
from properties.registry import Entry, register


class BatchNormConstantStats(L.BatchNorm):
    """Bug: training backward treats the batch mean and variance as constants: dx = dout * gamma / std."""

    def backward(self, dout):
        dx = super().backward(dout)
        if self._training_pass:
            gamma = self.params["gamma"].reshape(self._bshape)
            dx = (dout * gamma * self._inv_std).astype(dout.dtype)
        return dx


class BatchNormWrongAxis(L.BatchNorm):
    """Bug: training statistics over each sample's features (axes 1, 2, ...) instead of over the batch.

    Its backward is the correct derivative of that wrong forward.
    """

    def forward(self, x):
        if not self.training:
            return super().forward(x)
        self._axes, self._bshape = (0, *range(2, x.ndim)), (1, -1) + (1,) * (x.ndim - 2)
        self._stat_axes = tuple(range(1, x.ndim))
        self._xhat, _, _, self._inv_std = _normalise(x, self._stat_axes, self.eps)
        self._training_pass = True
        gamma, beta = (self.params[k].reshape(self._bshape) for k in ("gamma", "beta"))
        return (gamma * self._xhat + beta).astype(x.dtype)

    def backward(self, dout):
        if not self._training_pass:
            return super().backward(dout)
        d = dout.astype(np.float64)
        self.grads["gamma"] = (d * self._xhat).sum(axis=self._axes).astype(self.params["gamma"].dtype)
        self.grads["beta"] = d.sum(axis=self._axes).astype(self.params["beta"].dtype)
        dxhat = d * self.params["gamma"].reshape(self._bshape)
        a = self._stat_axes
        dx = self._inv_std * (dxhat - dxhat.mean(axis=a, keepdims=True)
                              - self._xhat * (dxhat * self._xhat).mean(axis=a, keepdims=True))
        return dx.astype(dout.dtype)


class DropoutMissingScale(L.Dropout):
    """Bug: backward returns dout * mask, forgetting the 1 / (1 - p) the forward applied."""

    def backward(self, dout):
        if not self._training_pass:
            return dout.copy()
        return dout * self.mask.astype(dout.dtype)


class DropoutActiveInEval(L.Dropout):
    """Bug: ignores ``training``: still drops and scales units in evaluation."""

    def forward(self, x):
        was, self.training = self.training, True
        try:
            return super().forward(x)
        finally:
            self.training = was


class BatchNormRunningVarMomentum(L.BatchNorm):
    """Bug: the running variance is updated with the momentum's weights swapped
    (``momentum * batch + (1 - momentum) * running``); the running mean is right."""

    def forward(self, x):
        before = self.running_var.copy()
        out = super().forward(x)
        if self.training:
            var = x.astype(np.float64).var(axis=self._axes)
            m = self.momentum
            self.running_var = ((1 - m) * before + m * var).astype(before.dtype)
        return out


class BatchNormTorchRunningStats(L.BatchNorm):
    """Not a bug: PyTorch's convention for the running statistics, followed throughout
    (momentum weighs the new batch; the running variance gets the unbiased batch variance)."""

    def forward(self, x):
        mean0, var0 = self.running_mean.copy(), self.running_var.copy()
        out = super().forward(x)
        if self.training:
            xs, m = x.astype(np.float64), self.momentum
            count = xs.size / xs.shape[1]
            self.running_mean = ((1 - m) * mean0 + m * xs.mean(axis=self._axes)).astype(mean0.dtype)
            unbiased = xs.var(axis=self._axes) * count / (count - 1)
            self.running_var = ((1 - m) * var0 + m * unbiased).astype(var0.dtype)
        return out


class BatchNormTrainingOnlyBackward(L.BatchNorm):
    """Not a bug: like the course layers, backward is written for training mode only and
    raises after an inference-mode forward (its entry says so with ``backward_modes``)."""

    def backward(self, dout):
        if not self._training_pass:
            raise NotImplementedError("batch norm backward is written for training mode only")
        return super().backward(dout)


class SequentialBackwardInForwardOrder(L.Sequential):
    """Bug: backward runs the layers' backward from the first layer to the last."""

    def backward(self, dout=1.0):
        if self._last == "loss":
            dout = self.loss.backward(dout)
        for layer in self.layers:
            dout = layer.backward(dout)
        return dout


class SequentialCopiesParams(L.Sequential):
    """Bug: ``params`` is a dict of copies taken at construction, so updates never reach the layers."""

    def __init__(self, layers, loss=None):
        super().__init__(layers, loss)
        self.params = {k: np.array(v, copy=True) for k, v in self.params.items()}




BN = st.fixed_dictionaries({"channels": st.integers(1, 4), "eps": st.just(1e-5), "momentum": st.just(0.9)})
DROPOUT = st.fixed_dictionaries({"shape": SHAPES.map(lambda c: c["shape"]),
                                 "p": st.sampled_from([0.25, 0.5])})


def dropout(config, rng, dtype):
    return L.Dropout(config["p"], rng=rng)


for entry in [
    Entry("planted.BatchNormConstantStats", _as(BatchNormConstantStats, batch_norm),
          BN, input_shapes=lambda c, n: [(n, c["channels"])], state=trained_statistics,
          batch_rule=BATCH_STATISTICS, training_modes=(True, False)),
    Entry("planted.BatchNormWrongAxis", _as(BatchNormWrongAxis, batch_norm),
          BN, input_shapes=lambda c, n: [(n, c["channels"])], state=trained_statistics,
          batch_rule=BATCH_STATISTICS, training_modes=(True, False)),
    Entry("planted.BatchNormRunningVarMomentum", _as(BatchNormRunningVarMomentum, batch_norm),
          BN, input_shapes=lambda c, n: [(n, c["channels"])], state=trained_statistics,
          batch_rule=BATCH_STATISTICS, training_modes=(True, False), running_stats=RUNNING),
    Entry("planted.BatchNormTorchRunningStats", _as(BatchNormTorchRunningStats, batch_norm),
          BN, input_shapes=lambda c, n: [(n, c["channels"])], state=trained_statistics,
          batch_rule=BATCH_STATISTICS, training_modes=(True, False), running_stats=RUNNING),
    Entry("planted.BatchNormTrainingOnlyBackward", _as(BatchNormTrainingOnlyBackward, batch_norm),
          BN, input_shapes=lambda c, n: [(n, c["channels"])], state=trained_statistics,
          batch_rule=BATCH_STATISTICS, training_modes=(True, False), backward_modes=(True,)),
    Entry("planted.DropoutMissingScale", _as(DropoutMissingScale, dropout), DROPOUT,
          batch_rule=BATCH_MASK, training_modes=(True, False)),
    Entry("planted.DropoutActiveInEval", _as(DropoutActiveInEval, dropout), DROPOUT,
          batch_rule=BATCH_MASK, training_modes=(True, False)),
]:
    register(entry, planted=__name__)
