"""Conv and pooling beyond the battery: their own laws, TF's 'SAME', dilation, strategies, errors.

The pooling laws live in ``properties/pool_laws.py`` (``pool_gradient_mass``,
``one_winner_per_window``: ``case -> [Result]``); ``find_law_failure`` searches for the smallest case
breaking one, as ``properties.search.hunt`` does for the battery's properties.
"""
import numpy as np
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

import layers as L
from oracle.tape import tape_vjp
from oracle.twins import twin_for
from properties.cases import Case, cases
from properties.catalog.conv import TIE_KINDS
from properties.conv_strategies import conv_geometries, pool_geometries
from properties.search import first_failure
from properties.pool_laws import one_winner_per_window, pool_gradient_mass
from properties.battery import all_properties
from properties.catalog import get

POOLS = ["MaxPool2D", "MaxPool2D.overlapping", "AvgPool2D", "AvgPool2D.overlapping",
         "GlobalAvgPool2D"]
MAX_POOLS = ["MaxPool2D", "MaxPool2D.overlapping"]


def find_law_failure(entry_name, law, *, kinds=None, max_examples=30):
    """The minimal case (shrunk by Hypothesis) on which ``law`` fails, with its failing results."""
    entry = get(entry_name)
    return first_failure(cases(entry, kinds=kinds or entry.tf_kinds), law, max_examples=max_examples)


def _check_law(law, entry_name, result_log):
    @given(case=cases(get(entry_name), kinds=TIE_KINDS))
    def check(case):
        results = law(case)
        result_log.add(results)
        failed = [r for r in results if not r.passed]
        assert not failed, "\n\n".join(r.message() for r in failed)

    check()


@pytest.mark.verify
@pytest.mark.parametrize("entry", POOLS)
def test_pooling_sends_back_exactly_the_upstream_gradient_mass(entry, result_log):
    _check_law(pool_gradient_mass, entry, result_log)


@pytest.mark.verify
@pytest.mark.parametrize("entry", MAX_POOLS)
def test_max_pool_gradient_reaches_one_cell_per_window(entry, result_log):
    _check_law(one_winner_per_window, entry, result_log)


def _first_max_reference(x, pool, stride):
    """dx for dout = 1 by the rule itself, one window at a time: the first maximum gets it."""
    dx = np.zeros_like(x)
    n, c, h, w = x.shape
    for i in range(0, h - pool[0] + 1, stride[0]):
        for j in range(0, w - pool[1] + 1, stride[1]):
            win = x[:, :, i:i + pool[0], j:j + pool[1]].reshape(n, c, -1)
            first = win.argmax(axis=-1)          # numpy's argmax: the first of equal maxima
            for a in range(n):
                for b in range(c):
                    r, s = divmod(int(first[a, b]), pool[1])
                    dx[a, b, i + r, j + s] += 1
    return dx


@pytest.mark.parametrize("pool,stride", [((2, 2), (2, 2)), ((3, 2), (1, 1)), ((3, 3), (2, 1))])
def test_tied_maxima_pass_the_gradient_to_the_first_maximum_as_tf_does(pool, stride):
    x = np.random.default_rng(3).integers(0, 2, (2, 2, 7, 6)).astype(np.float64)  # ties everywhere
    x[0, 0] = 0.0                                                    # one channel all tied
    layer = L.MaxPool2D(pool, stride)
    out = layer.forward(x)
    dx = layer.backward(np.ones_like(out))
    tape = tape_vjp(twin_for(layer), layer, [x], {}, np.ones_like(out))
    np.testing.assert_array_equal(dx, _first_max_reference(x, pool, stride))
    np.testing.assert_allclose(dx, tape.dinputs[0], rtol=0, atol=1e-12)


@settings(max_examples=20)
@given(kernel=st.tuples(st.integers(1, 4), st.integers(1, 4)),
       dilation=st.sampled_from([(1, 1), (2, 1), (2, 2)]),
       size=st.tuples(st.integers(1, 6), st.integers(1, 6)), seed=st.integers(0, 2 ** 16))
