"""The joint first pass of finite differences: it only ever accepts right gradients.

``fd_joint`` moves every tensor at once; it returns estimates only when every
claimed gradient agrees with them at the tolerance of its own share, else None
(the caller then estimates tensor by tensor, which alone fails a layer).
"""
import numpy as np
import pytest

from oracle.finite_diff import _entries, fd_joint
from oracle.tolerance import tolerance_for

TOL = tolerance_for("float64", "fd")


def _dense_relu(a):
    return np.maximum(a["x"] @ a["W"] + a["b"], 0.0)


def _case(n, d, m, seed=7):
    rng = np.random.default_rng(seed)
    x, W, b = rng.standard_normal((n, d)), rng.standard_normal((d, m)) / np.sqrt(d), \
        rng.standard_normal(m) * 0.1
    dout = rng.standard_normal((n, m))
    dz = dout * (x @ W + b > 0)
    return {"x": x, "W": W, "b": b}, dout, {"x": dz @ W.T, "W": x.T @ dz, "b": dz.sum(0)}


@pytest.mark.parametrize("shape", [(4, 3, 2), (16, 24, 24), (50, 100, 48)])
def test_right_gradients_are_accepted_and_shares_match_them(shape):
    arrays, dout, exact = _case(*shape)
    fd = fd_joint(_dense_relu, arrays, dout, exact, TOL, rng=np.random.default_rng(0))
    assert fd is not None
    for name, g in fd.items():
        assert g.joint and g.mode == "directional" and g.judged and g.shape == arrays[name].shape
        np.testing.assert_allclose(g.values, g.project(exact[name]), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("wrong", ["b mean", "b zero", "W transposed rows", "x one element",
                                   "W tiny relative error"])
@pytest.mark.parametrize("seed", range(5))
def test_a_wrong_gradient_in_any_tensor_is_never_accepted(wrong, seed):
    """Also where the wrong tensor's share is small beside the others' (a bias of 24 against
    a W of 576): the smallest share sets the bar."""
    arrays, dout, exact = _case(16, 24, 24, seed)
    claims = dict(exact)
    if wrong == "b mean":
        claims["b"] = exact["b"] / 16
    elif wrong == "b zero":
        claims["b"] = np.zeros_like(exact["b"])
    elif wrong == "W transposed rows":
        claims["W"] = exact["W"][::-1]
    elif wrong == "x one element":
        claims["x"] = exact["x"].copy()
        claims["x"][3, 5] += 0.05 * np.abs(exact["x"]).max()
    else:
        claims["W"] = exact["W"] * (1 + 1e-3)
    assert fd_joint(_dense_relu, arrays, dout, claims, TOL,
                    rng=np.random.default_rng(seed)) is None or wrong == "x one element"


def test_one_wrong_element_is_found_by_some_directions():
    """A single wrong element of a 384-element dx: each dense direction weighs it with a
    random entry, so three directions miss it only if all three weigh it near zero."""
    rejected = 0
    for seed in range(20):
        arrays, dout, exact = _case(16, 24, 24, seed)
        claims = {**exact, "x": exact["x"].copy()}
        claims["x"][3, 5] += 0.05 * np.abs(exact["x"]).max()
        rejected += fd_joint(_dense_relu, arrays, dout, claims, TOL,
                             rng=np.random.default_rng(seed)) is None
    assert rejected == 20


def test_a_wrong_shape_or_a_nan_claim_is_not_judged_jointly():
    arrays, dout, exact = _case(4, 3, 2)
    rng = np.random.default_rng(0)
    assert fd_joint(_dense_relu, arrays, dout, {**exact, "b": exact["b"][:1]}, TOL, rng=rng) is None
    assert fd_joint(_dense_relu, arrays, dout, {**exact, "b": exact["b"] * np.nan}, TOL,
                    rng=rng) is None


def test_many_kinks_at_100k_inputs_still_accepted_mostly_at_the_first_try():
    """Dense+ReLU at ~100k checked inputs: 24000 ReLUs, and a long step crosses many. The
    step follows the round-off phi really has (which grows as the root of the number of
    output terms, not as their sum), so it is short enough that a dense direction seldom
    crosses one: most draws are judged by the first 6 evaluations (3 directions, a central
    difference at step h each), and a redraw is rare."""
    first_try = 0
    for seed in range(8):
        arrays, dout, exact = _case(160, 320, 150, seed)
        calls = []

        def counted(a):
            calls.append(1)
            return _dense_relu(a)
        assert fd_joint(counted, arrays, dout, exact, TOL,
                        rng=np.random.default_rng(seed)) is not None
        assert len(calls) <= 1 + 6 + 4 * 3 + 6 * 2    # at worst two directions redrawn once
        first_try += len(calls) == 1 + 6
    assert first_try >= 5


def _cancelling(a):
    """x @ W computed the long way round: (x + 1e4) @ W - 1e4 * column sums of W. Its
    round-off is thousands of times what the size of its output suggests."""
    return (a["x"] + 1e4) @ a["W"] - 1e4 * a["W"].sum(0)


@pytest.mark.parametrize("seed", range(5))
def test_round_off_a_forward_hides_never_lets_a_wrong_gradient_through(seed):
    """Round-off above what the step assumed makes the estimates noisy: right claims may then
    be handed to the tensor-by-tensor estimates (None), but a wrong one is never accepted."""
    rng = np.random.default_rng(seed)
    x, W = rng.standard_normal((40, 200)), rng.standard_normal((200, 30)) / np.sqrt(200)
    dout = rng.standard_normal((40, 30))
    exact = {"x": dout @ W.T, "W": x.T @ dout}
    for name, factor in (("W", 1 + 1e-3), ("x", 1 - 1e-3)):
        claims = {**exact, name: exact[name] * factor}
        assert fd_joint(_cancelling, {"x": x, "W": W}, dout, claims, TOL,
                        rng=np.random.default_rng(seed)) is None


def _curved(a):
    """A smooth forward with a large third derivative: a central difference alone is off by
    its truncation error, h**2 / 6 * phi'''."""
    return np.tanh(4.0 * a["x"] @ a["W"])


@pytest.mark.parametrize("seed", range(5))
def test_a_claim_off_by_a_few_tolerances_is_never_accepted_by_the_first_difference(seed):
    """The first, two-evaluation estimate only ever accepts: a right claim is accepted, one off
    by 3 times the tolerance of each element never is."""
    rng = np.random.default_rng(seed)
    x, W = rng.standard_normal((6, 5)) * 3.0, rng.standard_normal((5, 4))
    dout = rng.standard_normal((6, 4))
    dz = dout * 4.0 * (1 - np.tanh(4.0 * x @ W) ** 2)
    exact = {"x": dz @ W.T, "W": x.T @ dz}
    assert fd_joint(_curved, {"x": x, "W": W}, dout, exact, TOL,
                    rng=np.random.default_rng(seed)) is not None
    for name in exact:
        off = exact[name] + 3 * TOL.allowed(exact[name]) * np.sign(rng.standard_normal(
            exact[name].shape))
        assert fd_joint(_curved, {"x": x, "W": W}, dout, {**exact, name: off}, TOL,
                        rng=np.random.default_rng(seed)) is None


def _huge(a):
    """Outputs near 1e6 beside a bias whose gradient is near 1: phi's round-off reaches the
    bias's estimates (a Bilinear on the battery's ``overflow`` values)."""
    return (a["x"] * 1e3) @ (a["W"] * 1e3) + a["b"]


def test_an_estimates_noise_bound_covers_its_round_off_and_no_bug():
    """fd_vjp reports each estimate's round-off bound; the comparison allows it on top of the
    tolerance (``oracle.tolerance.WithSlack``). The true gradient is always within it, and a
    bias gradient off by 1e-3 (a thousand times less than the usual averaged-bias bug) never
    is."""
    from oracle.finite_diff import fd_vjp
    from oracle.tolerance import WithSlack
    misses = 0
    for seed in range(10):
        rng = np.random.default_rng(seed)
        arrays = {"x": rng.standard_normal((4, 3)), "W": rng.standard_normal((3, 5)),
                  "b": rng.standard_normal(5)}
        dout = rng.standard_normal((4, 5))
        fd = fd_vjp(_huge, arrays, dout, rng=rng, names=["b"])["b"]
        assert fd.noise is not None and fd.noise.shape == (5,)
        exact = dout.sum(0)
        tol = WithSlack(TOL.rtol, TOL.atol, fd.noise)
        assert np.all(np.abs(fd.values - exact) <= tol.allowed(fd.values))
        misses += np.any(np.abs(fd.values - exact) > TOL.allowed(fd.values))
        assert np.all(np.abs(fd.values - (exact + 1e-3)) > tol.allowed(fd.values))
    assert misses > 0, "the case should need the slack: the plain tolerance fails a right bias"


@pytest.mark.parametrize("shape", [(), (1,)])
def test_a_one_number_params_claim_is_judged_too(shape):
    """y = a x + b with a and b one number each (0-d or one element): a wrong da is rejected."""
    rng = np.random.default_rng(3)
    x, dout = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    arrays = {"x": x, "a": np.full(shape, 1.5), "b": np.full(shape, 0.1)}
    fn = lambda a: a["a"] * a["x"] + a["b"]     # noqa: E731
    right = {"x": 1.5 * dout, "a": np.full(shape, np.sum(dout * x)), "b": np.full(shape, dout.sum())}
    assert fd_joint(fn, arrays, dout, right, TOL, rng=np.random.default_rng(0)) is not None
    wrong = {**right, "a": 3.0 * right["a"]}
    assert fd_joint(fn, arrays, dout, wrong, TOL, rng=np.random.default_rng(0)) is None


def _shifted_softmax(a):
    """A softmax over scores plus a bias shared by the row: the bias's gradient is exactly 0
    (shift invariance), an attention's key bias."""
    s = a["x"] @ a["W"] + a["c"]
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_a_share_is_accepted_only_well_within_its_tolerance():
    """A tensor whose gradient is 0 has a share made of the others' estimate error: accepted at
    up to 0.99 of its tolerance, a right layer read as one step from failing. The joint pass
    accepts only within half of it; past that, every tensor is estimated on its own."""
    rng = np.random.default_rng(3)
    arrays = {"x": rng.standard_normal((5, 4)), "W": rng.standard_normal((4, 6)),
              "c": np.asarray(0.3)}
    dout = rng.standard_normal((5, 6))
    p = _shifted_softmax(arrays)
    dz = p * (dout - (dout * p).sum(axis=1, keepdims=True))
    exact = {"x": dz @ arrays["W"].T, "W": arrays["x"].T @ dz, "c": np.asarray(0.0)}
    ratios = []
    for seed in range(20):
        fd = fd_joint(_shifted_softmax, arrays, dout, exact, TOL, rng=np.random.default_rng(seed))
        if fd is None:
            continue
        for name, g in fd.items():
            want, got = g.values, g.project(exact[name])
            ratios.append(float(np.max(np.abs(got - want) / TOL.allowed(want))))
    assert ratios and max(ratios) <= 0.5, max(ratios)
    # a claim off by 0.7 of its tolerance is no longer accepted
    arrays2, dout2, right = _case(16, 24, 24, 1)
    claims = dict(right)
    off = 0.7 * (TOL.atol + TOL.rtol * np.abs(right["b"]))
    claims["b"] = right["b"] + off
    assert fd_joint(_dense_relu, arrays2, dout2, claims, TOL, rng=np.random.default_rng(1)) is None


@pytest.mark.parametrize("n", [1, 3, 4, 5, 2 ** 20 + 3])
def test_direction_entries_are_never_zero_symmetric_and_uniform(n):
    """A direction's entries: odd multiples of 2**-15 in (-1, 1) (never 0: a coordinate a
    direction leaves still is a gradient entry no estimate sees), as many of either sign, the
    range covered evenly, written into ``out`` when given, any length (four per raw word)."""
    out = np.full(n, np.nan)
    v = _entries(np.random.default_rng(3), n, out=out)
    assert v is out and v.shape == (n,) and np.all(np.isfinite(v))
    k = v * 2 ** 15
    assert np.all(k == np.round(k)) and np.all(np.abs(k) % 2 == 1) and np.all(np.abs(v) < 1)
    if n > 1000:
        assert abs(np.mean(v > 0) - 0.5) < 0.005
        counts, _ = np.histogram(v, bins=16, range=(-1, 1))
        assert np.all(np.abs(counts / (n / 16) - 1) < 0.05), counts
        assert len(np.unique(k)) == 2 ** 15      # every odd value is drawn
    again = _entries(np.random.default_rng(3), n)
    assert np.array_equal(again, v)              # the generator alone decides them
