"""Say what kind of bug a failing comparison is, from the pattern of the difference.

``diagnose(actual, expected, context=...)`` tries one hypothesis per detector, most specific
first: the layer's array is the oracle's transposed, times a meaningful constant, wrong only at
a structured subset of elements, or off by a term the oracle can compute. A detector claims its
class only when the hypothesis, taken as the oracle, passes the comparison's own tolerance rule
(``oracle.tolerance.error_ratio``) at every judged element, so it explains all elements outside
tolerance; a subset detector claims only when every element outside tolerance lies in its
subset and the elements outside it agree; else None: no guess.

``context`` is a plain dict of what the check knows (every key optional):

* ``config``: the case's flat config ("batch", "batch2" after a resize, and
  "pool", "kernel", "stride", "padding", "dilation", "classes", "steps", "p");
* ``inputs``: name -> input array ("x"; integer "ids" of a gather); ``targets``: inputs not
  differentiated ("idx", a mask); ``dout``; ``factors``: the factors of a product (inputs);
* ``tensor`` ("dx"); ``previous_batch``: the batch of an earlier forward; ``excused``, ``dtype``,
  ``oracle``, ``tol``; ``mode``: "directional" for projections <g, v_k> (scale hypotheses only).

``consistent(verdict, kind)``: which diagnoses a verdict allows (``Result`` shows them by it).
"""
from dataclasses import asdict, dataclass

import numpy as np

from oracle import diagnosis_geometry as geo
from oracle.tolerance import error_ratio, tolerance_for

LAYER_VERDICTS = {"", "layer bug", "layer vs tf", "layer vs fd"}     # any class may be shown
# Classes a verdict other than a layer-side one allows: a difference at kinks only, under
# "kink convention"; round-off of a lower precision, under "below fd resolution"; a decay term
# gradient() leaves out, under "stack bug".
ALLOWED_BY = {"kink convention": {"kink", "tied maxima"}, "below fd resolution": {"wrong dtype"},
              "stack bug": {"weight decay"}}


@dataclass(frozen=True)
class Diagnosis:
    kind: str        # the class: "transposed", "constant factor", "one channel", ...
    summary: str     # what the layer got wrong, in one sentence
    evidence: str    # how the hypothesis was confirmed

    def to_plain(self):
        return asdict(self)


def consistent(verdict, kind):
    """True when a diagnosis of ``kind`` does not contradict ``verdict``: a layer-side verdict
    allows any class, the others those of ``ALLOWED_BY`` (kinks; round-off) or none."""
    if not kind:
        return False
    return verdict in LAYER_VERDICTS or kind in ALLOWED_BY.get(verdict, ())


def diagnose(actual, expected, *, context=None):
    """The :class:`Diagnosis` of ``actual`` (the layer's) against ``expected``, or None."""
    if actual is None or expected is None:
        return None
    ctx = _Context(context or {}, np.asarray(actual), np.asarray(expected, np.float64))
    if ctx.a.shape != ctx.b.shape:     # (an oracle of all 0 fits any reshuffle: it says nothing)
        detectors = [stale_shape] if _fits_all(ctx, np.zeros(ctx.b.shape), ctx.b) else SHAPE_DETECTORS
    elif ctx.mode == "directional":
        detectors = SCALE_DETECTORS
    else:
        if not ctx.wrong.any():
            return None
        detectors = [wrong_dtype, transposed, *SCALE_DETECTORS, missing_term, *SUBSET_DETECTORS]
    for detect in detectors:
        found = detect(ctx)
        if found is not None:
            return found
    return None


