"""The finite-difference oracle: VJPs of sum(f(x) * dout) by central differences, in float64.

For each tensor (an input or a param) the oracle estimates the directional
derivative of ``phi(s) = sum(f(x + s v) * dout)`` at s = 0:

* elementwise (v = unit vectors) when the tensor has at most ``max_elementwise``
  elements, giving the full gradient (and as the fallback when random
  directions keep crossing kinks);
* along ``n_directions`` random Gaussian directions otherwise, giving the
  projections <grad, v_k>, so the cost does not grow with the tensor's size.

Each estimate is Richardson-extrapolated from central differences at steps h,
h/2 and h/4, with h = 1e-3 * max(1, |x|) taken from the value's scale. An
estimate is *excused* (reported, never judged) when it does not behave like
the derivative of a smooth function: the two Richardson estimates disagree, or
the one-sided slopes keep differing as the step shrinks. That is what a kink
(ReLU at 0, near-equal maxima) inside the stencil looks like.
"""
from dataclasses import dataclass

import numpy as np

BASE_STEP = 1e-3
EPS = np.finfo(np.float64).eps


@dataclass
class FDGrad:
    """Finite-difference VJP of one tensor.

    mode "elementwise": ``values`` has the tensor's shape. mode "directional":
    ``values[k]`` estimates <grad, directions[k]>. ``excused`` flags estimates
    that crossed a kink.
    """

    mode: str
    values: np.ndarray
    excused: np.ndarray
    directions: np.ndarray = None

    @property
    def shape(self):
        """Shape of the tensor these estimates are of."""
        return self.values.shape if self.mode == "elementwise" else self.directions.shape[1:]

    def project(self, grad):
        """The analytic ``grad`` in this estimate's coordinates (itself, or its projections)."""
        grad = np.asarray(grad, np.float64)
        if self.mode == "elementwise":
            return grad
        return np.tensordot(self.directions, grad, axes=grad.ndim)


def _objective(fn, arrays, dout):
    out = np.asarray(fn(arrays), np.float64)
    terms = out * dout
    return float(terms.sum()), float(np.abs(terms).sum())


def _estimates(fn, arrays, name, dout, directions, steps):
    """Richardson estimates, convergence gaps and asymmetries along each direction."""
    base = arrays[name]
    f0, fabs = _objective(fn, arrays, dout)
    rows = []
    for v, h in zip(directions, steps):
        fp, fm = [], []
        for s in (h, h / 2, h / 4):
            fp.append(_objective(fn, {**arrays, name: base + s * v}, dout)[0])
            fm.append(_objective(fn, {**arrays, name: base - s * v}, dout)[0])
        d = [(fp[i] - fm[i]) / (2 * h / 2 ** i) for i in range(3)]
        r1, r2 = (4 * d[1] - d[0]) / 3, (4 * d[2] - d[1]) / 3
        asym = [abs((fp[i] - f0) - (f0 - fm[i])) / (h / 2 ** i) for i in range(3)]
        noise = 8 * EPS * max(fabs, abs(f0)) / (h / 4)
        rows.append((r2, abs(r1 - r2), asym[1], asym[2], noise))
    return np.array(rows).reshape(len(directions), 5)


def _excuse(rows):
    r2, gap, asym_half, asym_quarter, noise = rows.T
    gscale = max(np.abs(r2).max(initial=0.0), 1e-12)
    floor = 1e-6 * (np.abs(r2) + gscale) + 10 * noise
    unconverged = gap > floor
    one_sided = (asym_quarter > floor) & (asym_quarter > 0.75 * asym_half)
    return unconverged | one_sided


def fd_vjp(fn, arrays, dout, *, rng, names=None, max_elementwise=128, n_directions=6,
           fallback_elementwise=1024):
    """Finite-difference VJPs of ``fn`` for each array in ``names`` (default: all).

    fn: maps a dict name -> float64 array to the output array (it must not
    redraw randomness between calls). arrays: the point, cast to float64 here.
    dout: the upstream gradient, same shape as fn's output. rng: a
    ``np.random.Generator`` for the random directions. Returns name -> FDGrad.

    A random direction moves every element at once, so one kink anywhere in
    the tensor (a near-tie in one pooling window) spoils every direction. When
    more than half the directions are excused and the tensor has at most
    ``fallback_elementwise`` elements, the estimate is redone elementwise,
    where a kink excuses only the elements that sit on it.
    """
    arrays = {k: np.array(v, dtype=np.float64) for k, v in arrays.items()}
    dout = np.asarray(dout, np.float64)
    out = {}
    for name in names or list(arrays):
        x = arrays[name]
        if x.size > max_elementwise:
            dirs = rng.standard_normal((n_directions,) + x.shape)
            rms = float(np.sqrt(np.mean(x ** 2))) if x.size else 0.0
            steps = np.full(n_directions, BASE_STEP * max(1.0, rms))
            rows = _estimates(fn, arrays, name, dout, dirs, steps)
            excused = _excuse(rows)
            if 2 * excused.sum() <= n_directions or x.size > fallback_elementwise:
                out[name] = FDGrad("directional", rows[:, 0], excused, dirs)
                continue
        dirs = np.eye(x.size).reshape((x.size,) + x.shape)
        steps = BASE_STEP * np.maximum(1.0, np.abs(x).ravel())
        rows = _estimates(fn, arrays, name, dout, dirs, steps)
        out[name] = FDGrad("elementwise", rows[:, 0].reshape(x.shape),
                           _excuse(rows).reshape(x.shape))
    return out
