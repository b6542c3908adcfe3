"""The reference training run: the main job's training check (``./harness verify``).

Three models built from the project's layers train on scikit-learn's digits in
float64, each next to a TF twin from identical weights on identical batches
(properties/reference/run.py). Checked here: the two agree at every step, our loss
curve stays within the golden file's band, the networks learn, and a plain run
never rewrites the golden files. The curves go to ``training_curves.json`` in
the report folder for the HTML report.
"""
import hashlib
import json
import math
import time

import numpy as np
import pytest

from properties.reference import run as R
from reports.plugin import record_summary, report_dir

# slow: the module shares one expensive run (kept on one xdist worker: conftest.py)
pytestmark = pytest.mark.slow


def golden_digests():
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(R.GOLDEN_DIR.glob("*.json"))}


@pytest.fixture(scope="module")
def reference(request):
    """Every model run once per session: (records by name, seconds, golden digests before, curves file)."""
    before = golden_digests()
    t0 = time.perf_counter()
    records = {rec.name: rec for rec in R.run_all()}
    seconds = time.perf_counter() - t0
    folder = report_dir(request.config)
    path = R.write_training_curves(folder, records.values()) if folder else None
    return records, seconds, before, path


@pytest.mark.verify
def test_reference_run_time_and_curves(reference, request):
    records, seconds, _, path = reference
    steps = sum(len(r.ours) for r in records.values())
    record_summary(request.node, f"reference training run: {len(records)} models, {steps} steps, "
                   f"{seconds:.1f} s (" + ", ".join(f"{n} {r.seconds:.1f} s" for n, r in records.items())
                   + ")" + (f"; curves in {path}" if path else ""))
    if path is not None:
        models = {m["name"]: m for m in json.loads(path.read_text())["models"]}
        assert set(models) == set(R.SPECS)
        for name, m in models.items():
            assert len(m["ours"]) == len(m["tf"]) == len(m["golden"]) == len(records[name].ours)


@pytest.mark.verify
@pytest.mark.parametrize("name", list(R.SPECS))
def test_training_agrees_with_tf_twin_at_every_step(reference, name, result_log):
    rec = reference[0][name]
    res = R.twin_result(rec)
    result_log.add([res])
    assert rec.divergence is None, rec.divergence.message()
    assert res.passed, res.message()
    spec = R.SPECS[name]
    steps_per_epoch = math.ceil((1797 - R.TEST_SIZE) / spec.batch_size)   # digits has 1,797 images
    assert len(rec.ours) == len(rec.tf) == spec.epochs * steps_per_epoch
    assert rec.test_accuracy == rec.tf_test_accuracy


@pytest.mark.verify
@pytest.mark.parametrize("name", list(R.SPECS))
def test_training_stays_within_the_golden_band(reference, name, result_log):
    rec = reference[0][name]
    res = R.golden_result(rec, R.read_golden(name))
    result_log.add([res])
    assert res.passed, res.message()


@pytest.mark.verify
@pytest.mark.parametrize("name", list(R.SPECS))
def test_the_network_learnt(reference, name):
    rec, floor = reference[0][name], R.SPECS[name].accuracy_floor
    assert rec.test_accuracy > floor, f"{name}: held-out accuracy {rec.test_accuracy:.3f} <= {floor}"
    assert np.mean(rec.ours[-20:]) < 0.25 * np.mean(rec.ours[:20])


def test_a_plain_run_never_rewrites_the_golden_files(reference):
    before = reference[2]
    assert set(before) == {f"{n}.json" for n in R.SPECS}, "a golden file is missing: bless it"
    assert golden_digests() == before


def test_bless_writes_what_the_check_reads_and_the_band_is_enforced(reference, tmp_path):
    rec = reference[0]["ffn_adam"]
    R.bless([rec], tmp_path)
    golden = R.read_golden("ffn_adam", tmp_path)
    assert golden["band"]["loss_abs"] == R.LOSS_BAND and golden["losses"] == rec.ours
    assert R.golden_result(rec, golden).passed
    shifted = R.RunRecord(rec.name, ours=list(rec.ours), config=rec.config,
                          test_accuracy=rec.test_accuracy)
    shifted.ours[100] += 3 * R.LOSS_BAND
    res = R.golden_result(shifted, golden)
    assert not res.passed and res.worst[0][0] == (100,)
    assert "first step outside the band: 100" in res.note and R.BLESS_COMMAND in res.note


def test_bless_refuses_a_run_that_diverged_or_did_not_learn(reference, tmp_path):
    rec = reference[0]["ffn_sgd"]
    bad = R.RunRecord(rec.name, ours=rec.ours, divergence=R.Divergence(3, 0, "loss", "layer 0", ""),
                      test_accuracy=rec.test_accuracy)
    with pytest.raises(ValueError, match="refusing to bless ffn_sgd: step 3"):
        R.bless([bad], tmp_path)
    poor = R.RunRecord(rec.name, ours=rec.ours, test_accuracy=0.5)
    with pytest.raises(ValueError, match="accuracy 0.500 < floor"):
        R.bless([poor], tmp_path)
    assert not list(tmp_path.iterdir())
