"""Faults for the verdicts themselves: each layer here makes the harness choose a verdict.

Crashes of every kind (a KeyError from a typo, a RuntimeError, a ZeroDivisionError,
a NameError), a crash on one region of inputs with a wrong derivative elsewhere, a
naive float32 softplus and a stable one that still trips NumPy's overflow flag,
randomness from NumPy's global state and from an unseeded generator, an in-place
write to dout, broadcast nodes, a one-pass variance that float32 cannot resolve,
a loss returning a Python float and a broken TF twin. Each docstring says what the
harness must conclude; tests/test_faults.py asserts it.
"""
import numpy as np
from hypothesis import strategies as st

import layers as L
from oracle.tf_runtime import tf
from oracle.twins_norm import dropout as dropout_twin
from properties.catalog.core import SHAPES, stateless
from properties.catalog.norm import layer_norm_configs, layer_norm
from properties.registry import Entry, register

BATCH_MASK = "the tutorial's dropout draws one mask for the whole batch from one stream"


class KeyErrorInBackward(L.Sigmoid):
    """Crash: a typo in a cache key (KeyError) in backward. Every property that runs backward
    fails with "layer raised" at this file's line; forward_tf passes."""

    def forward(self, x):
        self._cache = {"out": super().forward(x)}
        return self._cache["out"]

    def backward(self, dout):
        y = self._cache["y"]
        return dout * y * (1 - y)


class RuntimeErrorInForward(L.ReLU):
    """Crash: forward raises RuntimeError. Every property fails with "layer raised"."""

    def forward(self, x):
        raise RuntimeError("this layer's forward is not written yet")


class ZeroDivisionInBackward(L.Tanh):
    """Crash: backward divides by a Python int that is 0 (ZeroDivisionError)."""

    def backward(self, dout):
        scale = 1 / (dout.ndim - dout.ndim)
        return super().backward(dout) * scale


class NameErrorInForward(L.Sigmoid):
    """Crash: forward uses a name that does not exist (NameError)."""

    def forward(self, x):
        return super().forward(x) * temperature  # noqa: F821  (the fault)


class CrashOnBatchOneWrongElsewhere(L.Sigmoid):
    """Crash on one region (batch 1, an 'unbatched' input), a wrong derivative everywhere
    else (y (1 + y)): both must be reported."""

    def forward(self, x):
        if x.shape[0] == 1:
            raise ValueError("expected a batch of at least 2 samples")
        return super().forward(x)

    def backward(self, dout):
        return dout * self._out * (1 + self._out)


class NaiveSoftplus(L.Layer):
    """Overflow: log(1 + exp(x)) is inf once exp(x) overflows (x > 88.7 in float32, 709.8
    in float64); forward_tf fails on every draw of the overflow kind, with NumPy's event noted.
    The backward dout / (1 + exp(-x)) is right (exp overflows to inf, 1/inf = 0)."""

    def forward(self, x):
        self._x = x
        return np.log(1 + np.exp(x))

    def backward(self, dout):
        return dout / (1 + np.exp(-self._x))


class StableSoftplus(L.Layer):
    """Correct and stable, but computes both branches of a where: NumPy reports overflow in
    the discarded branch. Every property passes; the event is noted, never a failure."""

    def forward(self, x):
        self._x = x
        return np.where(x > 0, x + np.log1p(np.exp(-x)), np.log1p(np.exp(x)))

    def backward(self, dout):
        x = self._x
        return dout * np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x)))


def softplus_twin(layer, x):
    return tf().nn.softplus(x)


class TutorialDropout(L.Layer):
    """The tutorials' dropout: its mask comes from NumPy's global state (np.random.rand).
    The harness seeds that state before every forward, checks the layer, and says so."""

    def __init__(self, p):
        super().__init__()
        self.p, self.mask = p, None

    def draw(self, shape):
        return np.random.rand(*shape)

    def forward(self, x):
        if not self.training:
            return x.copy()
        self.mask = self.draw(x.shape) >= self.p
        return x * self.mask / (1 - self.p)

    def backward(self, dout):
        return dout * self.mask / (1 - self.p) if self.training else dout.copy()


class UnseededDropout(TutorialDropout):
    """Not a function of its inputs: a fresh unseeded generator per forward. grads_fd says
    "not deterministic" plainly; the TF checks (the twin uses the layer's own mask) pass."""

    def draw(self, shape):
        return np.random.default_rng().random(shape)


class ReLUOverwritesDout(L.ReLU):
    """Writes into the caller's dout, otherwise right: only no_mutation fails."""

    def backward(self, dout):
        np.multiply(dout, self._mask, out=dout)
        return dout


class BroadcastAdd(L.Add):
    """Correct: out = x + y with y of shape (D,) broadcast over the batch; dy sums over it."""

    def forward(self, x, y):
        return x + y

    def backward(self, dout):
        return dout.copy(), dout.sum(axis=0)


