"""GradientNetwork and check_gradient_network on users' TwoLayerNets (seeds 000, 004)."""
import numpy as np
import pytest

from layers.gradient_network import GradientNetwork
from properties.owncode_networks import check_gradient_network
from tests.owncode_loading import collect_source, load, run_from

RNG = np.random.default_rng(11)


def build(path, dtype=np.float64):
    np.random.seed(0)
    net = load(path).TwoLayerNet(4, 5, 3, weight_init_std=0.5)
    for k in net.params:                       # biases off zero, as after some training
        net.params[k] += 0.1 * RNG.standard_normal(net.params[k].shape)
    return net


def batch():
    return RNG.standard_normal((3, 4)), RNG.integers(0, 3, 3)


def test_adapter_presents_loss_and_gradient_with_the_users_params():
    net = build("networks/two_layer_net.py")
    view = GradientNetwork(net)
    assert view.params is net.params and view.layer_names == ["Affine1", "Relu1", "Affine2"]
    x, t = batch()
    loss = view.loss_forward(x, t)
    assert loss == net.loss(x, t)
    assert view.backward(2.0) is None
    np.testing.assert_array_equal(view.grads["W1"], 2.0 * net.gradient(x, t)["W1"])


def test_correct_network_passes_every_gradient():
    net = build("networks/two_layer_net.py")
    w1 = net.params["W1"].copy()
    results = check_gradient_network(net, *batch(), rng=np.random.default_rng(0))
    assert [r.tensor for r in results] == ["W1", "b1", "W2", "b2"]
    assert all(r.passed for r in results), [r.message() for r in results if not r.passed]
    assert results[0].config["layer"] == "Affine1"
    np.testing.assert_array_equal(net.params["W1"], w1)          # the user's network is untouched


def test_buggy_relu_is_named_as_the_first_bad_layer():
    results = check_gradient_network(build("networks/two_layer_net_buggy.py"), *batch(),
                                     rng=np.random.default_rng(0))
    failed = {r.tensor: r for r in results if not r.passed}
    assert set(failed) == {"W1", "b1", "Relu1"}
    assert failed["W1"].verdict == "layer bug"
    assert "first bad layer, counting from the loss: Relu1" in failed["W1"].note
    assert failed["Relu1"].prop == "network_localise" and "its dx differs" in failed["Relu1"].explanation


def test_a_bad_affine_gradient_is_localised_to_that_affine():
    mod = load("networks/two_layer_net.py")

    class MeanBias(mod.Affine):
        def backward(self, dout):
            dx = super().backward(dout)
            self.db = dout.mean(axis=0)
            return dx

    net = build("networks/two_layer_net.py")
    net.layers["Affine2"] = MeanBias(net.params["W2"], net.params["b2"])
    results = check_gradient_network(net, *batch(), rng=np.random.default_rng(0))
    assert [r.tensor for r in results if not r.passed] == ["b2", "Affine2"]
    assert "its db differs" in results[-1].explanation


def test_gradients_wired_to_the_wrong_keys_are_a_stack_bug():
    mod = load("networks/two_layer_net.py")

    class Swapped(mod.TwoLayerNet):
        def gradient(self, x, t):
            grads = super().gradient(x, t)
            grads["b1"], grads["b2"] = grads["b2"], grads["b1"]
            return grads

    np.random.seed(0)
    net = Swapped(4, 3, 3, weight_init_std=0.5)
    results = check_gradient_network(net, *batch(), rng=np.random.default_rng(0))
    assert {r.tensor for r in results if not r.passed} == {"b1", "b2", "gradient(x, t)"}
    assert results[-1].verdict == "stack bug"


def test_float32_network_is_checked_against_float64_differences():
    net = build("networks/two_layer_net.py")
    for k in net.params:
        net.params[k] = net.params[k].astype(np.float32)
    for name, (w, b) in {"Affine1": ("W1", "b1"), "Affine2": ("W2", "b2")}.items():
        net.layers[name].W, net.layers[name].b = net.params[w], net.params[b]
    x, t = batch()
    results = check_gradient_network(net, x.astype(np.float32), t, rng=np.random.default_rng(0))
    assert all(r.passed and r.dtype == "float32" for r in results), [r.message() for r in results]


def test_dlfs_project_network_runs_as_its_author_runs_it():
    with run_from("dlfs_project/ch05"):
        mod = load("dlfs_project/ch05/two_layer_net.py")
    np.random.seed(3)
    net = mod.TwoLayerNet(input_size=6, hidden_size=4, output_size=3, weight_init_std=0.5)
    results = check_gradient_network(net, RNG.standard_normal((2, 6)), np.array([0, 2]),
                                     rng=np.random.default_rng(0))
    assert all(r.passed for r in results), [r.message() for r in results if not r.passed]


def test_a_network_without_gradient_is_a_clear_error():
    class Half:
        params = {}

        def loss(self, x, t):
            return 0.0

    with pytest.raises(TypeError, match=r"GradientNetwork\(Half\): the network has no method gradient"):
        check_gradient_network(Half(), np.ones((1, 1)), np.zeros(1), rng=np.random.default_rng(0))


STALE = '''
import numpy as np


def softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


class TwoLayerNet:
    def __init__(self, input_size=4, hidden_size=5, output_size=3):
        rng = np.random.default_rng(0)
        self.params = {"W1": rng.standard_normal((input_size, hidden_size)) * 0.5,
                       "b1": np.zeros(hidden_size),
                       "W2": rng.standard_normal((hidden_size, output_size)) * 0.5,
                       "b2": np.zeros(output_size)}
        self.W2_used = self.params["W2"]            # the same array: stays in step

    def _forward(self, x):
        h = np.tanh(x @ self.params["W1"] + self.params["b1"])
        return h, softmax(h @ self.params["W2"] + self.params["b2"])

    def loss(self, x, t):
        return -np.mean(np.log(self._forward(x)[1][np.arange(len(t)), t]))

    def gradient(self, x, t):
        h, y = self._forward(x)
        dy = y.copy()
        dy[np.arange(len(t)), t] -= 1
        dy /= len(t)
        dh = dy @ self.W2_used.T * (1 - h ** 2)
        return {"W1": x.T @ dh, "b1": dh.sum(0), "W2": h.T @ dy, "b2": dy.sum(0)}


class StaleNet(TwoLayerNet):
    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.W2_used = self.params["W2"].copy()     # a copy: right only until the first step
'''


def test_a_gradient_reading_a_weight_copied_in_init_fails_after_a_step(tmp_path):
    """At its initial params the stale copy equals W2 and every gradient is right; the check
    runs again after moving the params in place, as an optimizer does, and fails there. The
    network holding the same array (not a copy) passes both."""
    found, _ = collect_source(tmp_path, "stale.py", STALE)
    good, stale = found["stale.TwoLayerNet"].check(), found["stale.StaleNet"].check()
    assert all(r.passed for r in good)
    assert {r.prop for r in good} == {"network_gradient", "network_gradient_after_step"}
    assert all(r.passed for r in stale if r.prop == "network_gradient")
    failed = {r.tensor for r in stale if not r.passed}
    assert failed == {"W1", "b1"} and {r.prop for r in stale if not r.passed} == {
        "network_gradient_after_step"}
    # said as what it is (no layer wrong on its own: it was called a "stack bug")
    assert {r.verdict for r in stale if not r.passed} == {"stale params"}
