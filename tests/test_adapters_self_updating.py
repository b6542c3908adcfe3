"""SelfUpdatingLayer: gradients recovered exactly from the user's own update, the user's layer left untrained."""
import numpy as np
import pytest

from layers.self_updating import SelfUpdatingLayer
from tests.owncode_loading import fd_results, load

RNG = np.random.default_rng(5)


def failing(results):
    return [r.tensor for r in results if not r.passed]


def seed001(path="self_updating/linear_global_lr.py"):
    mod = load(path)
    np.random.seed(0)
    net = mod.NetWork()
    layer = net.linear_1
    return mod, net, layer, SelfUpdatingLayer(layer, "update", forward="__call__", forward_args=(net,))


def test_update_with_a_module_global_lr_gives_the_exact_gradient_and_trains_nothing():
    mod, net, inner, layer = seed001()
    w0, b0 = inner.weight, inner.bias
    values = w0.copy(), b0.copy()
    assert layer.route == ("global", "lr")
    x, dout = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 8))
    out = layer.forward(x)
    dx = layer.backward(dout)
    delta = inner.activation.diff(out) * dout
    np.testing.assert_array_equal(layer.grads["weight"], x.T @ delta)       # exact, not approximately
    np.testing.assert_array_equal(layer.grads["bias"], delta.sum(axis=0))
    np.testing.assert_array_equal(dx, delta @ w0.T)
    assert layer.recovery == {"weight": "recorded", "bias": "recorded"}
    assert inner.weight is w0 and inner.bias is b0                            # live: the user's arrays
    np.testing.assert_array_equal(inner.weight, values[0])                   # and untrained
    np.testing.assert_array_equal(inner.bias, values[1])
    assert mod.lr == 0.1                                                      # the global is restored
    assert layer.params["weight"] is inner.weight


def test_seed001_gradients_match_finite_differences_and_the_averaged_bias_is_caught():
    x, dout = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 8))
    _, _, _, good = seed001()
    _, results = fd_results(good, x, dout)
    assert not failing(results), [r.message() for r in results if not r.passed]
    _, _, _, bad = seed001("self_updating/linear_global_lr_buggy.py")
    _, results = fd_results(bad, x, dout)
    assert failing(results) == ["dbias"]
    _, results = fd_results(bad, x[:1], dout[:1])          # batch size 1 hides it
    assert not failing(results)


def test_seed003_cnn_single_images_learn_rate_argument_and_attribute():
    mod = load("self_updating/cnn_single_image.py")
    np.random.seed(1)
    conv, soft = mod.Conv3x3(2), mod.Softmax(3 * 3 * 2, 4, learn_rate=0.005)
    conv_layer = SelfUpdatingLayer(conv, "backprop", per_sample=True)
    soft_layer = SelfUpdatingLayer(soft, "backprop", per_sample=True)
    assert conv_layer.route == ("kwarg", "learn_rate") and soft_layer.route == ("attr", "learn_rate")
    assert list(conv_layer.params) == ["filters"] and list(soft_layer.params) == ["weights", "biases"]
    images = RNG.standard_normal((2, 5, 5))
    filters = conv.filters.copy()
    conv_layer.forward(images)
    assert conv_layer.backward(RNG.standard_normal((2, 3, 3, 2))) is None      # Conv3x3 returns no dx
    np.testing.assert_array_equal(conv.filters, filters)
    maps = RNG.standard_normal((2, 3, 3, 2))
    _, results = fd_results(soft_layer, maps, RNG.standard_normal((2, 4)))
    assert not failing(results), [r.message() for r in results if not r.passed]
    assert soft.learn_rate == 0.005


def test_conv3x3_filter_gradient_matches_finite_differences():
    mod = load("self_updating/cnn_single_image.py")
    np.random.seed(2)
    layer = SelfUpdatingLayer(mod.Conv3x3(2), "backprop", per_sample=True)
    images, dout = RNG.standard_normal((2, 5, 5)), RNG.standard_normal((2, 3, 3, 2))
    layer.forward(images)
    assert layer.backward(dout) is None
    from oracle.finite_diff import fd_vjp
    fd = fd_vjp(lambda a: np.stack([_conv(a["filters"], im) for im in images]),
                {"filters": layer.params["filters"]}, dout, rng=np.random.default_rng(0))["filters"]
    np.testing.assert_allclose(fd.project(layer.grads["filters"]), fd.values, rtol=1e-6, atol=1e-8)