def test_same_padding_agrees_with_tf_same(kernel, dilation, size, seed):
    """'same' resolves to TF's SAME padding (extra row / column at the bottom / right)."""
    from oracle.tf_runtime import tf
    t = tf()
    rng = np.random.default_rng(seed)
    layer = L.Conv2D(2, 3, kernel, padding="same", dilation=dilation, rng=rng)
    x = rng.standard_normal((1, 2, *size))
    out = layer.forward(x)
    want = t.nn.conv2d(x.transpose(0, 2, 3, 1), layer.params["W"].transpose(2, 3, 1, 0),
                       strides=1, padding="SAME", dilations=[1, *dilation, 1])
    assert out.shape == (1, 3, *size)
    np.testing.assert_allclose(out, want.numpy().transpose(0, 3, 1, 2), rtol=1e-12, atol=1e-12)


def test_dilated_conv_is_checked_against_finite_differences_and_says_tf_was_unavailable():
    entry = get("Conv2D.dilated")
    grads_tf = all_properties()["grads_tf"]
    seen = []

    @settings(max_examples=8, derandomize=True, database=None, deadline=None)
    @given(case=cases(entry, kinds=entry.tf_kinds))
    def check(case):
        layer = case.build()
        assert layer.dilation == (2, 2)
        results = grads_tf.fn(case)
        assert [r.tensor for r in results] == ["dx", "dW", "db"]
        for r in results:
            assert r.oracle == "fd" and r.passed, r.message()
            assert "TF oracle unavailable for this case" in r.note, r.note
            assert "dilation rates larger than 1" in r.note, r.note
        seen.append(case)

    check()
    assert len(seen) == 8


def test_tf_can_differentiate_the_undilated_twin():
    case = Case(layer="Conv2D", config={"in": 2, "out": 2, "kernel": (3, 2), "stride": (2, 1),
                                        "padding": (1, 0), "dilation": (1, 1), "size": (5, 4)},
                dtype="float64", batch=2, kind="normal", seed=0)
    results = all_properties()["grads_tf"].fn(case)
    assert [(r.oracle, r.passed, r.note) for r in results] == [("tf", True, "")] * 3


@pytest.mark.parametrize("strategy,holds", [
    (conv_geometries(), lambda c: c["stride"][0] > 1 and c["stride"][1] > 1),
    (conv_geometries(), lambda c: c["padding"] not in ("valid", "same") and min(c["padding"]) > 0),
    (conv_geometries(), lambda c: c["padding"] == "same" and c["kernel"][0] % 2 == 0),
    (conv_geometries(), lambda c: c["kernel"][0] != c["kernel"][1]),
    (conv_geometries(), lambda c: c["size"][0] != c["size"][1] and c["in"] > 1 and c["out"] > 1),
    (conv_geometries(dilations=(1, 2)), lambda c: c["dilation"] == (2, 1)),
    (pool_geometries(), lambda c: c["stride"][0] < c["pool"][0] and c["stride"][1] < c["pool"][1]),
    (pool_geometries(), lambda c: c["stride"][0] > c["pool"][0]),
], ids=["stride", "padding", "same-even", "non-square-kernel", "non-square-image-channels",
        "dilation", "overlapping-pool", "gapped-pool"])
def test_geometry_strategies_reach_the_hard_cases(strategy, holds):
    find(strategy, holds, settings=settings(max_examples=500, database=None))