class BroadcastMul(L.Mul):
    """Correct: out = x * y with y of shape (D,) broadcast over the batch."""

    def forward(self, x, y):
        self._x, self._y = x, y
        return x * y

    def backward(self, dout):
        return dout * self._y, (dout * self._x).sum(axis=0)


class OnePassLayerNorm(L.LayerNorm):
    """Correct maths, computed in the input's dtype with var = E[x^2] - E[x]^2: in float32,
    inputs with a large mean lose the variance to round-off. The float64 copy passes, so the
    verdict is "float32 precision", a warning, not a layer bug."""

    def forward(self, x):
        k = len(self.normalized_shape)
        self._axes = tuple(range(x.ndim - k, x.ndim))
        mean = x.mean(axis=self._axes, keepdims=True)
        var = np.maximum((x * x).mean(axis=self._axes, keepdims=True) - mean * mean, 0)
        self._inv_std = 1 / np.sqrt(var + x.dtype.type(self.eps))
        self._xhat = (x - mean) * self._inv_std
        return self.params["gamma"] * self._xhat + self.params["beta"]

    def backward(self, dout):
        lead = tuple(range(dout.ndim - len(self.normalized_shape)))
        self.grads["gamma"] = (dout * self._xhat).sum(axis=lead)
        self.grads["beta"] = dout.sum(axis=lead)
        dxhat, xhat, axes = dout * self.params["gamma"], self._xhat, self._axes
        return self._inv_std * (dxhat - dxhat.mean(axis=axes, keepdims=True)
                                - xhat * (dxhat * xhat).mean(axis=axes, keepdims=True))


class MSEReturnsFloat(L.MSE):
    """Correct: the loss value is a Python float (the common convention); shapes_dtypes passes."""

    def forward(self, x, t):
        return float(super().forward(x, t))


def broken_twin(layer, x):
    """A TF twin with a bug of its own: the harness's fault, never the layer's."""
    raise RuntimeError("twin bug: forgot to write this twin")


def _as(cls, build):
    def make(config, rng, dtype):
        layer = build(config, rng, dtype)
        layer.__class__ = cls
        return layer
    return make


def mse_targets(config, n, rng, dtype):
    return (rng.standard_normal((n, *config["shape"])).astype(dtype),)


def broadcast_shapes(config, n):
    return [(n, *config["shape"]), tuple(config["shape"])]


DROPOUT = st.fixed_dictionaries({"shape": SHAPES.map(lambda c: c["shape"]),
                                 "p": st.sampled_from([0.25, 0.5])})
FEATURES = st.integers(1, 4).map(lambda d: {"shape": (d,)})

ENTRIES = [
    Entry("faults.KeyErrorInBackward", stateless(KeyErrorInBackward), SHAPES),
    Entry("faults.RuntimeErrorInForward", stateless(RuntimeErrorInForward), SHAPES),
    Entry("faults.ZeroDivisionInBackward", stateless(ZeroDivisionInBackward), SHAPES),
    Entry("faults.NameErrorInForward", stateless(NameErrorInForward), SHAPES),
    Entry("faults.CrashOnBatchOneWrongElsewhere", stateless(CrashOnBatchOneWrongElsewhere), SHAPES),
    Entry("faults.NaiveSoftplus", stateless(NaiveSoftplus), SHAPES, twin=softplus_twin),
    Entry("faults.StableSoftplus", stateless(StableSoftplus), SHAPES, twin=softplus_twin),
    Entry("faults.TutorialDropout", lambda c, rng, dtype: TutorialDropout(c["p"]), DROPOUT,
          twin=dropout_twin, batch_rule=BATCH_MASK, training_modes=(True, False)),
    Entry("faults.UnseededDropout", lambda c, rng, dtype: UnseededDropout(c["p"]),
          st.just({"shape": (3, 4), "p": 0.5}),
          twin=dropout_twin, batch_rule=BATCH_MASK, training_modes=(True,)),
    Entry("faults.ReLUOverwritesDout", stateless(ReLUOverwritesDout), SHAPES),
    Entry("faults.BroadcastAdd", stateless(BroadcastAdd), FEATURES, input_shapes=broadcast_shapes),
    Entry("faults.BroadcastMul", stateless(BroadcastMul), FEATURES, input_shapes=broadcast_shapes),
    Entry("faults.OnePassLayerNorm", _as(OnePassLayerNorm, layer_norm), layer_norm_configs()),
    Entry("faults.MSEReturnsFloat", stateless(MSEReturnsFloat), SHAPES, targets=mse_targets,
          batch_rule="mean"),
    Entry("faults.TwinRaises", stateless(L.Sigmoid), SHAPES, twin=broken_twin),
]
for entry in ENTRIES:
    register(entry, planted=__name__)
