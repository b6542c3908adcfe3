"""The harness checks itself: planted bugs in normalisation, dropout and the stack are caught.

Layer bugs are hunted by the battery's properties through the registry; stack
bugs (and layer bugs inside a network) by the network property, which must
also name the first bad layer counting from the loss.
"""
import json

import pytest

import tests.planted.norm  # noqa: F401  (registers the planted entries)
from properties.search import hunt
from tests.diagnosis_classes import check_own_class
from properties.networks import check_network, hunt_network, network_specs
from properties.replay import main as replay_main

PLANTED = "tests.planted.norm"

# (planted entry, property expected to catch it, verdict of every failure, training mode of the case)
CAUGHT = [
    ("planted.BatchNormConstantStats", "grads_tf", "layer bug", True),
    ("planted.BatchNormConstantStats", "grads_fd", "layer bug", True),
    ("planted.BatchNormWrongAxis", "forward_tf", "forward differs", True),
    ("planted.DropoutMissingScale", "grads_tf", "layer bug", True),
    ("planted.DropoutMissingScale", "grads_fd", "layer bug", True),
    ("planted.DropoutActiveInEval", "forward_tf", "forward differs", False),
]


@pytest.mark.planted
@pytest.mark.parametrize("entry,prop,verdict,training", CAUGHT, ids=[f"{e[8:]}-{p}" for e, p, *_ in CAUGHT])
def test_planted_layer_bug_is_caught(entry, prop, verdict, training, result_log):
    found = hunt(entry, prop, max_examples=30)
    assert found is not None, f"{prop} did not catch {entry}"
    result_log.add(found.failures)
    assert {r.verdict for r in found.failures} == {verdict}, found.failures[0].message()
    assert found.case.training is training
    assert f"replay --import {PLANTED} {prop} " in found.failures[0].reproduce
    check_own_class(entry, prop, found)    # its own diagnosis or none (tests/diagnosis_classes.py)


def test_wrong_axis_backward_is_the_derivative_of_its_own_forward():
    """Normalising over the wrong axis is a forward bug: FD agrees with the backward, TF does not."""
    assert hunt("planted.BatchNormWrongAxis", "grads_fd", max_examples=20) is None
    found = hunt("planted.BatchNormWrongAxis", "grads_tf", max_examples=20)
    assert {r.verdict for r in found.failures} == {"convention or twin"}


# (what is swapped into drawn networks, the property that catches it, the localisation verdict)
IN_NETWORKS = [
    ({"sequential": f"{PLANTED}:SequentialBackwardInForwardOrder"}, "network_tf", "stack bug"),
    ({"sequential": f"{PLANTED}:SequentialCopiesParams"}, "network_live_params", "stale params"),
    ({"batchnorm": f"{PLANTED}:BatchNormConstantStats"}, "network_tf", "layer bug"),
    ({"dropout": f"{PLANTED}:DropoutMissingScale"}, "network_tf", "layer bug"),
    ({"batchnorm": f"{PLANTED}:BatchNormWrongAxis"}, "network_tf", "forward differs"),
]


@pytest.mark.planted
@pytest.mark.parametrize("classes,prop,where", IN_NETWORKS,
                         ids=[next(iter(c.values())).split(":")[1] for c, *_ in IN_NETWORKS])
def test_planted_bug_in_a_network_is_caught_and_localised(classes, prop, where, result_log):
    specs = network_specs(classes=classes, norms=("batchnorm",))
    found = hunt_network(specs, max_examples=25)
    assert found is not None, f"the network property did not catch {classes}"
    result_log.add(found.failures)
    assert prop in {r.prop for r in found.failures}, [r.message() for r in found.failures]
    located = [r for r in found.failures if r.prop == "network_localise"]
    assert len(located) == 1 and located[0].verdict == where, located[0].message()
    planted_class = next(iter(classes.values())).split(":")[1]
    if "sequential" not in classes:
        assert planted_class in located[0].tensor, located[0].message()
    assert all("first bad layer, counting from the loss" in r.note
               for r in found.failures if r.prop != "network_localise")
    assert replay_main(["network", json.dumps(found.case)]) == 1, "the replay line must reproduce the failure"


def square_spec(classes, norm=None):
    block = {"width": 3, "init": "xavier", "norm": norm, "act": "tanh", "dropout": 0.0}
    return {"seed": 5, "dtype": "float64", "batch": 3, "in": 3, "training": True, "loss": "mse",
            "blocks": [block, block, {**block, "norm": None, "act": None}], "classes": classes}


def located(results):
    return next(r for r in results if r.prop == "network_localise")


def test_backward_in_forward_order_is_blamed_on_the_stack_not_a_layer():
    """Square layers: forward-order backward runs without a shape error, yet is named precisely."""
    results = check_network(square_spec({"sequential": f"{PLANTED}:SequentialBackwardInForwardOrder"}))
    where = located(results)
    assert where.verdict == "stack bug" and where.tensor == "layer 4 (Dense)", where.message()
    assert "received an upstream gradient that is not dL/d(its output)" in where.explanation
    assert "called loss, 0, 1, 2, 3, 4; from the loss backwards it must call loss, 4, 3, 2, 1, 0" in where.note
    assert not any(r.verdict == "contract" for r in results)


def test_first_bad_layer_is_the_broken_one_nearest_the_loss():
    """Two planted batch norms (layers 1 and 4): the one nearer the loss is named."""
    results = check_network(square_spec({"batchnorm": f"{PLANTED}:BatchNormConstantStats"}, "batchnorm"))
    where = located(results)
    assert where.tensor == "layer 4 (BatchNormConstantStats)" and where.verdict == "layer bug", where.message()
    assert "returns a wrong dx" in where.explanation
    bad = {r.tensor for r in results if r.prop == "network_tf" and not r.passed}
    assert "6.W" not in bad and "0.W" in bad, "only gradients behind the broken layer go wrong"
