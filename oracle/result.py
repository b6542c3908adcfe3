"""The plain result object every comparison yields, pass or fail."""
import math
from dataclasses import dataclass, field, replace

import numpy as np

from oracle.diagnosis import consistent


@dataclass
class Result:
    """One comparison of a hand-written tensor against an oracle.

    ``arrays`` holds the tensors side by side, keyed by party: "layer" (the
    hand-written value), "tf", "fd" (whichever were computed). ``ratio`` is the
    worst element's error divided by what the tolerance allows there: a check
    passes at ratio <= 1, and ``margin = 1 - ratio`` is how close it came.
    """

    layer: str
    prop: str
    tensor: str
    oracle: str
    passed: bool
    dtype: str = ""
    config: dict = field(default_factory=dict)
    arrays: dict = field(default_factory=dict)
    rtol: float = 0.0
    atol: float = 0.0
    scale: float = 1.0
    max_abs_err: float = 0.0
    max_rel_err: float = 0.0
    ratio: float = 0.0
    worst: list = field(default_factory=list)   # [(index tuple, layer value, oracle value, error)]
    n_mismatched: int = 0
    n_total: int = 0
    n_excused: int = 0                          # elements finite differences could not judge (kinks)
    judged: bool = True                         # False: every element excused, neither PASS nor FAIL
    mode: str = "elementwise"                   # or "directional": arrays are projections <g, v_k>
    judged: bool = True                         # False: the oracle could not judge any element
    warning: bool = False                       # out of tolerance, but not the layer's fault
                                                # (float32 round-off): passed, outcome WARN
    verdict: str = ""
    explanation: str = ""
    note: str = ""
    reproduce: str = ""
    diagnosis: dict = field(default_factory=dict)   # {"kind", "summary", "evidence"}, or {}

    def with_note(self, note, *, first=False):
        """A copy of this result with ``note`` after its own note (before it, when ``first``)."""
        return replace(self, note=join_notes(note, self.note) if first else join_notes(self.note, note))

    @property
    def actual(self):
        return self.arrays.get("layer")

    @property
    def expected(self):
        return self.arrays.get(self.oracle)

    @property
    def margin(self):
        return 1.0 - self.ratio

    @property
    def outcome(self):
        """PASS, FAIL, WARN (outside tolerance for a reason that is not the layer's: counted
        as passed), or NOT JUDGED (the oracle could judge nothing: neither a pass nor a failure)."""
        if not self.judged:
            return "NOT JUDGED"
        if self.warning:
            return "WARN"
        return "PASS" if self.passed else "FAIL"

    @property
    def shown_diagnosis(self):
        """The diagnosis, when this result failed and its verdict allows it; else {}."""
        kind = (self.diagnosis or {}).get("kind", "")
        return dict(self.diagnosis) if not self.passed and consistent(self.verdict, kind) else {}

    def message(self):
        """A multi-line explanation: what, where, by how much, why, and how to reproduce."""
        lines = [f"{self.layer} [{self.prop}] {self.tensor} vs {self.oracle.upper()}: "
                 f"{self.outcome}"]
        if self.config:
            lines.append(f"  config: {self.config}  dtype: {self.dtype}")
        if self.note:
            lines.append(f"  note: {self.note}")
        directional = self.mode == "directional"
        unit = "directions" if directional else "elements"
        if self.n_total:
            lines.append(f"  {self.n_mismatched} of {self.n_total} {unit} outside tolerance "
                         f"(rtol={self.rtol:g}, atol={self.atol:g} x scale {self.scale:.3g}); "
                         f"max abs err {self.max_abs_err:.3g}, max rel err {self.max_rel_err:.3g}, "
                         f"worst error is {self.ratio:.3g}x the allowed"
                         + (f"; {self.n_excused} element(s) excused where finite differences "
                            f"did not settle (a kink, or a curve too steep for the step)"
                            if self.n_excused else ""))
        if directional:
            lines.append("  compared along random directions v: values are <grad, v>")
        for idx, a, b, err in self.worst[:5]:
            where = f"direction {idx[0]}" if directional and len(idx) == 1 else \
                f"{self.tensor}{list(idx)}"
            lines.append(f"  at {where}: layer={a:.10g} {self.oracle}={b:.10g} |diff|={err:.3g}")
        if self.verdict:
            lines.append(f"  verdict: {self.verdict}: {self.explanation}")
        shown = self.shown_diagnosis
        if shown:
            lines.append(f"  diagnosis: {shown['kind']}: {shown['summary']} {shown['evidence']}")
        if self.reproduce:
            lines.append(f"  reproduce: {self.reproduce}")
        return "\n".join(lines)

    @classmethod
    def from_plain(cls, d):
        """The result back from :meth:`to_plain`'s dict (arrays left out; "nan"/"inf" strings
        read as floats; missing fields take their defaults)."""
        kw = {k: d[k] for k in cls.__dataclass_fields__ if k in d and k != "arrays"}
        for k, f in cls.__dataclass_fields__.items():
            if k in kw and f.type in ("float", float):
                kw[k] = _float(kw[k])
            elif k in kw and f.type in ("str", str):
                kw[k] = str(kw[k] or "")
            elif k in kw and f.type in ("bool", bool):
                kw[k] = bool(kw[k])
        diagnosis = kw.get("diagnosis") if isinstance(kw.get("diagnosis"), dict) else {}
        kw["diagnosis"] = {k: str(diagnosis.get(k, "")) for k in ("kind", "summary", "evidence")} \
            if diagnosis.get("kind") else {}
        return cls(**kw)

    def to_plain(self, with_arrays=False):
        """Plain-Python dict (JSON-safe, no NumPy scalars): what crosses processes and reaches reports."""
        out = {k: _plain(getattr(self, k)) for k in self.__dataclass_fields__ if k != "arrays"}
        out["diagnosis"] = _plain(self.shown_diagnosis)
        out["margin"] = _plain(self.margin)
        if with_arrays:
            out["arrays"] = {k: _plain(np.asarray(v)) for k, v in self.arrays.items()}
        return out


def join_notes(*notes):
    """Notes joined into one, each ending as a sentence does (a period added where it has no
    closing mark), empty ones and ones already said left out."""
    kept = []
    for note in filter(None, (n.strip() for n in notes if n)):
        if not any(note in earlier for earlier in kept):
            kept.append(note)
    return " ".join(n if i == len(kept) - 1 or n[-1] in ".!?:" else n + "." for i, n in enumerate(kept))


def _float(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _plain(value):
    """Convert NumPy values (recursively) into JSON-safe Python; non-finite floats become strings."""
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return v if math.isfinite(v) else str(v)
    if isinstance(value, (np.integer, np.bool_)):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
