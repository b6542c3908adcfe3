"""The optimizer checks and the reference run check themselves on planted bugs.

Each broken optimizer must be caught by the Keras trajectory property (or the
in-place law) on drawn cases; a checkpoint that drops the moments by the resume
test; a layer that only learns more slowly by the golden curve alone, while
every gradient property passes; and the reference run must name the layer or
optimizer responsible when it parts from its twin.
"""
import dataclasses

import numpy as np
import pytest

import tests.planted.core as core
import tests.planted.optim as P
from properties.reference import run as R
from properties.cases import HARNESS
from properties.search import first_failure, hunt
from properties.optimizer_checks import optimizer_cases, trajectory_results
from tests.test_optimizers import resumed_equals_uninterrupted


def hunt_optimizer(kind, cls, *, max_examples=40, **case_options):
    """The first drawn case on which ``cls`` (posing as ``kind``) fails, with its failures; or None.

    No shrinking (it would cost a minute): the assertions below hold for any failing case.
    """
    return first_failure(optimizer_cases(kinds=[kind], **case_options),
                         lambda case: trajectory_results(case, cls),
                         max_examples=max_examples, shrink=False)


# (kind it poses as, planted class, property that must fail, what any failing case must have)
CAUGHT = [
    ("Adam", P.AdamNoBiasCorrection, "keras_trajectory", lambda case: case.hyper["bias_correction"]),
    ("SGD", P.SGDRebinds, "in_place", lambda case: True),
    ("Momentum", P.MomentumForgetsVelocity, "keras_trajectory",
     lambda case: case.steps >= 2 and case.hyper["beta"] > 0),
    ("Adam", P.AdamCounterPerParam, "keras_trajectory", lambda case: len(case.shapes) >= 2),
]


@pytest.mark.planted
@pytest.mark.parametrize("kind,cls,prop,needs", CAUGHT, ids=[c[1].__name__ for c in CAUGHT])
def test_planted_optimizer_is_caught(kind, cls, prop, needs, result_log):
    found = hunt_optimizer(kind, cls)
    assert found is not None, f"no drawn case caught {cls.__name__}"
    case, failures = found
    result_log.add(failures)
    assert prop in {r.prop for r in failures}, failures[0].message()
    assert needs(case), f"the case {case} should not be able to show the bug"
    assert all(r.layer == cls.__name__ and r.verdict == "optimizer bug" for r in failures)
    assert f"{HARNESS} replay optimizer " in failures[0].reproduce


def test_rebinding_also_breaks_the_trajectory_seen_by_the_arrays():
    case, failures = hunt_optimizer("SGD", P.SGDRebinds)
    assert {"in_place", "keras_trajectory"} <= {r.prop for r in failures}


def test_counter_per_param_is_invisible_with_one_param():
    """Why the strategy draws several params: with one, the per-param counter is correct Adam."""
    assert hunt_optimizer("Adam", P.AdamCounterPerParam, max_examples=15, max_params=1) is None


def test_checkpoint_without_moments_does_not_resume_the_trajectory(tmp_path):
    make = lambda: P.AdamStateNotCheckpointed(0.01)
    (full, _), (resumed, _), _ = resumed_equals_uninterrupted(make, tmp_path / "c.npz")
    first_update_after_resume = len(full) // 2          # resumed after 2 of 4 epochs
    parted = next(i for i, (a, b) in enumerate(zip(full, resumed)) if a != b)
    assert parted == first_update_after_resume + 1      # the loss after the first resumed update


# -- the reference run --------------------------------------------------------------------

@pytest.fixture(scope="module")
def digits():
    return R.load_digits()


@pytest.mark.planted
def test_slow_learning_layer_passes_gradient_checks_but_not_the_golden_curve(digits, result_log):
    for prop in ("grads_tf", "grads_fd"):
        assert hunt("planted.DenseTimidInit", prop, max_examples=12) is None, prop
    rec = R.run_model(R.SPECS["ffn_sgd"], digits, layers={"dense": P.DenseTimidInit})
    assert rec.divergence is None, "the twin starts from the same weights: they must agree"
    assert rec.test_accuracy > R.SPECS["ffn_sgd"].accuracy_floor, "the floor alone would not see it"
    golden = R.read_golden("ffn_sgd")
    res = R.golden_result(rec, golden)
    result_log.add([res])
    assert not res.passed and "first step outside the band" in res.note
    assert np.mean(rec.ours) > 1.5 * np.mean(golden["losses"]), "it learns more slowly"


@pytest.mark.parametrize("spec,layers,what,culprit", [
    ("ffn_sgd", {"dense": core.DenseBiasMean}, "gradients", "layer 4 (DenseBiasMean"),
    ("ffn_sgd", {"dense": P.DenseIgnoresBias}, "loss", "layer 0 (DenseIgnoresBias"),
    ("ffn_adam", {}, "params", "the optimizer AdamNoBiasCorrection("),
], ids=["layer-backward", "layer-forward", "optimizer"])
def test_first_divergence_names_the_culprit(digits, spec, layers, what, culprit):
    spec = R.SPECS[spec]
    if not layers:
        spec = dataclasses.replace(spec, optimizer=lambda: P.AdamNoBiasCorrection(0.005))
    rec = R.run_model(spec, digits, layers=layers, stop_at_divergence=True)
    d = rec.divergence
    assert d is not None and d.what == what and d.culprit.startswith(culprit), d and d.message()
    assert d.step == (0 if what == "gradients" else 1)
    assert not R.twin_result(rec).passed


def test_replay_line_reruns_an_optimizer_case(capsys):
    import shlex

    from properties.replay import main as replay_main
    case, failures = hunt_optimizer("Adam", P.AdamCounterPerParam)
    argv = shlex.split(failures[0].reproduce)[2:]
    assert argv[0] == "optimizer"
    assert replay_main(argv) == 0          # the line names the real Adam, which is correct
    assert " 0 failed" in capsys.readouterr().out