def _conv(filters, image):
    out = np.zeros((image.shape[0] - 2, image.shape[1] - 2, len(filters)))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(image[i:i + 3, j:j + 3] * filters, axis=(1, 2))
    return out


class Rebinding:
    """Updates by ``W = W - lr * g`` and ``b += -lr * g``; lr an attribute named ``learning_rate``."""

    def __init__(self):
        self.W = np.array([[0.1, 0.7], [0.3, -1.1]])
        self.b = np.array([1e8, -3.0])                     # a large value: W - g rounds
        self.learning_rate = 0.25

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backprop(self, dout):
        self.W = self.W - self.learning_rate * (self.x.T @ dout)
        self.b += -self.learning_rate * dout.sum(axis=0)
        return dout @ self.W.T


def test_rebinding_and_add_negative_updates_are_recorded_exactly():
    inner = Rebinding()
    layer = SelfUpdatingLayer(inner)
    x, dout = RNG.standard_normal((2, 2)), RNG.standard_normal((2, 2)) * 1e-3
    layer.forward(x)
    layer.backward(dout)
    np.testing.assert_array_equal(layer.grads["W"], x.T @ dout)
    np.testing.assert_array_equal(layer.grads["b"], dout.sum(axis=0))    # 1e8 - g would lose digits
    assert layer.recovery == {"W": "recorded", "b": "recorded"} and inner.learning_rate == 0.25


def test_slice_updates_fall_back_to_the_difference_and_say_so():
    class Sliced(Rebinding):
        def backprop(self, dout):
            g = self.x.T @ dout
            for i in range(len(self.W)):
                self.W[i] -= self.learning_rate * g[i]
            self.b -= self.learning_rate * dout.sum(axis=0)
            return dout @ self.W.T

    layer = SelfUpdatingLayer(Sliced())
    x, dout = RNG.standard_normal((2, 2)), RNG.standard_normal((2, 2))
    layer.forward(x)
    layer.backward(dout)
    assert layer.recovery["W"] == "difference" and layer.recovery["b"] == "recorded"
    np.testing.assert_allclose(layer.grads["W"], x.T @ dout, rtol=1e-14, atol=1e-15)


def test_a_layer_without_a_learning_rate_is_a_clear_error():
    class NoRate:
        def __init__(self):
            self.W = np.ones(2)

        def forward(self, x):
            return x * self.W

        def backprop(self, dout):
            return dout

    with pytest.raises(ValueError, match=r"SelfUpdatingLayer\(NoRate.backprop\): cannot find the "
                                         r"learning rate.*pass lr_name="):
        SelfUpdatingLayer(NoRate())


class ScaledDx:
    """A dense layer stepping its own weights in backward(d, lr), its dx right or, as a slip
    does, scaled by the learning rate (right only at lr = 1)."""

    def __init__(self, scale_dx_by_lr=False):
        self.W, self.b, self.scaled = RNG.standard_normal((4, 3)), RNG.standard_normal(3), \
            scale_dx_by_lr

    def forward(self, inputs):
        self.inputs = inputs
        return inputs @ self.W + self.b

    def backward(self, grad_out, lr):
        grad_in = (lr if self.scaled else 1.0) * (grad_out @ self.W.T)
        self.b -= lr * grad_out.sum(axis=0)
        self.W -= lr * (self.inputs.T @ grad_out)
        return grad_in


def test_the_update_is_recorded_at_a_learning_rate_that_shows_a_dx_scaled_by_it():
    """The recorded call runs at lr 0.5, the update divided by it exactly: the gradients are
    the exact ones, and a dx multiplied by the learning rate is caught (at lr 1 it was right)."""
    x, dout = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 3))
    good = ScaledDx()
    layer = SelfUpdatingLayer(good, "backward")
    layer.forward(x)
    dx = layer.backward(dout)
    np.testing.assert_array_equal(layer.grads["W"], x.T @ dout)
    np.testing.assert_array_equal(layer.grads["b"], dout.sum(axis=0))
    np.testing.assert_array_equal(dx, dout @ good.W.T)
    _, results = fd_results(layer, x, dout)
    assert not failing(results), [r.message() for r in results if not r.passed]
    _, results = fd_results(SelfUpdatingLayer(ScaledDx(scale_dx_by_lr=True), "backward"), x, dout)
    assert failing(results) == ["dx"]
