"""The comparison model: tolerances, result statistics, non-finite values, the three-way verdict."""
import json

import numpy as np
import pytest

from oracle.compare import compare, three_way
from oracle.tolerance import TOLERANCES, error_ratio, tolerance_for

KW = dict(layer="L", prop="p", tensor="dW", oracle="tf")


def test_result_statistics_point_at_the_worst_element():
    want = np.arange(12, dtype=float).reshape(3, 4)
    got = want.copy()
    got[2, 1] += 1e-3
    got[0, 3] += 1e-5
    r = compare(got, want, dtype="float64", **KW)
    tol = TOLERANCES[("float64", "tf")]
    assert not r.passed and r.n_mismatched == 2 and r.n_total == 12
    assert r.worst[0][0] == (2, 1) and r.worst[1][0] == (0, 3)
    assert r.max_abs_err == pytest.approx(1e-3)
    assert r.scale == 11.0
    assert r.ratio == pytest.approx(1e-3 / (tol.atol * 11 + tol.rtol * 9))
    assert r.margin == pytest.approx(1 - r.ratio)
    assert "dW[2, 1]" in r.message()


def test_a_pass_reports_how_close_it_came():
    want = np.ones(5)
    r = compare(want * (1 + 5e-8), want, dtype="float64", **KW)
    assert r.passed and 0.4 < r.ratio < 0.6 and r.n_mismatched == 0


@pytest.mark.parametrize("seed", range(6))
def test_a_pass_reports_the_numbers_of_the_one_rule(seed):
    """Passing comparisons take a short path: its figures are those of the rule itself
    (``error_ratio``), exact zeros and equal elements included; a float32 layer too."""
    rng = np.random.default_rng(seed)
    want = rng.standard_normal((7, 5)) * 10.0 ** rng.integers(-3, 3)
    want[0, :2] = 0.0
    got = want + rng.uniform(-0.5, 0.5, want.shape) * TOLERANCES[("float64", "tf")].allowed(want)
    if seed % 2:
        got = got.astype(np.float32).astype(np.float64)
        want = got + (want - got) * 1e-3
    want[0, 0], got[0, 0], got[1, 1] = 0.0, 1e-12, want[1, 1]
    err, ratio, scale = error_ratio(got, want, tolerance_for("float64", "tf"))
    with np.errstate(divide="ignore"):
        rel = np.where(err == 0, 0.0, err / np.abs(want))
    r = compare(got, want, dtype="float64", **KW)
    assert ratio.max() <= 1 and r.passed
    assert (r.ratio, r.scale, r.max_abs_err, r.max_rel_err) == (ratio.max(), scale, err.max(),
                                                                rel.max())
    assert r.max_rel_err == np.inf     # the 1e-12 where 0 was expected
    assert r.n_mismatched == 0 and r.n_total == want.size and not r.worst


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_non_finite_value_never_takes_the_short_path(bad):
    want = np.ones(4)
    got = want.copy()
    got[2] = bad
    r = compare(got, want, dtype="float64", **KW)
    assert not r.passed and r.worst[0][0] == (2,)
    r = compare(want, np.where(np.arange(4) == 1, bad, 1.0), dtype="float64", **KW)
    assert not r.passed


def test_shape_mismatch_is_reported_before_values():
    r = compare(np.zeros((3, 2)), np.zeros((2, 3)), dtype="float32", **KW)
    assert not r.passed and "shape (3, 2) differs from the expected (2, 3)" in r.note


def test_nan_and_inf_fail_and_survive_serialisation():
    want = np.array([1.0, np.inf, 2.0])
    got = np.array([np.nan, np.inf, 2.0])
    r = compare(got, want, dtype="float64", **KW)
    assert not r.passed and r.n_mismatched == 1 and r.worst[0][0] == (0,)
    assert "NaN or Inf" in r.note
    plain = r.to_plain(with_arrays=True)
    text = json.dumps(plain, allow_nan=False)
    assert '"nan"' in text and '"inf"' in text


def test_excused_elements_are_counted_not_judged():
    r = compare(np.array([1.0, 5.0]), np.array([1.0, 0.5]), dtype="float64",
                excused=np.array([False, True]), **KW)
    assert r.passed and r.n_excused == 1
    # a failing one says what an excused element is: not always a kink (a layer norm's steep
    # curve at an all-zero row is none)
    bad = compare(np.array([9.0, 5.0]), np.array([1.0, 0.5]), dtype="float64",
                  excused=np.array([False, True]), **KW)
    assert "1 element(s) excused where finite differences did not settle" in bad.message()


