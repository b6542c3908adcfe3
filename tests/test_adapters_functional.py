"""FunctionalLayer / FunctionalLoss on cs231n-style pairs, checked with finite differences and TF."""
import numpy as np
import pytest

from layers.functional import FunctionalLayer, FunctionalLoss
from oracle.compare import compare
from oracle.finite_diff import fd_vjp
from tests.owncode_loading import fd_results, load

RNG = np.random.default_rng(3)
F = load("functional/layers.py")


def failing(results):
    return [r.tensor for r in results if not r.passed]


def test_affine_pair_presents_the_protocol_with_the_users_own_dict():
    params = {"w": RNG.standard_normal((6, 2)), "b": RNG.standard_normal(2)}
    layer = FunctionalLayer(F.affine_forward, F.affine_backward, params)
    assert layer.name == "affine" and layer.params is params
    _, results = fd_results(layer, RNG.standard_normal((3, 2, 3)), RNG.standard_normal((3, 2)))
    assert [r.tensor for r in results] == ["dx", "dw", "db"] and not failing(results)


def test_relu_pair_without_params_returns_dx_alone():
    layer = FunctionalLayer(F.relu_forward, F.relu_backward)
    x = RNG.standard_normal((4, 3)) + 0.5 * np.sign(RNG.standard_normal((4, 3)))   # away from the kink
    _, results = fd_results(layer, x, RNG.standard_normal((4, 3)))
    assert [r.tensor for r in results] == ["dx"] and not failing(results)


@pytest.mark.parametrize("stride", [1, 2])
def test_conv_pair_reads_hyperparameters_from_conv_param(stride):
    conv_param = {"stride": stride, "pad": 1}
    layer = FunctionalLayer(F.conv_forward_naive, F.conv_backward_naive,
                            {"w": RNG.standard_normal((2, 2, 3, 3)), "b": RNG.standard_normal(2)}, conv_param)
    assert layer.stride == stride and layer.pad == 1
    side = (5 + 2 - 3) // stride + 1
    _, results = fd_results(layer, RNG.standard_normal((1, 2, 5, 5)), RNG.standard_normal((1, 2, side, side)))
    assert not failing(results), [r.message() for r in results if not r.passed]


def test_conv_that_ignores_the_stride_is_caught_at_stride_2_only():
    bad = load("functional/layers_buggy.py")
    x, w, b = RNG.standard_normal((1, 1, 5, 5)), RNG.standard_normal((1, 1, 3, 3)), RNG.standard_normal(1)
    for stride, expected in ((1, []), (2, ["dx", "dw"])):
        layer = FunctionalLayer(bad.conv_forward_naive, bad.conv_backward_naive, {"w": w, "b": b},
                                {"stride": stride, "pad": 0})
        side = (5 - 3) // stride + 1
        _, results = fd_results(layer, x, RNG.standard_normal((1, 1, side, side)))
        assert failing(results) == expected


def test_max_pool_pair_with_pool_param():
    layer = FunctionalLayer(F.max_pool_forward_naive, F.max_pool_backward_naive,
                            options={"pool_height": 2, "pool_width": 2, "stride": 2})
    x = RNG.permutation(32).reshape(1, 2, 4, 4).astype(np.float64)   # distinct values: no ties
    _, results = fd_results(layer, x, RNG.standard_normal((1, 2, 2, 2)))
    assert not failing(results)


def test_batchnorm_mode_follows_the_training_flag():
    bn_param = {"mode": "train", "running_mean": RNG.standard_normal(3), "running_var": RNG.uniform(0.5, 2, 3)}
    layer = FunctionalLayer(F.batchnorm_forward, F.batchnorm_backward,
                            {"gamma": RNG.normal(1, 0.2, 3), "beta": RNG.standard_normal(3)}, bn_param)
    layer.training = False
    assert bn_param["mode"] == "test" and layer.training is False
    for training in (True, False):
        layer.training = training
        _, results = fd_results(layer, RNG.standard_normal((4, 3)), RNG.standard_normal((4, 3)))
        assert not failing(results), (training, [r.message() for r in results if not r.passed])


def test_backward_returning_the_wrong_number_of_gradients_is_a_clear_error():
    layer = FunctionalLayer(F.affine_forward, lambda dout, cache: F.affine_backward(dout, cache)[:2],
                            {"w": np.ones((2, 2)), "b": np.zeros(2)})
    layer.forward(np.ones((1, 2)))
    with pytest.raises(ValueError, match=r"affine: <lambda> must return \(dx, dw, db\), got 2 values"
                                         r" \(one gradient per input, then per param.*a hint says so"):
        layer.backward(np.ones((1, 2)))


@pytest.mark.parametrize("fn", [F.softmax_loss, F.svm_loss])
def test_losses_honour_dout_and_match_finite_differences(fn):
    x, y = RNG.standard_normal((4, 3)), RNG.integers(0, 3, 4)
    loss = FunctionalLoss(fn)
    value = loss.forward(x, y)
    assert np.isscalar(value) or np.ndim(value) == 0
    dx = loss.backward(2.5)
    np.testing.assert_allclose(dx, 2.5 * loss.backward(1.0), rtol=1e-15)
    fd = fd_vjp(lambda a: np.asarray(fn(a["x"], y)[0]), {"x": x}, np.float64(2.5),
                rng=np.random.default_rng(0))["x"]
    r = compare(fd.project(dx), fd.values, layer=loss.name, prop="grads_fd", tensor="dx", oracle="fd",
                dtype="float64", excused=fd.excused, mode=fd.mode)
    assert r.passed, r.message()
