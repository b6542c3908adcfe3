"""Confirm a candidate twin for a user's layer by running both forwards on the same inputs.

A :class:`Probe` runs the layer's forward once, on a deep copy (the user's
object is never touched) with float64 copies of the inputs and params; each
candidate twin then runs on that same copy (so it sees the very dropout mask
and running statistics the forward left there) and must agree with the
layer's output at the float64 TF tolerance. Only a confirmed candidate is a
match: a name or a param shape alone never is.
"""
import copy
from dataclasses import dataclass
from typing import Callable

import numpy as np

from oracle.compare import compare
from oracle.tape import OracleError, tape_forward


@dataclass(frozen=True)
class TwinMatch:
    """A TF twin confirmed for a user's layer.

    twin: ``twin(layer, *inputs, *targets, **params) -> tf.Tensor`` (params by
    the user's names, float64, hyperparameters read off ``layer`` at call time).
    kind: what the layer is ("dense", "conv2d", "batch_norm", ...). how: one
    line saying which variant matched and where its hyperparameters come from.
    convention: a convention the layer follows that differs from the usual one
    ("non-inverted dropout: ..."), "" when none.
    """

    twin: Callable
    kind: str
    how: str
    convention: str = ""


class ProbeError(Exception):
    """The layer itself could not be run on the given inputs."""


class Probe:
    """The layer's forward on a deep copy, in float64: what every candidate twin must reproduce."""

    def __init__(self, layer, inputs, targets=(), *, name):
        self.name = name
        try:
            self.layer = copy.deepcopy(layer)
        except Exception as exc:
            raise ProbeError(f"{name}: cannot deep-copy the layer ({type(exc).__name__}: {exc})") from exc
        self.inputs = tuple(_float64(x) for x in inputs)
        self.targets = tuple(np.asarray(t) for t in targets)
        self.dtype = np.float64
        try:
            params = self.layer.params
        except RuntimeError:               # an AttributeLayer that finds its params on the first forward
            self._forward()
            params = self.layer.params
        floats = [np.asarray(v).dtype for v in params.values() if np.asarray(v).dtype.kind == "f"]
        if floats and all(d == np.float32 for d in floats):
            # a layer that keeps float32 params computes in float32 whatever it is given (a
            # forward casting x to float32): judged at float32's tolerance
            self.dtype = np.float32
        for key in list(params):
            value = np.asarray(params[key])
            if value.dtype.kind == "f" and value.dtype != np.float64:
                try:
                    params[key] = value.astype(np.float64)
                except Exception:
                    self.dtype = value.dtype
        self.out = self._forward()
        self.params = {k: np.asarray(v) for k, v in self.layer.params.items()}

    def _forward(self):
        try:
            with np.errstate(all="ignore"):   # a probe's extreme scores (log(0)): no warnings
                out = self.layer.forward(*self.inputs, *self.targets)
        except Exception as exc:
            raise ProbeError(f"{self.name}: forward raised on the probe inputs: "
                             f"{type(exc).__name__}: {exc}") from exc
        if out is None:
            raise ProbeError(f"{self.name}: forward returned None")
        if isinstance(out, tuple):          # several outputs (an LSTM step's (h, c))
            return tuple(np.asarray(o) for o in out)
        return np.asarray(out)

    def confirms(self, match):
        """True when ``match.twin``'s forward equals the layer's at the TF tolerance."""
        try:
            expected = tape_forward(match.twin, self.layer, self.inputs, self.params, self.targets,
                                    name=self.name)
        except OracleError:
            return False
        outs = self.out if isinstance(self.out, tuple) else (self.out,)
        wants = expected if isinstance(expected, tuple) else (expected,)
        if isinstance(self.out, tuple) != isinstance(expected, tuple) or len(outs) != len(wants):
            return False
        return all(self._agrees(out, want) for out, want in zip(outs, wants))

    def _agrees(self, out, expected):
        if out.dtype.kind not in "fiu":
            return False
        dtype = out.dtype if out.dtype.kind == "f" else self.dtype
        dtype = np.float32 if np.dtype(dtype) == np.float32 or np.dtype(self.dtype) == np.float32 \
            else np.float64
        result = compare(out, expected, layer=self.name, prop="twin_match", tensor="out",
                         oracle="tf", dtype=dtype)
        return result.passed


def _float64(x):
    a = np.asarray(x)
    return a.astype(np.float64) if a.dtype.kind == "f" else a
