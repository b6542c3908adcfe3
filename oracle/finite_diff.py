"""The finite-difference oracle: VJPs of sum(f(x) * dout) by central differences, in float64.

For each tensor (an input or a param) the oracle estimates the directional
derivative of ``phi(s) = sum(f(x + s v) * dout)`` at s = 0:

* elementwise (v = unit vectors) when the tensor has at most ``max_elementwise``
  elements, giving the full gradient;
* along ``n_directions`` random directions otherwise, giving the
  projections <grad, v_k>, so the cost does not grow with the tensor's size.

Each estimate is Richardson-extrapolated from central differences at steps h,
h/2 and h/4, with h = 1e-3 * max(1, |x|) taken from the value's scale. An
estimate is *excused* (reported, never judged) when it does not behave like
the derivative of a smooth function: the two Richardson estimates disagree, or
the one-sided slopes keep differing as the step shrinks (a kink: ReLU at 0,
near-equal maxima), or it is not finite where phi is (a step out of the forward's domain).

A random direction moves every element at once, so on a large tensor with
many kinks (a ReLU layer at 10k inputs) every dense direction crosses one. An
excused direction is redrawn on a random subset of the coordinates: first on a
ladder of ever smaller subsets, then at the largest size judged, at most
``max_rounds`` rounds; what none judged is reported as not judged, never failed.
"""
from dataclasses import dataclass

import numpy as np

BASE_STEP = 1e-3
MIN_JOINT_STEP = 1e-8
JOINT_MARGIN = 0.5   # a joint share within half its tolerance (a zero gradient's, the others' error)
EPS = np.finfo(np.float64).eps
SHRINK = 8        # each step down the ladder keeps 1/SHRINK of the coordinates
# Elementwise costs 6 evaluations per element, a direction 6 in all: beyond a few dozen
# elements (a bias), six random directions judge the tensor for a fraction of the cost.
MAX_ELEMENTWISE = 16


@dataclass
class FDGrad:
    """Finite-difference VJP of one tensor.

    mode "elementwise": ``values`` has the tensor's shape. mode "directional":
    ``values[k]`` estimates <grad, directions[k]>, and ``support[k]`` is how many
    coordinates direction k moves (fewer than all when it was redrawn around a
    kink). ``excused`` flags estimates that crossed a kink.
    """

    mode: str
    values: np.ndarray
    excused: np.ndarray
    directions: np.ndarray = None
    support: np.ndarray = None
    joint: bool = False      # from the joint first pass (``fd_joint``): values lean on the claims
    noise: np.ndarray = None   # per estimate: the round-off its differences may carry (a bound)

    @property
    def shape(self):
        """Shape of the tensor these estimates are of."""
        return self.values.shape if self.mode == "elementwise" else self.directions.shape[1:]

    @property
    def judged(self):
        """True when at least one estimate could be judged (or there is nothing to estimate)."""
        return self.excused.size == 0 or not bool(self.excused.all())

    def project(self, grad):
        """The analytic ``grad`` in this estimate's coordinates (itself, or its projections)."""
        grad = np.asarray(grad, np.float64)
        return grad if self.mode == "elementwise" else _projections(self.directions, grad)

    def against(self, grad):
        """(grad's side, the estimates' side, excused) to compare ``grad`` with these: its
        projections; or, of another shape, itself against every element's estimate
        (elementwise: a transpose shows) or zeros of the right shape (directional)."""
        if np.shape(grad) == self.shape:
            return self.project(grad), self.values, self.excused
        return grad, self.values if self.mode == "elementwise" else np.zeros(self.shape), None