class _Context:
    """The arrays, the tolerance and what the check knows, read once."""

    def __init__(self, context, a, b):
        self.raw, self.a, self.b = context, a, b
        self.cfg = dict(context.get("config") or {})
        self.mode = context.get("mode", "elementwise")
        self.tensor = context.get("tensor", "")
        self.dtype = np.dtype(context.get("dtype") or self.cfg.get("dtype") or "float64").name
        self.oracle = context.get("oracle", "tf")
        self.tol = context.get("tol") or tolerance_for(self.dtype, self.oracle)
        self.inputs, self.targets = ({k: np.asarray(v) for k, v in (context.get(key) or {}).items()}
                                     for key in ("inputs", "targets"))
        self.dout = None if context.get("dout") is None else np.asarray(context["dout"], np.float64)
        factors = context.get("factors") or {k: v for k, v in self.inputs.items()
                                              if np.asarray(v).dtype.kind == "f"}
        self.factors = {k: np.asarray(v, np.float64) for k, v in factors.items()}
        self.batch, self.previous_batch = self.cfg.get("batch"), context.get("previous_batch")
        if "batch2" in self.cfg:   # a second batch after a first: equal sizes say nothing sure
            same = self.cfg["batch2"] == self.cfg.get("batch")
            self.batch, self.previous_batch = (None, None) if same else \
                (self.cfg["batch2"], self.cfg.get("batch"))
        excused = context.get("excused")
        shape_ok = excused is not None and np.shape(excused) == a.shape
        self.judged = ~np.asarray(excused, bool) if shape_ok else np.ones(a.shape, bool)
        self.wrong = (self.ratio(b) > 1) & self.judged if a.shape == b.shape else None

    def ratio(self, want, got=None, tol=None):
        """Elementwise ratio of ``got`` (default: the layer's) to ``want`` under the rule."""
        got = self.a if got is None else got
        return error_ratio(np.asarray(got, np.float64), want, tol or self.tol)[1]

    def fits(self, want, got=None, tol=None):
        """True when ``want``, taken as the oracle, passes at every judged element."""
        return bool(np.all((self.ratio(want, got, tol) <= 1) | ~self.judged))

    def input_for(self):
        """The input this tensor is the gradient of ("dx" -> inputs["x"]), if known."""
        name = self.tensor[1:] if self.tensor.startswith("d") else ""
        x = self.inputs.get(name)
        if x is None and not self.tensor and len(self.inputs) == 1:
            x = next(iter(self.inputs.values()))
        return x if x is not None and x.shape == self.a.shape else None

    @property
    def n_wrong(self):
        return int(self.wrong.sum())

    def agree_elsewhere(self, subset):
        """Judged elements outside ``subset`` where the oracle is not zero (they agree)."""
        return int((~subset & self.judged & (np.abs(self.b) > 0)).sum())


# ---- shape: the layer's array has another shape than the oracle's ----

def reshaped(ctx, unit_axes_only=False):
    squeezed = tuple(d for d in ctx.a.shape if d != 1) == tuple(d for d in ctx.b.shape if d != 1)
    if ctx.a.size != ctx.b.size or ctx.a.dtype.kind not in "fiu" or (unit_axes_only and not squeezed) \
            or not _fits_all(ctx, ctx.a, ctx.b.reshape(ctx.a.shape)):
        return None
    how = "only axes of size 1 differ" if squeezed else "the same values in row-major order"
    return Diagnosis("wrong shape", f"the layer's {_name(ctx)} has the right values in the wrong "
                     f"shape: {ctx.a.shape} where the oracle's is {ctx.b.shape} ({how}).",
                     f"Reshaped to {ctx.b.shape}, all {ctx.a.size} elements agree within tolerance.")


def transposed_shape(ctx):
    if ctx.a.ndim != ctx.b.ndim or ctx.a.dtype.kind not in "fiu":
        return None
    return _try_permutations(ctx, lambda want: _fits_all(ctx, ctx.a, want))


def stale_shape(ctx):
    p = ctx.previous_batch
    if p is None or not ctx.a.ndim or ctx.a.ndim != ctx.b.ndim or ctx.a.shape[0] != p \
            or ctx.b.shape[0] == p or ctx.a.shape[1:] != ctx.b.shape[1:]:
        return None
    return Diagnosis("stale cache", f"the layer's {_name(ctx)} has the previous batch's "
                     f"{p} rows where this batch has {ctx.b.shape[0]}: something cached by the "
                     "earlier forward was used again.",
                     f"Shape {ctx.a.shape} against {ctx.b.shape}; the batch before had size {p}.")


