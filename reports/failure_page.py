"""What one failure page shows: the arrays side by side, the heatmap, the worst elements.

Built from a failing :class:`reports.model.Check` and its arrays (loaded from the
report folder's ``.npz``). The difference is layer - oracle, elementwise; an
element is "outside" when |difference| > atol * scale + rtol * |oracle| (the
comparison's own rule) and it was not excused (a kink finite differences cannot
judge). In a directional comparison the arrays are projections <g, v_k> on
random directions, and entry k is direction k, not an element of the gradient.
"""
import math
from dataclasses import dataclass, field

import numpy as np

from oracle.tolerance import Tolerance
from reports import heatmap
from reports.model import hypothesis_example

PARTY_LABELS = {"layer": "hand-written", "tf": "TensorFlow tape", "fd": "finite differences",
                "law": "expected by the law", "layer_full": "hand-written (full gradient)"}
PARTY_ORDER = ["layer", "tf", "fd", "law"]
NOT_PARTIES = {"layer_full", "excused"}
INPUT_LABELS = {"x": "input x", "dout": "upstream gradient dout"}   # "input:<name>", "target:<name>"
MAX_FULL_INPUT = 256         # an input with at most this many elements is shown in full
MAX_INPUT_SLICES = 4         # a larger one: its first slices,
MAX_INPUT_SIDE = 12          # each cut to this many rows and columns
MAX_SLICES = 48              # slices drawn per tensor; the rest stay in the .npz file
MAX_TABLE_ELEMENTS = 1024    # per slice in the value tables
MAX_TOOLTIP_ELEMENTS = 4096  # per slice carried to the page for the hover read-out
TARGET_PX = 320              # a slice's heatmap is drawn about this many pixels across


def fmt(value, digits=6):
    """A number as text; NaN and +-Inf spelled out so they never break the page."""
    v = float(value)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return f"{v:.{digits}g}"


@dataclass
class SliceView:
    label: str
    rows: int
    cols: int
    px: int                      # pixels per element on screen
    image: str                   # data: URI of the heatmap PNG
    prefix: list                 # the slice's leading index, for the hover read-out
    cells: list = None           # [[layer, oracle, diff], ...] row-major, or None if too big
    template: list = None        # the full index of a cell, None where its row and column go
    tables: list = field(default_factory=list)   # [(party label, rows of (text, css class))]


@dataclass
class ArrayView:
    """An array shown as value tables: in full when small, else its first slices, cut."""
    label: str
    shape: tuple
    dtype: str
    tables: list                 # [(slice label, rows of text)]
    note: str = ""


@dataclass
class FailurePage:
    check: object
    test: object
    name: str                    # what the index refers to: "dW", or "dW.v" for projections
    parties: list                # [(key, label, shape, dtype)] of the arrays found
    expected_key: str
    slices: list                 # SliceView
    omitted_slices: int
    vmax: float
    legend: str
    worst: list                  # [(index text, layer, oracle, |diff|, allowed, ratio, outside)]
    case: dict
    hypothesis: str
    problem: str = ""            # why no elementwise view could be drawn
    ndim: int = 0                # rank of the compared tensor
    outside_note: str = ""       # how "outside" was decided when the excused mask is unknown
    extra_arrays: list = field(default_factory=list)   # [(label, shape)] shown only in the file
    diagnosis: dict = field(default_factory=dict)      # {"kind", "summary", "evidence"} or {}
    inputs: list = field(default_factory=list)         # ArrayView of x, dout, input:<name>
    mismatched: list = field(default_factory=list)     # ArrayView of each side when shapes differ


def build_failure_page(check, test, arrays):
    """The :class:`FailurePage` of a failing ``check`` from ``test`` with its ``arrays``."""
    name = f"{check.tensor}.v" if check.mode == "directional" else check.tensor
    expected_key = check.oracle if check.oracle in arrays else ""
    layer = arrays.get("layer")
    inputs = [k for k in arrays if _is_input(k)]
    keys = [k for k in PARTY_ORDER if k in arrays] + \
           [k for k in arrays if k not in PARTY_ORDER and k not in NOT_PARTIES and k not in inputs]
    parties = [(k, PARTY_LABELS.get(k, k), tuple(arrays[k].shape), str(arrays[k].dtype))
               for k in keys]
    extra = [(PARTY_LABELS["layer_full"], tuple(arrays["layer_full"].shape))] \
        if "layer_full" in arrays else []
    page = FailurePage(check, test, name, parties, expected_key, [], 0, 1.0, heatmap.legend_uri(),
                       _worst_rows(check, name), check.case() or {},
                       hypothesis_example(getattr(test, "longrepr", "") or ""),
                       extra_arrays=extra, diagnosis=dict(getattr(check, "diagnosis", {}) or {}))
    page.inputs = [array_view(_input_label(k), k.split(":", 1)[-1], arrays[k]) for k in inputs]
    if layer is None or not expected_key:
        page.problem = ("the arrays of this check were not saved (run with the report enabled "
                        "to keep them)" if not arrays else
                        "the layer's tensor or the oracle's is missing: nothing to compare")
        return page
    want = arrays[expected_key]
    if layer.shape != want.shape:
        page.problem = (f"the layer's {check.tensor} has shape {layer.shape} but the "
                        f"{check.oracle} oracle's has shape {want.shape}: no elementwise view; "
                        "both are shown side by side below")
        page.mismatched = [array_view(PARTY_LABELS.get(k, k), check.tensor, arrays[k])
                           for k in ("layer", expected_key)]
        return page
    same = [k for k in keys if arrays[k].shape == layer.shape]
    a, b = layer.astype(np.float64), want.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = a - b
        err = np.where(~np.isfinite(b) & (a == b), 0.0, np.abs(diff))
    allowed = _tolerance(check).allowed(b, check.scale)
    outside, page.outside_note = _outside(check, arrays.get("excused"), err, allowed, layer.shape)
    worst = {tuple(w[0]) for w in check.worst if _ratio(check, float(w[2]), float(w[3])) > 1}
    page.vmax = heatmap.scale_of(diff, floor=allowed.max(initial=0.0))
    page.ndim = layer.ndim
    all_slices = heatmap.slices_of(name, diff)
    sq = heatmap.squeeze
    chosen, page.omitted_slices = heatmap.pick_slices(all_slices, sq(outside), MAX_SLICES)
    for s in chosen:
        page.slices.append(_slice_view(s, page.vmax, [(k, sq(arrays[k])) for k in same],
                                       sq(a), sq(b), sq(diff), sq(outside), worst))
    return page


