"""The reference training run's loss curves, as geometry for a small inline SVG chart.

Reads ``training_curves.json`` from the report folder, written by the reference
training test: ``{"models": [{"name", "steps", "ours", "tf", "golden", "band",
"final_accuracy", "golden_accuracy", ...}]}`` (``band``: absolute, in loss units;
more facts such as ``tf_accuracy`` or ``first_divergence`` are listed under the
chart). Every field is optional: the chart draws the series that are there,
breaks a line at non-finite values, and the report shows nothing at all when the
file is absent, or is older than the run the report is for (a ``harness check`` after
a ``harness verify`` in one folder must not show the earlier run's curves as its own).
"""
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

FILE_NAME = "training_curves.json"
WIDTH, HEIGHT = 560, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 30
SERIES = [("ours", "hand-written"), ("tf", "TF twin"), ("golden", "golden")]
FACTS = [("final_accuracy", "test accuracy (hand-written)"), ("tf_accuracy", "TF twin accuracy"),
         ("golden_accuracy", "golden accuracy"), ("max_loss_dev_vs_tf", "max |loss - TF loss|"),
         ("first_divergence", "first divergence"), ("seconds", "seconds")]


@dataclass
class Series:
    key: str
    label: str
    paths: list          # SVG path "d" strings (one per finite run of points)
    last: str            # the final value, as text


@dataclass
class Chart:
    name: str
    width: int
    height: int
    series: list
    band_path: str       # golden +- band as a closed SVG path, "" if absent
    band: str
    xticks: list         # [(x pixel, label)]
    yticks: list         # [(y pixel, label)]
    facts: list = field(default_factory=list)   # [(label, value text)]
    problem: str = ""


def load_charts(report_dir, since=None):
    """Charts for every model in the training file; [] when there is no file, or when it was
    last written before ``since`` (a POSIX timestamp: the run's start)."""
    path = Path(report_dir) / FILE_NAME
    if not path.is_file() or (since is not None and path.stat().st_mtime < since):
        return []
    try:
        data = json.loads(path.read_text())
        models = data.get("models", []) if isinstance(data, dict) else []
    except (ValueError, OSError) as exc:
        return [Chart(FILE_NAME, WIDTH, HEIGHT, [], "", "", [], [], problem=f"unreadable: {exc}")]
    return [chart(m) for m in models if isinstance(m, dict)]


def _floats(values):
    out = []
    for v in values if isinstance(values, list) else []:
        try:
            out.append(float(v))
        except (TypeError, ValueError):
            out.append(math.nan)
    return out


def chart(model):
    """The :class:`Chart` of one model's curves."""
    name = str(model.get("name", "model"))
    series = {k: _floats(model.get(k)) for k, _ in SERIES}
    n = max((len(v) for v in series.values()), default=0)
    steps = _floats(model.get("steps")) or [float(i) for i in range(n)]
    band = model.get("band")
    band = float(band) if isinstance(band, (int, float)) and math.isfinite(band) else None
    facts = [(label, _text(model[k])) for k, label in FACTS if model.get(k) is not None]
    if not n:
        return Chart(name, WIDTH, HEIGHT, [], "", "", [], [], facts, "no loss values in the file")
    golden = series["golden"]
    ys = [y for v in series.values() for y in v if math.isfinite(y)]
    if band is not None:
        ys += [y + s * band for y in golden if math.isfinite(y) for s in (-1, 1)]
    xs = [x for x in steps if math.isfinite(x)]
    if not ys or not xs:
        return Chart(name, WIDTH, HEIGHT, [], "", "", [], [], facts, "no finite values to draw")
    x0, x1 = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
    y0, y1 = min(ys), max(ys) if max(ys) > min(ys) else min(ys) + 1
    px = lambda x: LEFT + (x - x0) / (x1 - x0) * (WIDTH - LEFT - RIGHT)
    py = lambda y: TOP + (y1 - y) / (y1 - y0) * (HEIGHT - TOP - BOTTOM)
    drawn = [Series(k, label, _paths(steps, series[k], px, py), _text(series[k][-1]))
             for k, label in SERIES if series[k]]
    band_path = ""
    if band is not None and golden:
        pts = [(x, y) for x, y in zip(steps, golden) if math.isfinite(x) and math.isfinite(y)]
        upper = [f"{px(x):.1f},{py(y + band):.1f}" for x, y in pts]
        lower = [f"{px(x):.1f},{py(y - band):.1f}" for x, y in reversed(pts)]
        band_path = "M" + " L".join(upper + lower) + " Z" if pts else ""
    return Chart(name, WIDTH, HEIGHT, drawn, band_path, _text(band) if band is not None else "",
                 [(px(t), _text(t)) for t in _ticks(x0, x1)],
                 [(py(t), _text(t)) for t in _ticks(y0, y1)], facts)


def _paths(steps, values, px, py):
    paths, run = [], []
    for x, y in zip(steps, values):
        if math.isfinite(x) and math.isfinite(y):
            run.append(f"{px(x):.1f},{py(y):.1f}")
        elif run:
            paths.append(run)
            run = []
    if run:
        paths.append(run)
    return ["M" + " L".join(r) for r in paths]


def _ticks(lo, hi, n=5):
    """About ``n`` round tick values between lo and hi."""
    raw = (hi - lo) / max(n - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]


def _text(v):
    if isinstance(v, (int, float)) and math.isfinite(v):
        return f"{v:.4g}"
    return str(v)