class _Stencil:
    """phi(point) = sum(fn(arrays with ``name`` at point) * dout), and the Richardson row of
    one direction: (estimate, convergence gap, asymmetry at h/2 and h/4, round-off noise).
    ``name`` None: ``moved(s)`` gives every array it moves by name (a joint direction)."""

    def __init__(self, fn, arrays, name, dout, f0, fabs):
        self.fn, self.arrays, self.name, self.dout = fn, arrays, name, dout
        self.f0, self.fabs = f0, fabs   # phi and sum |f * dout| at the unmoved point

    def phi(self, point):
        moved = point if self.name is None else {self.name: point}
        out = np.asarray(self.fn({**self.arrays, **moved}), np.float64)
        if out.shape != self.dout.shape:    # (broadcast, as the product would: said elsewhere)
            return float((out * self.dout).sum())
        return float(np.vdot(out, self.dout))     # one pass, no product array

    def first(self, moved, h):
        """The central difference at step h alone (2 evaluations), and the evaluations made,
        for ``row`` to go on from."""
        fp, fm = self.phi(moved(h)), self.phi(moved(-h))
        return (fp - fm) / (2 * h), ([fp], [fm])

    def row(self, moved, h, done=None):
        """``moved(s)`` is a fresh array: the point moved by s along the direction.
        ``done``: the evaluations already made at the first steps of h, h/2, h/4 (lists of
        phi at +s and at -s, in that order; not made again)."""
        fp, fm = done or ([], [])
        fp = fp + [self.phi(moved(h / 2 ** i)) for i in range(len(fp), 3)]
        fm = fm + [self.phi(moved(-h / 2 ** i)) for i in range(len(fm), 3)]
        d = [(fp[i] - fm[i]) / (2 * h / 2 ** i) for i in range(3)]
        r1, r2 = (4 * d[1] - d[0]) / 3, (4 * d[2] - d[1]) / 3
        asym = [abs((fp[i] - self.f0) - (self.f0 - fm[i])) / (h / 2 ** i) for i in range(3)]
        noise = 8 * EPS * max(self.fabs, abs(self.f0)) / (h / 4)
        return r2, abs(r1 - r2), asym[1], asym[2], noise


def _excuse(rows, f0=0.0):
    r2, gap, asym_half, asym_quarter, noise = rows.T
    finite = np.isfinite(rows).all(axis=1)
    gscale = max(np.abs(r2[finite]).max(initial=0.0), 1e-12)
    floor = 1e-6 * (np.abs(r2) + gscale) + 10 * noise
    with np.errstate(invalid="ignore"):
        unconverged = gap > floor
        one_sided = (asym_quarter > floor) & (asym_quarter > 0.75 * asym_half)
    return unconverged | one_sided | (~finite & np.isfinite(f0))    # (NaN at f0: said elsewhere)


def _elementwise(stencil, x):
    """Every coordinate's estimate; each evaluation moves one element of a fresh copy of x
    (no identity matrix, and a forward that writes into its input cannot spoil the next)."""
    flat = x.reshape(-1)
    rows = []
    for i in range(x.size):
        def moved(s, i=i):
            point = x.copy()
            point.reshape(-1)[i] += s
            return point
        rows.append(stencil.row(moved, BASE_STEP * max(1.0, abs(float(flat[i])))))
    rows = np.array(rows).reshape(x.size, 5)
    return FDGrad("elementwise", rows[:, 0].reshape(x.shape),
                  _excuse(rows, stencil.f0).reshape(x.shape),
                  noise=rows[:, 4].reshape(x.shape))