@settings(max_examples=60)
@given(config=conv_geometries(dilations=(1, 2)), batch=st.integers(1, 3))
def test_every_drawn_conv_geometry_builds_and_has_an_output(config, batch):
    layer = L.Conv2D(config["in"], config["out"], config["kernel"], stride=config["stride"],
                     padding=config["padding"], dilation=config["dilation"],
                     rng=np.random.default_rng(0))
    x = np.ones((batch, config["in"], *config["size"]))
    out = layer.forward(x)
    (top, bottom), (left, right) = layer.padding
    for axis, (size, pads) in enumerate(zip(config["size"], (top + bottom, left + right))):
        span = layer.dilation[axis] * (layer.kernel_size[axis] - 1) + 1
        assert out.shape[2 + axis] == (size + pads - span) // layer.stride[axis] + 1 >= 1
    assert out.shape[:2] == (batch, config["out"])
    if config["padding"] == "same":
        assert out.shape[2:] == tuple(config["size"])


@settings(max_examples=40)
@given(config=pool_geometries(), overlapping=pool_geometries(overlapping=True))
def test_every_drawn_pool_geometry_has_an_output(config, overlapping):
    assert overlapping["stride"][0] < overlapping["pool"][0]
    for c in (config, overlapping):
        out = L.MaxPool2D(c["pool"], c["stride"]).forward(np.ones((1, c["channels"], *c["size"])))
        assert min(out.shape[2:]) >= 1


RNG = np.random.default_rng(0)


@pytest.mark.parametrize("build,message", [
    (lambda: L.Conv2D(1, 2, 3, stride=0, rng=RNG),
     "Conv2D: stride must be a positive integer or a pair"),
    (lambda: L.Conv2D(1, 2, (3, 0), rng=RNG), r"Conv2D: kernel_size must be .* got \(3, 0\)"),
    (lambda: L.Conv2D(1, 2, 3, dilation=(1, 2, 3), rng=RNG), "Conv2D: dilation must be"),
    (lambda: L.Conv2D(1, 2, 3, padding=-1, rng=RNG), "Conv2D: padding must be an integer >= 0"),
    (lambda: L.Conv2D(1, 2, 3, padding="full", rng=RNG),
     "Conv2D: padding must be an int, a pair, 'valid' or 'same', got 'full'"),
    (lambda: L.Conv2D(1, 2, 3, stride=2, padding="same", rng=RNG),
     "Conv2D: padding='same' needs stride 1"),
    (lambda: L.Conv2D(0, 2, 3, rng=RNG), "Conv2D: in_channels must be a positive integer, got 0"),
    (lambda: L.MaxPool2D(0), "MaxPool2D: pool_size must be a positive integer"),
    (lambda: L.AvgPool2D(2, stride=(1, 0)), r"AvgPool2D: stride must be .* got \(1, 0\)"),
])
def test_impossible_configurations_are_refused_when_built(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_a_window_larger_than_the_padded_input_is_refused_by_forward():
    conv = L.Conv2D(1, 1, (3, 5), padding=(0, 1), rng=RNG)
    with pytest.raises(ValueError, match=r"Conv2D.forward: kernel_size \(3, 5\) spans 3x5, larger "
                                         r"than the input x of shape \(1, 1, 4, 2\) padded"):
        conv.forward(np.ones((1, 1, 4, 2)))
    with pytest.raises(ValueError, match=r"kernel_size \(2, 2\) with dilation \(3, 3\) spans 4x4"):
        L.Conv2D(1, 1, 2, dilation=3, rng=RNG).forward(np.ones((1, 1, 3, 9)))
    with pytest.raises(ValueError, match=r"Conv2D.forward: x must be \(N, C, H, W\) with C = "
                                         r"in_channels = 2, got shape \(1, 3, 4, 4\)"):
        L.Conv2D(2, 1, 1, rng=RNG).forward(np.ones((1, 3, 4, 4)))
    with pytest.raises(ValueError, match=r"MaxPool2D.forward: pool_size \(3, 3\) spans 3x3, larger "
                                         r"than the input x of shape \(2, 1, 2, 5\)"):
        L.MaxPool2D(3).forward(np.ones((2, 1, 2, 5)))
    with pytest.raises(ValueError, match=r"GlobalAvgPool2D.forward: x must be \(N, C, H, W\)"):
        L.GlobalAvgPool2D().forward(np.ones((2, 3)))