def _is_input(key):
    return key in INPUT_LABELS or key.startswith(("input:", "target:"))


def _input_label(key):
    kind, _, name = key.partition(":")
    return INPUT_LABELS.get(key) or (f"not differentiated {name}" if kind == "target"
                                     else f"input {name}")


def array_view(label, name, array):
    """The :class:`ArrayView` of ``array``: every slice when it is small, else the first few, cut."""
    a = np.asarray(array)
    slices = heatmap.slices_of(name, a)
    small = a.size <= MAX_FULL_INPUT
    shown = slices if small else slices[:MAX_INPUT_SLICES]
    tables = []
    for s in shown:
        values = s.values if small else s.values[:MAX_INPUT_SIDE, :MAX_INPUT_SIDE]
        label_s = s.label if small or values.shape == s.values.shape else \
            f"{s.label} (first {values.shape[0]} x {values.shape[1]})"
        tables.append((label_s, [[fmt(v) for v in row] for row in values]))
    note = "" if small else (f"{a.size} elements: showing {len(shown)} of {len(slices)} slice(s), "
                             f"at most {MAX_INPUT_SIDE} x {MAX_INPUT_SIDE} each; the whole array "
                             "is in the arrays file")
    return ArrayView(label, tuple(a.shape), str(a.dtype), tables, note)


def _outside(check, excused, err, allowed, shape):
    """Boolean mask of the elements that failed, and a note when it had to be inferred."""
    outside = np.where(np.isnan(err), True, err > allowed)
    if excused is not None and np.shape(excused) == shape:
        return outside & ~np.asarray(excused, bool), ""
    if not check.n_excused:
        return outside, ""
    listed = [tuple(w[0]) for w in check.worst
              if _ratio(check, float(w[2]), float(w[3])) > 1]
    if len(listed) == check.n_mismatched:       # every failing element is in the worst list
        mask = np.zeros(shape, bool)
        for idx in listed:
            mask[idx] = True
        return mask, ""
    return outside, (f"{check.n_excused} element(s) were excused (finite differences did not "
                     f"settle: a kink, or a steep curve) and are not known "
                     "individually: some cells marked outside may be among them")


def _slice_view(s, vmax, parties, a, b, diff, outside, worst):
    """One slice's heatmap and tables; the arrays have their size-1 axes dropped, as ``s``."""
    rows, cols = s.values.shape
    px = max(2, min(44, TARGET_PX // max(rows, cols)))
    view = SliceView(s.label, rows, cols, px, heatmap.data_uri(s.values, vmax), list(s.index),
                     template=list(s.template))
    sel = tuple(s.index) if a.ndim >= 2 else Ellipsis
    if rows * cols <= MAX_TOOLTIP_ELEMENTS:
        view.cells = [[fmt(x), fmt(y), fmt(d)] for x, y, d in
                      zip(a[sel].ravel(), b[sel].ravel(), diff[sel].ravel())]
    if rows * cols <= MAX_TABLE_ELEMENTS:
        flag = outside[sel].reshape(rows, cols)
        for key, arr in [*parties, ("diff", diff)]:
            values = np.asarray(arr)[sel].reshape(rows, cols)
            table = [[(fmt(values[r, c]), _css(flag[r, c], s.full_index(r, c) in worst))
                      for c in range(cols)] for r in range(rows)]
            view.tables.append((PARTY_LABELS.get(key, "difference (layer - oracle)"), table))
    return view


def _css(outside, worst):
    return " ".join(filter(None, ["outside" if outside else "", "worst" if worst else ""]))


def _tolerance(check):
    return Tolerance(rtol=check.rtol, atol=check.atol)


def _allowed(check, b):
    """What the comparison allowed at one element whose oracle value is ``b`` (the one rule)."""
    return float(_tolerance(check).allowed(b, check.scale))


def _ratio(check, b, err):
    allowed = _allowed(check, b)
    return err / allowed if allowed > 0 else (math.inf if err > 0 else 0.0)


def _worst_rows(check, name):
    rows = []
    for item in check.worst:
        idx, a, b, err = item[0], float(item[1]), float(item[2]), float(item[3])
        allowed = _allowed(check, b)
        ratio = _ratio(check, b, err)
        rows.append((f"{name}[{', '.join(map(str, idx))}]", fmt(a, 10), fmt(b, 10),
                     fmt(err, 4), fmt(allowed, 3), fmt(ratio, 4), not ratio <= 1))
    return rows
