"""The harness checks itself on conv and pooling: each planted bug is caught, and shrinks small."""
import numpy as np
import pytest

from properties.ties import ALL_EQUAL, ALL_REPEATED, EXPLAIN as TIES_EXPLAIN
from properties.ties import EXPLAIN_ALL_TIED as ALL_TIED

import tests.planted.conv  # noqa: F401  (registers the planted entries)
from properties.search import hunt
from tests.diagnosis_classes import check_own_class
from properties.pool_laws import one_winner_per_window, pool_gradient_mass
from tests.test_conv_laws import find_law_failure

# (planted entry, battery property expected to catch it, verdict expected on every failure or None)
CAUGHT = [
    ("Conv2DStrideIgnoredInBackward", "grads_tf", "layer bug"),
    ("Conv2DStrideIgnoredInBackward", "grads_fd", "layer bug"),
    ("Conv2DChannelSumDropped", "grads_tf", "layer bug"),
    ("Conv2DChannelSumDropped", "grads_fd", "layer bug"),
    ("Conv2DPaddingCroppedWrongly", "grads_tf", "layer bug"),
    ("Conv2DPaddingCroppedWrongly", "grads_fd", "layer bug"),
    ("Conv2DKernelNotFlipped", "grads_tf", "layer bug"),
    ("Conv2DKernelNotFlipped", "grads_fd", "layer bug"),
    ("Conv2DDilatedChannelSumDropped", "grads_tf", "layer vs fd"),
    ("MaxPoolAllTiedMaxima", "grads_tf", "layer bug"),   # a tie's total doubled (properties.ties)
    ("MaxPoolOverlapAssigned", "grads_tf", "layer bug"),
    ("AvgPoolNoDivision", "grads_tf", "layer bug"),
    ("AvgPoolNoDivision", "grads_fd", "layer bug"),
]

# (planted entry, law expected to catch it)
CAUGHT_BY_LAW = [
    ("MaxPoolAllTiedMaxima", pool_gradient_mass),
    ("MaxPoolAllTiedMaxima", one_winner_per_window),
    ("MaxPoolOverlapAssigned", pool_gradient_mass),
    ("AvgPoolNoDivision", pool_gradient_mass),
]


@pytest.mark.planted
@pytest.mark.parametrize("name,prop,verdict", CAUGHT, ids=[f"{e}-{p}" for e, p, _ in CAUGHT])
def test_planted_conv_bug_is_caught(name, prop, verdict, result_log):
    entry = f"planted.{name}"
    found = hunt(entry, prop, max_examples=30)
    assert found is not None, f"{prop} did not catch {entry}"
    result_log.add(found.failures)
    first = found.failures[0]
    assert first.layer == entry and first.prop == prop
    assert {r.verdict for r in found.failures} == {verdict}, first.message()
    assert f"--import tests.planted.conv {prop} " in first.reproduce
    check_own_class(entry, prop, found)    # its own diagnosis or none (tests/diagnosis_classes.py)


@pytest.mark.planted
@pytest.mark.parametrize("name,law", CAUGHT_BY_LAW,
                         ids=[f"{e}-{law.__name__}" for e, law in CAUGHT_BY_LAW])
def test_planted_pool_bug_breaks_its_law(name, law, result_log):
    found = find_law_failure(f"planted.{name}", law)
    assert found is not None, f"{law.__name__} did not catch planted.{name}"
    result_log.add(found.failures)
    assert found.failures[0].prop == law.__name__ and found.failures[0].note


def test_the_dilated_bug_is_judged_by_finite_differences_and_says_so():
    found = hunt("planted.Conv2DDilatedChannelSumDropped", "grads_tf", max_examples=30)
    failed = found.failures
    assert [r.tensor for r in failed] == ["dx"] and failed[0].oracle == "fd"
    assert "TF oracle unavailable for this case" in failed[0].note
    assert "verdict: layer vs fd" in failed[0].message()


def test_the_tie_bug_is_invisible_to_finite_differences():
    """Away from tied maxima, sending dout to every maximum is correct: FD must not flag it."""
    assert hunt("planted.MaxPoolAllTiedMaxima", "grads_fd", max_examples=30) is None


def test_the_tie_bug_fails_only_where_maxima_are_tied():
    found = hunt("planted.MaxPoolAllTiedMaxima", "grads_tf", max_examples=30)
    res, x = found.failures[0], found.case.inputs()[0]
    # ties come from the tie kinds or, since Hypothesis draws small inputs' values, from any kind:
    # the shrunk input is then itself a tie (all values 0.0)
    assert found.case.kind in ("ties", "feature_map") or len(set(x.ravel().tolist())) < x.size
    for (n, c, i, j), *_ in res.worst:
        assert (x[n, c] == x[n, c, i, j]).sum() > 1, res.message()   # the cell has a tied twin


def test_breaking_ties_the_other_way_is_a_convention_and_duplicating_is_a_bug():
    """Both differ from TF only at tied maxima. Moving each tie's values together, the function
    is smooth: the last-maximum pool sends the right total there (kink convention), the
    every-maximum pool twice as much (layer bug, said with why)."""
    found = hunt("control.MaxPoolLastMaximum", "grads_tf", max_examples=30)
    assert found is not None and {r.verdict for r in found.failures} == {"kink convention"}, \
        found.failures[0].message()
    assert hunt("control.MaxPoolLastMaximum", "grads_fd", max_examples=20) is None
    found = hunt("planted.MaxPoolAllTiedMaxima", "grads_tf", max_examples=30)
    (res,) = found.failures
    assert res.verdict == "layer bug" and res.explanation in (
        TIES_EXPLAIN, ALL_TIED.format(how=ALL_EQUAL), ALL_TIED.format(how=ALL_REPEATED))


def test_the_control_with_the_flip_passes_so_the_missing_flip_is_the_bug():
    for prop in ("grads_tf", "grads_fd"):
        assert hunt("control.Conv2DFlippedKernelDx", prop, max_examples=20) is None


def test_a_conv_failure_shrinks_to_a_case_a_person_can_read():
    found = hunt("planted.Conv2DStrideIgnoredInBackward", "grads_tf", max_examples=30)
    case, config = found.case, found.case.config
    assert case.batch == 1 and config["in"] == 1 and config["out"] == 1
    assert max(config["stride"]) == 2 and min(config["stride"]) == 1, config
    assert config["dilation"] == (1, 1), config
    h, w = config["size"]
    (top, bottom), (left, right) = case.build().padding
    assert h * w <= 6 and (h + top + bottom) * (w + left + right) <= 12, config
    assert [r.tensor for r in found.failures] == ["dx"]
    assert found.failures[0].n_total == h * w


def test_the_tied_direction_moves_every_shared_value_and_nothing_else():
    from properties.ties import tied_direction
    x = np.array([[1.0, 2.0, 1.0], [3.0, 0.5, 2.0]])
    np.testing.assert_array_equal(tied_direction(x), [[1, 1, 1], [0, 0, 1]])
    assert tied_direction(np.arange(4.0)) is None and tied_direction(np.zeros(1)) is None