def test_an_excused_estimate_across_a_jump_does_not_widen_the_others_bar():
    """A finite-difference estimate across a jump is about 1/h (1e3 and more); excused, it
    set the scale of the absolute tolerance all the same, and an error of 1e-5 on a gradient
    of 0.3 passed at atol 1e-7 x 1e3. The scale is the judged elements' now."""
    want = np.array([0.3, 0.2, 1030.0, -0.1])
    got = want + np.array([2e-5, 0.0, -1030.0, 0.0])
    excused = np.array([False, False, True, False])
    r = compare(got, want, dtype="float64", excused=excused, **dict(KW, oracle="fd"))
    assert not r.passed and r.n_mismatched == 1 and r.scale == 1.0
    assert compare(got, want, dtype="float64", **dict(KW, oracle="fd")).scale == 1030.0


def test_overrides_replace_single_values():
    tol = tolerance_for("float32", "fd", {"fd": {"rtol": 1e-2}, ("float32", "fd"): {"atol": 1e-3}})
    assert (tol.rtol, tol.atol) == (1e-2, 1e-3)
    with pytest.raises(KeyError, match="no tolerance for dtype int64"):
        tolerance_for("int64", "tf")


@pytest.mark.parametrize("layer,tf,fd,excused,verdict", [
    ([1.0, 2.0], [1.0, 2.0], [1.0, 2.0], None, "agree"),
    ([1.0, 3.0], [1.0, 2.0], [1.0, 2.0], None, "layer bug"),
    ([1.0, 3.0], [1.0, 2.0], [1.0, 3.0], None, "convention or twin"),
    ([1.0, 2.0], [1.0, 2.0], [1.0, 9.0], None, "fd artifact"),
    ([1.0, 1.0], [1.0, 0.0], [1.0, 0.5], [False, True], "kink convention"),
    ([1.0, 1.0 + 1e-6], [1.0, 1.0], [1.0, 1.0], None, "below fd resolution"),
    ([1.0 + 1e-6, 1.0], [1.0, 0.0], [1.0, 0.5], [False, True], "below fd resolution"),
    ([1.0, 1.0], [2.0, 0.0], [3.0, 0.5], None, "all disagree"),
    # inf where TF is finite, at an element finite differences excused: no kink convention
    ([1.0, np.inf], [1.0, 26.7], [1.0, 0.5], [False, True], "layer bug"),
    ([np.nan, 2.0], [1.0, 2.0], [1.0, 2.0], None, "layer bug"),
])
def test_three_way_names_the_odd_one_out(layer, tf, fd, excused, verdict):
    got, why = three_way(np.array(layer), np.array(tf), np.array(fd), dtype="float64",
                         fd_excused=None if excused is None else np.array(excused))
    assert got == verdict and why


def test_a_gradient_not_finite_where_tfs_is_says_so():
    from oracle.compare import NOT_FINITE
    got, why = three_way(np.array([1.0, np.inf]), np.array([1.0, 26.7]), np.array([1.0, 0.5]),
                         dtype="float64", fd_excused=np.array([False, True]))
    assert (got, why) == ("layer bug", NOT_FINITE)


def test_three_way_with_one_oracle_missing():
    assert three_way(np.ones(2), None, np.zeros(2), dtype="float64")[0] == "layer vs fd"
    assert three_way(np.ones(2), np.zeros(2), None, dtype="float64")[0] == "layer vs tf"


def test_a_note_already_said_is_not_said_again():
    from oracle.result import join_notes
    said = "TF oracle unavailable for this case (no TF twin matched); checked against FD only"
    assert join_notes(said, "", "no TF twin matched", "batch 1 then 2") == \
        said + ". batch 1 then 2"
    assert join_notes("a", "b", "a") == "a. b"


def test_notes_joined_read_as_sentences():
    """Each note but the last ends with a closing mark: "... / N the layer's tensor contains
    NaN" ran two notes into one."""
    from oracle.result import join_notes
    assert join_notes("checked against (p - t) / N", "the layer's tensor contains NaN or Inf") \
        == "checked against (p - t) / N. the layer's tensor contains NaN or Inf"
    assert join_notes("NumPy reported underflow.", "x") == "NumPy reported underflow. x"


def test_a_directional_comparison_names_directions_not_elements():
    """Along random directions the compared values are projections <grad, v_k>: the message
    counts and points at directions, never at elements of the tensor."""
    r = compare(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.5, 3.0]), dtype="float64",
                mode="directional", **{**KW, "tensor": "dW1", "oracle": "fd"})
    text = r.message()
    assert "1 of 3 directions outside tolerance" in text and "at direction 1:" in text
    assert "dW1[1]" not in text and "elements" not in text