def _fits_all(ctx, got, want):
    """The rule at every element, excused or not (for arrays of another shape, or a cell)."""
    return bool(np.all(error_ratio(np.asarray(got, np.float64), want, ctx.tol)[1] <= 1))


SHAPE_DETECTORS = [lambda ctx: reshaped(ctx, unit_axes_only=True), transposed_shape, reshaped,
                   stale_shape]


# ---- whole-array hypotheses (same shape) ----

def wrong_dtype(ctx):
    """Right values for a lower precision: the layer computed or returned another float type."""
    got = ctx.a.dtype
    if got.kind != "f" or got.name == ctx.dtype or got.itemsize >= np.dtype(ctx.dtype).itemsize:
        return None
    try:
        tol = tolerance_for(got, ctx.oracle)
    except KeyError:
        return None
    if not ctx.fits(ctx.b, tol=tol):
        return None
    return Diagnosis("wrong dtype", f"the layer's {_name(ctx)} has the right values in the wrong dtype: "
                     f"{got.name} in a {ctx.dtype} check, with {got.name} round-off.",
                     f"All elements agree within the {got.name} tolerance "
                     f"(rtol={tol.rtol:g}, atol={tol.atol:g}).")


def transposed(ctx):
    if ctx.a.ndim < 2:
        return None
    return _try_permutations(ctx, ctx.fits)


def _try_permutations(ctx, fits):
    for perm in geo.permutations(ctx.b.ndim):
        want = ctx.b.transpose(perm)
        if want.shape == ctx.a.shape and not np.array_equal(want, ctx.b) and fits(want):
            what = "transposed" if ctx.b.ndim == 2 else f"with its axes permuted as {perm}"
            return Diagnosis("transposed", f"the layer's {_name(ctx)} is the oracle's {what}.",
                             f"{_name(ctx)} equals the oracle's array.transpose({perm}) at all "
                             f"{ctx.a.size} elements within tolerance.")
    return None


def stale_factor(ctx):
    p, n = ctx.previous_batch, ctx.batch
    if not p or not n or p == n:
        return None
    for c, how in ((n / p, f"scaled by 1/{p}"), (p / n, f"scaled by {p}")):
        if ctx.fits(c * ctx.b):
            return Diagnosis("stale cache", f"right for the previous batch size: the layer's "
                             f"{_name(ctx)} is {_ratio_text(c)} the oracle's, as if still "
                             f"{how} from the earlier batch of {p} (this batch has {n}).",
                             _scale_evidence(ctx, c))
    return None


def sign_flip(ctx):
    if not ctx.fits(-ctx.b):
        return None
    return Diagnosis("sign flip", f"the layer's {_name(ctx)} has the wrong sign: it is minus "
                     "the oracle's.", _scale_evidence(ctx, -1.0))


def named_factor(ctx):
    given = next((x for x in ctx.inputs.values() if x.dtype.kind == "f"), None)   # a user's layer
    cfg = {**ctx.cfg, "classes": int(given.shape[1])} if "classes" not in ctx.cfg and \
        ctx.targets and given is not None and given.ndim == 2 else ctx.cfg   # (N, K) scores
    for c, names in geo.named_factors(cfg, ctx.batch, given):
        if ctx.fits(c * ctx.b):
            return Diagnosis("constant factor", f"the layer's {_name(ctx)} is {_ratio_text(c)} "
                             f"the oracle's: {names}.", _scale_evidence(ctx, c))
    return None


def _ratio_text(c):
    return f"1/{round(1 / c)} of" if c < 1 and abs(1 / c - round(1 / c)) < 1e-9 else f"{c:g} times"


def _scale_evidence(ctx, c):
    what = "projections" if ctx.mode == "directional" else "elements"
    said = (f"All {int(ctx.judged.sum())} {what} equal {c:g} x the oracle's within tolerance, "
            f"the {ctx.n_wrong} outside it included.")
    nonzero = int(((np.abs(ctx.b) > 1e-12 * max(1.0, float(np.abs(ctx.b).max(initial=0.0))))
                   & ctx.judged).sum())
    if nonzero == 1 < int(ctx.judged.sum()):   # the others are 0 either way: they confirm nothing
        said += (" Only one of them is not 0 in the oracle's, so this is seen on one value: the "
                 "slip may be narrower (one branch of the backward).")
    return said


