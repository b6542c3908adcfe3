"""Finite differences at scale on a function with many kinks, and the 'not judged' outcome."""
import numpy as np

from oracle.compare import compare, worst_indices
from oracle.finite_diff import fd_vjp


def _dense_relu(a):
    return np.maximum(a["x"] @ a["W"] + a["b"], 0.0)


def test_a_dense_relu_at_10k_inputs_is_judged_and_right():
    """Every dense direction crosses one of the 2,400 ReLU kinks; the redrawn sparse
    directions must still judge every tensor, and match the exact VJP there."""
    rng = np.random.default_rng(7)
    x, W, b = rng.standard_normal((50, 100)), rng.standard_normal((100, 48)) * 0.14, np.zeros(48)
    dout = rng.standard_normal((50, 48))
    dz = dout * (x @ W + b > 0)
    exact = {"x": dz @ W.T, "W": x.T @ dz, "b": dz.sum(0)}
    fd = fd_vjp(_dense_relu, {"x": x, "W": W, "b": b}, dout, rng=np.random.default_rng(0))
    for name, g in fd.items():
        assert g.judged and g.excused.sum() <= len(g.excused) // 2, (name, g.support)
        judged = ~g.excused
        np.testing.assert_allclose(g.values[judged], g.project(exact[name])[judged],
                                   rtol=1e-7, atol=1e-9)


def test_all_excused_is_not_judged_neither_pass_nor_fail():
    r = compare(np.array([1.0, 5.0]), np.array([1.0, 0.5]), layer="L", prop="grads_fd",
                tensor="dx", oracle="fd", dtype="float64", excused=np.array([True, True]))
    assert not r.judged and r.outcome == "NOT JUDGED" and r.verdict == "not judged"
    assert "NOT JUDGED" in r.message() and "PASS" not in r.message().splitlines()[0]
    one_judged = compare(np.array([1.0, 5.0]), np.array([1.0, 0.5]), layer="L", prop="p",
                         tensor="dx", oracle="fd", dtype="float64", excused=np.array([True, False]))
    assert one_judged.judged and one_judged.outcome == "FAIL"


def test_worst_indices_equal_a_stable_sort_of_the_whole_array():
    rng = np.random.default_rng(3)
    for ratio in (rng.integers(0, 4, size=(40, 7)).astype(float),   # many ties and zeros
                  rng.random(1000), np.zeros(20), np.array([0.0, 2.0, 2.0]), np.ones(5)):
        order = np.argsort(-ratio, axis=None, kind="stable")[:8]
        assert worst_indices(ratio) == [int(k) for k in order if ratio.flat[k] > 0]


def test_kink_along_tells_a_cone_from_a_smooth_point_and_from_round_off():
    from oracle.finite_diff import kink_along
    x = np.array([0.0, 1.0])
    unit = np.array([1.0, 0.0])
    one = np.ones(1)
    norm = lambda a: np.array([np.sqrt(np.sum(a["x"] ** 2 - np.array([0.0, 1.0])))])   # noqa
    cone = lambda a: np.array([abs(a["x"][0]) + a["x"][1]])                            # noqa
    square = lambda a: np.array([a["x"][0] ** 2 + a["x"][1]])                          # noqa
    huge = lambda a: np.array([1e300 * np.cosh(a["x"][1]) + a["x"][0]])                # noqa
    assert kink_along(cone, {"x": x}, one, "x", unit)[0] == "kink"
    assert kink_along(norm, {"x": x}, one, "x", unit)[0] == "kink"
    assert kink_along(square, {"x": x}, one, "x", unit) == ("smooth", 0.0)
    with np.errstate(over="ignore"):     # (its round-off bound squares 1e300)
        assert kink_along(huge, {"x": x}, one, "x", unit)[0] == "unresolved"


def test_a_step_out_of_the_forwards_domain_is_redrawn_not_judged_as_nan():
    """log(x) at values near 800 beside values near 0.02 (an overflow-kind draw moved into
    (0, inf)): a dense direction's step, scaled to the large values, moved the small ones
    negative, and the NaN estimate was judged: a right layer failed with fd = nan. Such a
    direction is excused and redrawn on fewer coordinates, which judge it."""
    rng = np.random.default_rng(3)
    x = np.where(rng.random((4, 8)) < 0.5, rng.uniform(720, 850, (4, 8)), rng.uniform(0.02, 0.05, (4, 8)))
    dout = rng.standard_normal((4, 8))
    with np.errstate(invalid="ignore"):
        fd = fd_vjp(lambda a: np.log(a["x"]), {"x": x}, dout, rng=np.random.default_rng(0))["x"]
    assert fd.mode == "directional" and fd.judged
    judged = ~fd.excused
    assert np.isfinite(fd.values[judged]).all()
    np.testing.assert_allclose(fd.values[judged], fd.project(dout / x)[judged], rtol=1e-6)
