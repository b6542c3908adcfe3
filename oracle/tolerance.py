"""The one tolerance table: keyed by the dtype under test and by the oracle.

An element passes when |actual - expected| <= atol * scale + rtol * |expected|,
where ``scale`` is max(1, max |expected|) over the tensor: absolute tolerance is
relative to the tensor's magnitude, never to its size. Registry entries may
override single values (``Tolerance.override``).
"""
from dataclasses import dataclass, replace

import numpy as np


@dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float

    def override(self, **kw):
        return replace(self, **kw)

    def allowed(self, expected, scale=None):
        """The error each element of ``expected`` may have: atol * scale + rtol * |expected|.

        ``scale`` defaults to :func:`scale_of` ``(expected)``. This is the one
        tolerance rule: every comparison, verdict and report page uses it.
        """
        b = np.asarray(expected, np.float64)
        finite = np.isfinite(b)
        scale = scale_of(b) if scale is None else scale
        return self.atol * scale + self.rtol * np.abs(np.where(finite, b, 0.0))


@dataclass(frozen=True, eq=False)
class WithSlack(Tolerance):
    """A tolerance plus ``slack`` per element: what an oracle's own estimate may be off by (a
    finite-difference estimate's round-off bound), so a layer is never failed for the
    oracle's imprecision. The slack is the oracle's measured error, not a looser rule."""

    slack: np.ndarray = None

    def allowed(self, expected, scale=None):
        return super().allowed(expected, scale) + self.slack


def scale_of(expected):
    """max(1, max |expected|) over the finite elements: absolute tolerance follows magnitude, not size."""
    b = np.asarray(expected, np.float64)
    return float(max(1.0, np.abs(b[np.isfinite(b)]).max(initial=0.0)))


# Oracles: "tf" is the GradientTape VJP of the TF twin (run in float64);
# "fd" is Richardson-extrapolated central differences in float64;
# "law" is an identity the layer must satisfy on its own (linearity, batch additivity).
TOLERANCES = {
    ("float64", "tf"): Tolerance(rtol=1e-7, atol=1e-9),
    ("float32", "tf"): Tolerance(rtol=2e-4, atol=2e-5),
    ("float64", "fd"): Tolerance(rtol=1e-5, atol=1e-7),
    ("float32", "fd"): Tolerance(rtol=3e-4, atol=3e-5),
    ("float64", "law"): Tolerance(rtol=1e-9, atol=1e-11),
    ("float32", "law"): Tolerance(rtol=3e-5, atol=3e-6),
}


def tolerance_for(dtype, oracle, overrides=None):
    """Tolerance for a tensor of ``dtype`` checked by ``oracle``, with a registry entry's overrides.

    ``overrides`` maps (dtype name, oracle) or oracle alone to a dict of rtol/atol.
    """
    if not overrides and (dtype, oracle) in _PLAIN:     # the common call, answered at once
        return _PLAIN[(dtype, oracle)]
    name = dtype_name(dtype)
    if (name, oracle) not in TOLERANCES:
        raise KeyError(f"no tolerance for dtype {name} and oracle {oracle!r}; "
                       f"known: {sorted(TOLERANCES)}")
    tol = TOLERANCES[(name, oracle)]
    if not overrides and isinstance(dtype, str):
        _PLAIN[(dtype, oracle)] = tol
    for key in (oracle, (name, oracle)):
        if overrides and key in overrides:
            tol = tol.override(**overrides[key])
    return tol


_PLAIN = {}     # (dtype as given, a string; oracle) -> its tolerance, no overrides
_NAMES = {}


def dtype_name(dtype):
    """``np.dtype(dtype).name``, remembered for the few dtypes a run meets (the lookup costs
    more than a small comparison)."""
    try:
        return _NAMES[dtype]
    except (KeyError, TypeError):
        name = np.dtype(dtype).name
        try:
            _NAMES[dtype] = name
        except TypeError:      # an unhashable dtype-like: not remembered
            pass
        return name


def error_ratio(actual, expected, tol, excused=None):
    """The rule, elementwise: (|actual - expected|, its ratio to what is allowed, the scale).

    Both arrays have one shape; ``expected`` is the oracle's. A non-finite
    oracle value is matched only by the identical value; a NaN error is
    infinite. An element passes at ratio <= 1. The scale is the judged elements' (``excused``:
    those not judged, whose estimates across a jump, 1/h, would widen every other's bar).
    """
    a = np.asarray(actual, np.float64)
    b = np.asarray(expected, np.float64)
    finite_b = np.isfinite(b)
    scale = scale_of(b if excused is None or not np.any(excused) else b[~np.asarray(excused, bool)])
    allowed = tol.allowed(b, scale)
    with np.errstate(invalid="ignore", over="ignore"):    # inf - inf, inf / inf: said below
        err = np.abs(a - b)
        err = np.where(~finite_b & (a == b), 0.0, err)
        err = np.where(np.isnan(err), np.inf, err)
        ratio = np.divide(err, allowed, out=np.where(err > 0, np.inf, 0.0), where=allowed > 0)
    ratio = np.where(np.isnan(ratio), np.inf, ratio)
    return err, ratio, scale