SCALE_DETECTORS = [stale_factor, sign_flip, named_factor]


def missing_term(ctx):
    """layer - oracle = +-term, a term the oracle can compute (dout * a factor, a factor, dout)."""
    terms = dict(ctx.raw.get("terms") or {})
    if ctx.dout is not None and ctx.dout.shape == ctx.a.shape:
        terms.update({f"dout * {k}": ctx.dout * f for k, f in ctx.factors.items()
                      if f.shape == ctx.a.shape})
        terms["dout"] = ctx.dout
    terms.update({k: f for k, f in ctx.factors.items() if f.shape == ctx.a.shape})
    if ctx.fits(np.zeros_like(ctx.b)):
        return None
    for name, term in terms.items():
        term = np.asarray(term, np.float64)
        if term.shape != ctx.a.shape or ctx.fits(ctx.b, term) or ctx.fits(-ctx.b, term):
            continue   # a term proportional to the gradient is a factor, not a term
        for sign, word in ((-1.0, "missing"), (1.0, "extra")):
            if ctx.fits(ctx.b + sign * term):
                return Diagnosis("missing term" if sign < 0 else "extra term",
                                 f"the layer's {_name(ctx)} is the oracle's "
                                 f"{'minus' if sign < 0 else 'plus'} {name}"
                                 + (" (the product rule's term of that factor)."
                                    if name.startswith("dout * ") else "."),
                                 f"layer - oracle = {'-' if sign < 0 else '+'}{name} at all "
                                 f"{ctx.a.size} elements within tolerance.")
    return None


# ---- wrong only at a structured subset (same shape) ----

def _subset(ctx, subset, kind, summary, where):
    """Claim ``kind`` when every element outside tolerance is in ``subset`` and others agree."""
    if subset is None or not np.all(subset[ctx.wrong]) or subset.all() \
            or not ctx.agree_elsewhere(subset):
        return None
    return Diagnosis(kind, summary,
                     f"All {ctx.n_wrong} element(s) outside tolerance are {where} "
                     f"({int(subset.sum())} such element(s)); the "
                     f"{int((~subset & ctx.judged).sum())} element(s) elsewhere agree.")


def kink(ctx):
    x = ctx.input_for()
    if x is None:
        return None
    # a convention holds at every kink: wrong at one 0 of x and right at another is no kink
    if not np.all(ctx.wrong[(x == 0) & ctx.judged & ((ctx.a != 0) | (ctx.b != 0))]):
        return None
    return _subset(ctx, x == 0, "kink", f"the layer's {_name(ctx)} is wrong only where its "
                   "input is exactly 0, at the kink: its derivative there follows another "
                   "convention than the oracle's.", "at exact zeros of the input")


def tied_maxima(ctx):
    """The whole array equals the max-pool gradient that goes to every tied maximum (or splits)."""
    x, pool = ctx.input_for(), geo.pool_geometry(ctx.cfg)
    if x is None or pool is None or ctx.dout is None or x.ndim != 4:
        return None
    size, stride = pool
    if ctx.dout.shape != geo.pooled_shape(x.shape, size, stride):
        return None
    for split, how in ((False, "to every tied maximum"), (True, "split among tied maxima")):
        want = geo.max_pool_grad_all_ties(x, ctx.dout, size, stride, split)
        if ctx.fits(want):
            ties = geo.tied_cells(x, size, stride)
            return Diagnosis("tied maxima", f"the layer sends a window's gradient {how}, where "
                             "the oracle sends it to the first maximum only.",
                             f"{_name(ctx)} equals that gradient at all {ctx.a.size} elements "
                             f"within tolerance; the {ctx.n_wrong} outside tolerance are among "
                             f"the {int(ties.sum())} tied maxima.")
    return None


