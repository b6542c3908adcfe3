"""The harness checks itself on sequence layers: each planted bug is caught by the property
it violates, with the verdict it deserves, and the laws that cannot see a bug stay quiet.

Also here: the running-statistics property (a wrong running variance is a layer bug, a
convention followed throughout is a convention) and the per-mode rule (a backward that
exists in training mode only is checked there, its forward in both modes).
"""
import json

import pytest

import tests.planted.norm  # noqa: F401  (registers the planted entries)
import tests.planted.sequence  # noqa: F401
from properties.battery import all_properties
from properties.catalog import get
from properties.laws import BROKEN
from properties.replay import main as replay_main
from properties.search import hunt

# every law broken says "layer bug" and what breaking it means (properties.laws.BROKEN;
# shapes_dtypes: a wrong shape or a promoted dtype)

# (planted entry, property, verdict of every failure, tensors every failure must be among)
CAUGHT = [
    ("EmbeddingOverwritesRepeats", "grads_tf", "layer bug", {"dW"}),
    ("EmbeddingOverwritesRepeats", "positions_additive", "layer bug", {"dW"}),
    ("RNNCellUntransposedWh", "grads_tf", "layer bug", {"dh_prev"}),
    ("RNNCellUntransposedWh", "grads_fd", "layer bug", {"dh_prev"}),
    ("RNNNoCarry", "grads_tf", "layer bug", None),
    ("RNNNoCarry", "bptt_cells", "layer bug", None),
    ("RNNIgnoresH0", "forward_tf", "forward differs", {"out"}),
    ("RNNIgnoresH0", "grads_tf", "convention or twin", {"dh0"}),
    ("RNNIgnoresH0", "one_step_cell", "layer bug", None),
    ("LSTMCellForgetUsesNextC", "grads_tf", "layer bug", None),
    ("LSTMCellForgetUsesNextC", "grads_fd", "layer bug", None),
    ("LSTMCellNoCellGrad", "grads_tf", "contract", {"dc_prev"}),
    ("LSTMOverwritesCache", "linear_in_dout", "layer bug", None),
    ("GRUCellFlippedUpdate", "grads_tf", "layer bug", None),
    ("TemporalDenseFloat64", "shapes_dtypes", "layer bug", {"out", "dx"}),
    ("LinearGradAssigned", "accumulates", "layer bug", {"W (second backward)"}),
    ("TemporalDenseBiasLastStep", "grads_tf", "layer bug", {"db"}),
    ("TemporalDenseBiasLastStep", "positions_additive", "layer bug", {"db"}),
    ("TemporalSoftmaxIgnoresMask", "grads_tf", "layer bug", {"dx"}),
    ("TemporalSoftmaxIgnoresMask", "masked_no_grad", "layer bug", {"dx"}),
    ("AttentionSoftmaxWrongAxis", "forward_tf", "forward differs", {"out"}),
    ("AttentionBackwardMissingScale", "grads_tf", "layer bug", {"dq", "dk"}),
    ("AttentionCausalAfterSoftmax", "forward_tf", "forward differs", {"out"}),
    ("AttentionCausalAfterSoftmax", "causal", "layer bug", None),
    ("BatchNormRunningVarMomentum", "running_stats", "layer bug", {"running_var"}),
]


@pytest.mark.planted
@pytest.mark.parametrize("name,prop,verdict,tensors", CAUGHT, ids=[f"{n}-{p}" for n, p, *_ in CAUGHT])
def test_planted_sequence_bug_is_caught(name, prop, verdict, tensors, result_log):
    found = hunt(f"planted.{name}", prop, max_examples=30)
    assert found is not None, f"{prop} did not catch planted.{name}"
    result_log.add(found.failures)
    assert {r.verdict for r in found.failures} == {verdict}, found.failures[0].message()
    if prop in BROKEN:
        assert {r.explanation for r in found.failures} == {BROKEN[prop]}, found.failures[0].message()
    if tensors is not None:
        assert {r.tensor for r in found.failures} <= tensors, found.failures[0].message()
    module = "tests.planted.norm" if name.startswith("BatchNorm") else "tests.planted.sequence"
    assert f"replay --import {module} {prop} " in found.failures[0].reproduce