def _entries(rng, n, out=None):
    """``n`` independent entries uniform over the odd multiples of 2**-15 in (-1, 1): never 0,
    symmetric, and made from the generator's raw 64-bit words, four 16-bit integers each
    (a third of the cost of ``rng.integers``, a tenth of Gaussian draws, which at 100k inputs
    cost more than the layer's forward). Any continuous-like law will do: what matters is
    that a wrong gradient's error projects to 0 only with negligible probability. ``out``: a
    float64 array of n elements to write them into (returned)."""
    ints = rng.bit_generator.random_raw(-(-n // 4)).view(np.int16)[:n]
    np.bitwise_or(ints, 1, out=ints)      # odd: -32767 ... 32767, each from two integers
    return np.multiply(ints, 2.0 ** -15, out=out)


def _direction(rng, x, k):
    """A random direction on ``k`` random coordinates of x (all of them when k == x.size)."""
    if k >= x.size:
        return _entries(rng, x.size).reshape(x.shape)
    v = np.zeros(x.size)
    v[rng.choice(x.size, size=k, replace=False)] = _entries(rng, k)
    return v.reshape(x.shape)


def _projections(directions, grad):
    """<directions[k], grad> for every k."""
    return directions.reshape(len(directions), -1) @ grad.reshape(-1)


def _rms_moved(x, v):
    """Root mean square of x where ``v`` moves it (all of x for a dense direction)."""
    moved = x if np.count_nonzero(v) == v.size else x[v != 0]
    return float(np.sqrt(np.mean(moved ** 2))) if moved.size else 0.0


def _next_support(support, rank, judged_sizes):
    """Coordinates an excused direction moves next: the largest size already judged if that is
    smaller than this one's, else one step further down the ladder (``rank`` steps, so the
    excused directions of one round spread over several sizes)."""
    smaller = [s for s in judged_sizes if s < support]
    if smaller:
        return max(smaller)
    return max(1, support // SHRINK ** (rank + 1))


def _directional(stencil, x, n_directions, rng, max_rounds):
    support = np.full(n_directions, x.size)
    dirs = np.zeros((n_directions,) + x.shape)
    rows = np.zeros((n_directions, 5))
    pending = list(range(n_directions))
    for _ in range(max_rounds):
        for k in pending:
            dirs[k] = v = _direction(rng, x, support[k])
            rows[k] = stencil.row(lambda s, v=v: x + s * v, BASE_STEP * max(1.0, _rms_moved(x, v)))
        excused = _excuse(rows, stencil.f0)
        pending = [k for k in range(n_directions) if excused[k]]
        if not pending:
            break
        judged_sizes = {int(support[k]) for k in range(n_directions) if not excused[k]}
        for rank, k in enumerate(pending):
            support[k] = _next_support(int(support[k]), rank, judged_sizes)
    return FDGrad("directional", rows[:, 0].copy(), _excuse(rows, stencil.f0), dirs, support,
                  noise=rows[:, 4].copy())


def _point(fn, arrays, dout, at_point=None, read_only=()):
    """The point in float64, dout, phi there and sum |f * dout| (``at_point``: fn's output
    there, when the caller has it already). The arrays are copies (fn gets those it does not
    move as they are, and may write into them), but for ``read_only``: names fn never gets."""
    arrays = {k: np.asarray(v, np.float64) if k in read_only else np.array(v, dtype=np.float64)
              for k, v in arrays.items()}
    dout = np.asarray(dout, np.float64)
    if at_point is None:
        at_point = fn({k: v.copy() for k, v in arrays.items()})
    terms = np.asarray(at_point, np.float64) * dout
    return arrays, dout, float(terms.sum()), float(np.abs(terms).sum()), float(np.sqrt((terms ** 2).sum()))


def fd_joint(fn, arrays, dout, claims, tol, *, rng, n_directions=3, max_rounds=4,
             at_point=None):
    """A cheap first pass: are the layer's gradients ``claims`` (name -> array) right?

    Each of ``n_directions`` random directions moves every claimed tensor at once
    (tensor n by s * c_n * v_n, c_n its values' scale, as ``fd_vjp`` steps), so one
    estimate D = sum_n c_n <g_n, v_n> judges them all (torch's fast mode does the
    same, u^T J v). Tensor n's share of D is what is left when the claimed
    shares of the others are taken out: returned as a directional :class:`FDGrad` of
    n alone (``joint`` True), whose comparison with the claim (``tol``, the rule every
    comparison uses) fails exactly when D and the claimed sum differ by more than the
    tolerance of *that tensor's* share: the smallest share sets the bar.

    A central difference at step h (2 evaluations) is tried first: it only ever
    accepts, and a claim it does not accept gets the steps h/2 and h/4, the Richardson
    estimate and the kink test, as ``fd_vjp`` makes them (a wrong claim agreeing with
    the first estimate would need the estimate's truncation error to match the claim's
    error within the bar, and the step is chosen far below it); a direction excused at a kink is redrawn
    sparser, as ``fd_vjp`` does (every tensor keeps at least one coordinate). The
    step h is as small as round-off allows at 1/300 of that bar (at most
    ``BASE_STEP``): a step crosses fewer kinks the shorter it is. Round-off is taken
    as 8 eps times the root of the sum of the squared terms of phi, the size of a sum
    of independent rounding errors (the sum of the terms' sizes, ``fd_vjp``'s bound,
    is a hundred times more at 100k outputs, and its longer step crossed ReLU kinks
    in nearly every direction). A forward whose round-off is more than that (one
    that cancels large values) makes the estimates disagree, never agree with a
    wrong claim: it is then judged tensor by tensor. Returns the
    accepted FDGrads, or None: not accepted (a wrong claim, a kink no redraw
    avoided, round-off above the bar); the caller then estimates every tensor on
    its own (``fd_vjp``), and only that ever fails a layer.
    """
    arrays, dout, f0, fabs, fnorm = _point(fn, arrays, dout, at_point, read_only=claims)
    names = list(claims)
    claims = {n: np.asarray(claims[n], np.float64) for n in names}
    if any(claims[n].shape != arrays[n].shape or not np.all(np.isfinite(claims[n]))
           for n in names):
        return None
    stencil = _Stencil(fn, arrays, None, dout, f0, fabs)
    noise_unit = 8 * EPS * max(fnorm, abs(f0))     # round-off of a difference, times the step
    frac, steps = np.ones(n_directions), np.full(n_directions, BASE_STEP)
    dirs = {n: np.empty((n_directions,) + arrays[n].shape) for n in names}   # (round 0 fills)
    rows_of = {n: dirs[n].reshape(n_directions, -1) for n in names}    # views, one row a direction
    scale = {n: np.ones(n_directions) for n in names}
    est, rows = np.zeros(n_directions), np.zeros((n_directions, 5))

    def agreeing():
        """The shares, and per direction whether every tensor's share agrees with its claim."""
        shares = _shares(est, dirs, scale, proj, support)
        ok = np.ones(n_directions, bool)
        for n in names:
            got, want = proj[n], shares[n].values     # (proj: shares[n].project(claims[n]))
            ok &= np.abs(got - want) <= JOINT_MARGIN * tol.allowed(want)
        return shares, ok

    def moved(k):
        delta = {}     # the move at +h (the first estimate's two evaluations share it)

        def at(s):
            point = {}
            for n in names:     # one new array per tensor (the forward may keep or write it)
                if abs(s) == steps[k]:
                    if n not in delta:
                        delta[n] = dirs[n][k] * (steps[k] * scale[n][k])
                    point[n] = arrays[n] + delta[n] if s > 0 else arrays[n] - delta[n]
                else:
                    point[n] = dirs[n][k] * (s * scale[n][k])
                    point[n] += arrays[n]
            return point
        return at

    dense_rms = {n: float(np.sqrt(np.vdot(arrays[n], arrays[n]) / max(1, arrays[n].size)))
                 for n in names}
    support = {n: np.zeros(n_directions, int) for n in names}
    proj = {}       # <direction, claim> per tensor, for the directions of this round

    pending = list(range(n_directions))
    for round_ in range(max_rounds):
        done = {}
        if round_ == 0:     # every direction dense: a tensor's drawn at once, where they are
            for n in names:     # kept (rows of the flat view: a 0-d tensor's dirs[n][k] is a copy)
                _entries(rng, rows_of[n].size, out=rows_of[n].reshape(-1))
                support[n][:], scale[n][:] = arrays[n].size, max(1.0, dense_rms[n])
        else:
            for k in pending:
                for n in names:
                    x = arrays[n]
                    v = _direction(rng, x, max(1, int(np.ceil(x.size * frac[k]))))
                    dirs[n][k] = v
                    support[n][k] = np.count_nonzero(v)
                    scale[n][k] = max(1.0, _rms_moved(x, v) if support[n][k] < x.size
                                      else dense_rms[n])
        proj.update({n: rows_of[n] @ claims[n].reshape(-1) for n in names})
        for k in pending:
            bar = min(scale[n][k] * (tol.atol + tol.rtol * abs(float(proj[n][k]))) for n in names)
            steps[k] = min(BASE_STEP, max(MIN_JOINT_STEP, 300 * noise_unit / bar))
            est[k], done[k] = stencil.first(moved(k), steps[k])
        shares, ok = agreeing()
        if ok.all():
            return shares
        pending = [k for k in pending if not ok[k]]
        for k in pending:      # not agreeing: steps h/2 and h/4, and the kink test, for these
            rows[k] = stencil.row(moved(k), steps[k], done[k])
            est[k] = rows[k][0]
        shares, ok = agreeing()
        excused = _excuse(rows, f0)
        if ok.all():
            return shares
        if any(not ok[k] and not excused[k] for k in pending):
            return None        # a difference finite differences stand by: judged tensor by tensor
        pending = [k for k in pending if not ok[k]]
        judged = [frac[k] for k in range(n_directions) if ok[k]]
        for rank, k in enumerate(pending):
            smaller = [f for f in judged if f < frac[k]]
            frac[k] = max(smaller) if smaller else frac[k] / SHRINK ** (rank + 1)
    return None


def _shares(est, dirs, scale, proj, support):
    """Each tensor's share of the joint estimates: D less the claimed shares of the others
    (``proj``: each claim's projections on its directions)."""
    claimed = {n: scale[n] * proj[n] for n in proj}
    total = sum(claimed.values())
    return {n: FDGrad("directional", (est - (total - claimed[n])) / scale[n],
                      np.zeros(len(est), bool), dirs[n], support[n].copy(), joint=True)
            for n in proj}


def fd_vjp(fn, arrays, dout, *, rng, names=None, max_elementwise=MAX_ELEMENTWISE,
           n_directions=6, max_rounds=4, at_point=None):
    """Finite-difference VJPs of ``fn`` for each array in ``names`` (default: all).

    fn: maps a dict name -> float64 array to the output array (it must not
    redraw randomness between calls). arrays: the point, cast to float64 here.
    dout: the upstream gradient, same shape as fn's output. rng: a
    ``np.random.Generator`` for the random directions. Returns name -> FDGrad.

    Tensors of at most ``max_elementwise`` elements are estimated elementwise
    (6 evaluations per element), larger ones along ``n_directions`` random
    directions (6 evaluations each); an excused direction is redrawn on fewer
    coordinates, for at most ``max_rounds`` rounds in all (module docstring).
    ``at_point``: fn's output at the point, when the caller has it (not computed again).
    """
    arrays, dout, f0, fabs, _ = _point(fn, arrays, dout, at_point)
    out = {}
    for name in names or list(arrays):
        x = arrays[name]
        stencil = _Stencil(fn, arrays, name, dout, f0, fabs)
        if x.size <= max_elementwise:
            out[name] = _elementwise(stencil, x)
        else:
            out[name] = _directional(stencil, x, n_directions, rng, max_rounds)
    return out


def slope_along(fn, arrays, dout, name, direction, *, at_point=None):
    """The derivative of phi along ``direction`` (moving the array ``name``), whether it is the
    derivative of a smooth function there (no kink inside the stencil: ``_excuse``), and the
    round-off the estimate can carry (phi's own at its size: a loss of 3e38 moves by nothing)."""
    row = _row_along(fn, arrays, dout, name, direction, at_point)
    return float(row[0]), not bool(_excuse(row[None])[0]), float(row[4])


def kink_along(fn, arrays, dout, name, direction, *, at_point=None):
    """(what, estimate) of phi along ``direction``: what is "smooth" (the estimates converge),
    "kink" (the one-sided slopes differ by as much at every step: a kink or a cone at the
    point) or "unresolved" (neither: round-off or an overflow the steps cannot see past)."""
    row = _row_along(fn, arrays, dout, name, direction, at_point)
    r2, _, asym_half, asym_quarter, noise = row
    if not np.all(np.isfinite(row)) or max(abs(r2), asym_half, asym_quarter) <= noise:
        return "unresolved", float(r2)     # (nothing the steps moved rose above round-off)
    if not _excuse(row[None])[0]:
        return "smooth", float(r2)
    steady = 0.75 * asym_half < asym_quarter < 1.5 * asym_half    # noise doubles, a curve halves
    kink = steady and asym_quarter > 1e-6 * abs(r2) + 10 * noise
    return ("kink" if kink else "unresolved"), float(r2)


def _row_along(fn, arrays, dout, name, direction, at_point):
    arrays, dout, f0, fabs, _ = _point(fn, arrays, dout, at_point)
    x, v = arrays[name], np.asarray(direction, np.float64)
    stencil = _Stencil(fn, arrays, name, dout, f0, fabs)
    return np.array(stencil.row(lambda s: x + s * v, BASE_STEP * max(1.0, _rms_moved(x, v))))