def repeated_index(ctx):
    ids = next((v for v in [*ctx.inputs.values(), *ctx.targets.values()] if v.dtype.kind in "iu"), None)
    if ids is None or not ctx.a.ndim or ids.size == 0 or ids.max() >= ctx.a.shape[0] or ids.min() < 0:
        return None
    counts = np.bincount(ids.ravel(), minlength=ctx.a.shape[0])
    rows = (counts >= 2).reshape((-1,) + (1,) * (ctx.a.ndim - 1))
    subset = np.broadcast_to(rows, ctx.a.shape)
    return _subset(ctx, subset, "repeated index", f"the layer's {_name(ctx)} is wrong only at "
                   "rows whose index occurs more than once: their gradients were overwritten "
                   "instead of accumulated (np.add.at accumulates).", "in rows of repeated indices")


def overlap(ctx):
    """Wrong only where windows overlap. A pool needs x and dout to confirm it by value (a
    max-pool's tied maxima sit in the same cells); a conv, other cells agreeing, by place."""
    cover = geo.window_coverage(ctx.cfg, ctx.a.shape) if ctx.tensor in ("dx", "") else None
    if cover is None:
        return None
    pool, x = geo.pool_geometry(ctx.cfg), ctx.input_for()
    if pool is not None:
        return _max_pool_overlap(ctx, pool, x)
    return _subset(ctx, cover >= 2, "overlapping windows", f"the layer's {_name(ctx)} is wrong "
                   "only at cells that two or more windows share (the stride is smaller than "
                   "the window): their gradients were overwritten instead of accumulated.",
                   "in cells covered by more than one window")


def _max_pool_overlap(ctx, pool, x):
    if x is None or ctx.dout is None or x.ndim != 4 or \
            ctx.dout.shape != geo.pooled_shape(x.shape, *pool):
        return None
    wins = geo.winning_douts(x, ctx.dout, *pool)
    cells = [tuple(int(i) for i in c) for c in zip(*np.nonzero(ctx.wrong))]
    if not all(len(wins.get(c, [])) >= 2 and any(_fits_all(ctx, ctx.a[c], d) for d in wins[c])
               for c in cells):
        return None
    return Diagnosis("overlapping windows", f"the layer's {_name(ctx)} keeps one window's "
                     "gradient at cells that win two or more overlapping windows (the stride "
                     "is smaller than the window): overwritten instead of accumulated.",
                     f"Each of the {len(cells)} cell(s) outside tolerance is the first maximum "
                     "of two or more windows and holds the dout of just one of them; every "
                     "other cell agrees.")


def padded_border(ctx):
    band = geo.border_band(ctx.cfg, ctx.a.shape) if ctx.tensor in ("dx", "") else None
    return None if band is None else _subset(
        ctx, band, "padded border", f"the layer's {_name(ctx)} is wrong only in the border next "
        "to the zero padding: the cells whose windows reach into the padding.",
        "in the padded border")


def one_slice(axis, kind, what):
    def detect(ctx):
        if ctx.a.ndim <= axis or ctx.a.shape[axis] < 2 or (kind == "one time step" and not (
                ctx.a.ndim == 3 and ("steps" in ctx.cfg or "time_steps" in ctx.cfg))):
            return None
        if kind == "one channel" and (ctx.a.ndim != 4 or ctx.tensor not in ("dx", "")):
            return None
        hit = np.unique(np.nonzero(ctx.wrong)[axis])
        if hit.size != 1:
            return None
        subset = np.zeros(ctx.a.shape, bool)
        subset[(slice(None),) * axis + (int(hit[0]),)] = True
        return _subset(ctx, subset, kind, f"the layer's {_name(ctx)} is wrong only in {what} "
                       f"{int(hit[0])} (of {ctx.a.shape[axis]}).", f"in {what} {int(hit[0])}")
    return detect


SUBSET_DETECTORS = [kink, tied_maxima, repeated_index, overlap, padded_border, *(
    one_slice(1, k, w) for k, w in (("one channel", "channel"), ("one time step", "time step")))]


def _name(ctx):
    return ctx.tensor or "gradient"