def test_every_specialised_property_is_exercised_by_some_planted_bug():
    specialised = {n for n, p in all_properties().items() if p.specialised}
    assert specialised and {p for _, p, *_ in CAUGHT} >= specialised


# Bugs a property cannot see by design (so the property that does see them is needed)
INVISIBLE = [
    ("LSTMOverwritesCache", "grads_tf"),          # the first backward is right
    ("LSTMOverwritesCache", "bptt_cells"),
    ("TemporalDenseFloat64", "grads_tf"),         # right values, wrong dtype
    ("BatchNormRunningVarMomentum", "grads_tf"),  # training gradients never read running stats
    ("RNNNoCarry", "causal"),                     # dropping the carry is still causal
]


@pytest.mark.parametrize("name,prop", INVISIBLE, ids=[f"{n}-{p}" for n, p in INVISIBLE])
def test_bug_is_invisible_to_a_property_that_cannot_see_it(name, prop):
    assert hunt(f"planted.{name}", prop, max_examples=15, shrink=False) is None


def test_contract_names_the_missing_gradient():
    found = hunt("planted.LSTMCellNoCellGrad", "grads_fd", max_examples=5, shrink=False)
    (r,) = found.failures
    assert r.tensor == "dc_prev" and "dc_prev is missing" in r.note, r.message()


def test_torch_running_statistics_are_a_convention_warned_not_a_failure():
    """PyTorch's whole convention (momentum weighs the new batch, the unbiased variance) is
    torch.nn.BatchNorm's, right as written: a warning. Half of it stays a failing convention."""
    from properties.battery import all_properties
    from properties.cases import Case
    assert hunt("planted.BatchNormTorchRunningStats", "running_stats", max_examples=20) is None
    case = Case(layer="planted.BatchNormTorchRunningStats",
                config={"channels": 3, "eps": 1e-5, "momentum": 0.9},
                dtype="float64", batch=4, kind="normal", seed=1, extra={"updates": 2})
    warned = [r for r in all_properties()["running_stats"].fn(case) if r.warning]
    assert warned and {r.verdict for r in warned} == {"convention"}
    assert "PyTorch's convention" in warned[0].explanation and "A warning" in warned[0].explanation


def test_reference_batch_norm_running_statistics_match_keras():
    assert hunt("BatchNorm", "running_stats", max_examples=15, shrink=False) is None
    assert hunt("BatchNormNCHW", "running_stats", max_examples=15, shrink=False) is None


def test_training_only_backward_is_checked_per_mode():
    """forward_tf draws both modes; the properties calling backward only training mode."""
    entry, props = get("planted.BatchNormTrainingOnlyBackward"), all_properties()
    assert props["forward_tf"].modes(entry) == (True, False)
    assert props["grads_tf"].modes(entry) == (True,)
    for prop in ("forward_tf", "grads_tf", "linear_in_dout"):
        assert hunt(entry.name, prop, max_examples=12, shrink=False) is None, prop


def test_without_backward_modes_the_inference_backward_is_called_and_raises():
    """The same layer registered without ``backward_modes``: its inference backward raises."""
    from dataclasses import replace

    from properties.registry import register
    plain = register(replace(get("planted.BatchNormTrainingOnlyBackward"),
                             name="planted.BatchNormTrainingOnlyBackward.everymode",
                             backward_modes=None), planted="tests.planted.norm")
    found = hunt(plain.name, "grads_tf", max_examples=20, shrink=False)
    assert found is not None and {r.verdict for r in found.failures} == {"layer raised"}
    assert "training mode only" in found.failures[0].note


def test_replay_line_reruns_a_sequence_failure(capsys):
    found = hunt("planted.AttentionCausalAfterSoftmax", "causal", max_examples=20)
    line = found.failures[0].reproduce
    case_json = json.loads(line.split(" causal ", 1)[1].strip("'"))
    code = replay_main(["--import", "tests.planted.sequence", "causal", json.dumps(case_json)])
    out = capsys.readouterr().out
    assert code == 1 and "[causal] dk vs LAW: FAIL" in out, out
