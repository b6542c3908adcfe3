"""Golden loss curves of the reference training run: read, compare within a band, bless, export.

A golden file (tests/golden/<model>.json) holds a model's loss per step, its
final test accuracy and the band the run must stay within. A plain run only
reads them; ``python -m properties.reference.run --bless`` rewrites them on purpose.
"""
import json
import math
import platform
from pathlib import Path

import numpy as np

from oracle.result import Result

GOLDEN_DIR = Path(__file__).resolve().parents[2] / "tests" / "golden"
CURVES_FILE = "training_curves.json"
REPRODUCE_COMMAND = "python -m properties.reference.run"
BLESS_COMMAND = f"{REPRODUCE_COMMAND} --bless"
# Golden band: max |loss - golden loss| at any step, stated in each golden file. Our run and the
# TF twin (other kernels, other summation orders) agree to ~1e-15 over a whole run, and thread
# counts change nothing: 1e-6 leaves room for other CPUs and libraries, and catches any change
# in what is computed.
LOSS_BAND = 1e-6
BAND_REASON = ("ours and the TF twin agree to ~1e-15 at every step; 1e-6 leaves room for other "
               "BLAS/CPUs and catches any change in what is computed")
TEST_SIZE = 360


def golden_path(name, golden_dir=GOLDEN_DIR):
    return Path(golden_dir) / f"{name}.json"


def read_golden(name, golden_dir=GOLDEN_DIR):
    path = golden_path(name, golden_dir)
    return json.loads(path.read_text()) if path.is_file() else None


def golden_result(rec, golden):
    """A Result: our loss curve against the golden one, within its band; accuracy within its band."""
    fields = dict(layer=f"reference {rec.name}", prop="golden_curve", tensor="loss per step",
                  oracle="golden", dtype="float64", config=rec.config, reproduce=REPRODUCE_COMMAND)
    if golden is None:
        return Result(**fields, passed=False, ratio=math.inf,
                      note=f"no golden file {golden_path(rec.name).name}; create it with {BLESS_COMMAND}")
    band, acc_band = golden["band"]["loss_abs"], golden["band"]["accuracy_abs"]
    fields.update(atol=band, arrays={"layer": np.array(rec.ours), "golden": np.array(golden["losses"])})
    changed = sorted(k for k in golden.get("config", {}) if golden["config"][k] != rec.config.get(k))
    if len(rec.ours) != len(golden["losses"]):
        return Result(**fields, passed=False, ratio=math.inf,
                      note=(f"the run has {len(rec.ours)} steps, the golden curve "
                            f"{len(golden['losses'])}; config differs in {changed}. If the change "
                            f"is intended: {BLESS_COMMAND}"))
    dev = np.abs(np.subtract(rec.ours, golden["losses"]))
    outside = np.flatnonzero(dev > band)
    acc_off = abs(rec.test_accuracy - golden["test_accuracy"])
    passed = not len(outside) and acc_off <= acc_band + 1e-12
    notes = [f"band: |loss - golden| <= {band:g} at every step, |accuracy - golden| <= {acc_band:.4g}"]
    if len(outside):
        i = outside[0]
        notes.append(f"first step outside the band: {i} (ours {rec.ours[i]:.6g}, golden "
                     f"{golden['losses'][i]:.6g}); mean loss ours {np.mean(rec.ours):.4g} vs "
                     f"golden {np.mean(golden['losses']):.4g}")
    if acc_off > acc_band + 1e-12:
        notes.append(f"test accuracy {rec.test_accuracy:.4f}, golden {golden['test_accuracy']:.4f}")
    if changed:
        notes.append(f"config differs from the golden's in {changed}")
    if not passed:
        notes.append(f"if the change is intended, re-bless with {BLESS_COMMAND}")
    return Result(**fields, passed=passed, n_total=len(dev), n_mismatched=len(outside),
                  max_abs_err=float(dev.max(initial=0.0)), ratio=float(dev.max(initial=0.0) / band),
                  worst=[((int(i),), rec.ours[i], golden["losses"][i], float(dev[i])) for i in outside[:8]],
                  note="; ".join(notes), verdict="" if passed else "regression",
                  explanation="" if passed else "the run left the golden curve's band.")


def bless(records, floors, golden_dir=GOLDEN_DIR):
    """Write one golden file per record; none if any run diverged from its twin or fell below
    its accuracy floor (``floors``: model name -> minimal test accuracy)."""
    for rec in records:
        floor = floors[rec.name]
        if rec.divergence is not None or rec.test_accuracy < floor:
            why = (rec.divergence.message() if rec.divergence
                   else f"test accuracy {rec.test_accuracy:.3f} < floor {floor}")
            raise ValueError(f"refusing to bless {rec.name}: {why}")
    written = []
    for rec in records:
        path = golden_path(rec.name, golden_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({
            "model": rec.name, "bless_command": BLESS_COMMAND, "config": rec.config,
            "band": {"loss_abs": LOSS_BAND, "accuracy_abs": 1.0 / TEST_SIZE, "why": BAND_REASON},
            "blessed_with": {"python": platform.python_version(), "numpy": np.__version__},
            "test_accuracy": rec.test_accuracy, "losses": rec.ours}, indent=1) + "\n")
        written.append(path)
    return written


def write_training_curves(folder, records, golden_dir=GOLDEN_DIR):
    """Write ``folder/training_curves.json`` (ours, the twin's and the golden curve per model)."""
    models = []
    for rec in records:
        golden = read_golden(rec.name, golden_dir) or {}
        models.append({"name": rec.name, "steps": list(range(len(rec.ours))), "ours": rec.ours,
                       "tf": rec.tf, "golden": golden.get("losses", []),
                       "band": golden.get("band", {}).get("loss_abs"),
                       "final_accuracy": rec.test_accuracy, "tf_accuracy": rec.tf_test_accuracy,
                       "golden_accuracy": golden.get("test_accuracy"), "seconds": rec.seconds,
                       "max_loss_dev_vs_tf": rec.max_loss_dev,
                       "first_divergence": rec.divergence.message() if rec.divergence else None})
    path = Path(folder) / CURVES_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"models": models}, indent=1))
    return path
