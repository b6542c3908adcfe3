"""AttributeLayer on users' self.W / self.dW layers: parameters found by probing, training flags driven."""
import numpy as np
import pytest

from layers.adapter import AttributeLayer
from layers.attribute_probe import param_names_by_probe, probe_grad_attributes
from oracle import twins
from oracle.tape import tape_vjp
from tests.owncode_loading import fd_results, load, run_from

RNG = np.random.default_rng(0)


def affine_lazy():
    return load("attribute/affine_lazy.py").Affine(RNG.standard_normal((3, 2)), RNG.standard_normal(2))


def test_probe_finds_parameters_whose_gradient_backward_creates():
    layer = affine_lazy()
    x = RNG.standard_normal((4, 3))
    assert param_names_by_probe(layer, (x,)) == ("W", "b")
    assert not hasattr(layer, "dW") and not hasattr(layer, "x"), "the probe ran on the user's object"


def test_probe_leaves_a_stateless_layer_with_zero_parameters():
    relu = load("networks/two_layer_net.py").Relu()
    assert param_names_by_probe(relu, (RNG.standard_normal((2, 3)),)) == ()
    layer = AttributeLayer(relu)                 # no float arrays at all: resolved at once
    assert list(layer.params) == []


def test_lazy_affine_is_probed_on_first_forward_and_views_are_live():
    inner = affine_lazy()
    layer = AttributeLayer(inner)
    with pytest.raises(RuntimeError, match=r"AttributeLayer\(Affine\): parameters not known yet: "
                                           r"\['W', 'b'\] have no gradient attribute "
                                           r"\(\['dW', 'db'\]\.\.\.\)"):
        layer.params
    x, dout = RNG.standard_normal((4, 3)), RNG.standard_normal((4, 2))
    layer.forward(x)
    assert list(layer.params) == ["W", "b"] and layer.params["W"] is inner.W
    layer.backward(dout)
    assert layer.grads["W"] is inner.dW
    np.testing.assert_array_equal(layer.grads["W"], x.T @ dout)


def test_probe_inputs_resolve_at_construction():
    layer = AttributeLayer(affine_lazy(), probe_inputs=(RNG.standard_normal((2, 3)),))
    assert list(layer.params) == ["W", "b"]


def test_lazy_affine_gradients_match_finite_differences_and_tf():
    inner = affine_lazy()
    layer = AttributeLayer(inner, probe_inputs=(np.zeros((1, 3)),))
    x, dout = RNG.standard_normal((5, 3)), RNG.standard_normal((5, 2))
    _, results = fd_results(layer, x, dout)
    assert [r.tensor for r in results] == ["dx", "dW", "db"]
    assert all(r.passed for r in results), [r.message() for r in results if not r.passed]
    tape = tape_vjp(twins.dense, layer, (x,), dict(layer.params), dout)
    np.testing.assert_allclose(layer.grads["W"], tape.dparams["W"], rtol=1e-12)


class Named:
    """A user layer whose gradients are named ``grad`` (a format string) of its params'."""

    def __init__(self, grad="d{}", weight="weight"):
        self.grad, self.wname = grad, weight
        setattr(self, weight, np.arange(6.0).reshape(3, 2) / 6)
        self.bias = np.ones(2)

    def forward(self, x):
        self.x = x
        return x @ getattr(self, self.wname) + self.bias

    def backward(self, dout):
        name = self.grad if callable(self.grad) else self.grad.format
        setattr(self, name(self.wname), self.x.T @ dout)
        setattr(self, name("bias"), dout.sum(axis=0))
        return dout @ getattr(self, self.wname).T


@pytest.mark.parametrize("grad,weight,attr", [
    ("d{}", "weight", "dweight"), ("d_{}", "weight", "d_weight"),
    ("grad_{}", "weight", "grad_weight"), ("{}_grad", "weight", "weight_grad"),
    ("grad{}", "Weight", "gradWeight"), ("g_{}", "W", "g_W"), ("delta_{}", "W", "delta_W"),
    (lambda n: "grad" + n.capitalize(), "weight", "gradWeight")])
def test_gradients_named_in_any_usual_way_are_found(grad, weight, attr):
    """``weight`` / ``grad_weight``, ``bias_grad``...: the parameters are found by probing,
    each with its own gradient attribute, and the views are live."""
    inner = Named(grad, weight)
    layer = AttributeLayer(inner, probe_inputs=(RNG.standard_normal((2, 3)),))
    assert sorted(layer.params) == sorted([weight, "bias"])
    x, dout = RNG.standard_normal((4, 3)), RNG.standard_normal((4, 2))
    layer.forward(x)
    layer.backward(dout)
    assert layer.grads[weight] is getattr(inner, attr)
    np.testing.assert_array_equal(layer.grads[weight], x.T @ dout)
    np.testing.assert_array_equal(layer.grads["bias"], dout.sum(axis=0))


def test_a_gradient_declared_in_the_constructor_is_found_without_probing():
    inner = Named("grad_{}")
    inner.grad_weight = inner.grad_bias = None
    layer = AttributeLayer(inner)
    assert sorted(layer.params) == ["bias", "weight"]
    layer.forward(np.ones((2, 3)))
    layer.backward(np.ones((2, 2)))
    assert layer.grads["bias"] is inner.grad_bias


def test_parameters_that_cannot_be_found_are_an_error_not_zero_parameters():
    """A gradient named after an abbreviation (``d_w`` for ``weight``) matches no parameter."""
    layer = AttributeLayer(_Abbreviated())
    with pytest.raises(ValueError, match=r"AttributeLayer\(_Abbreviated\): backward wrote "
                                         r"\['d_w'\] but none of them .*cannot be found"):
        layer.forward(np.ones((2, 3)))


class _Abbreviated:
    def __init__(self):
        self.weight = np.ones((3, 2))

    def forward(self, x):
        self.x = x
        return x @ self.weight

    def backward(self, dout):
        self.d_w = self.x.T @ dout
        return dout @ self.weight.T


def test_a_self_updating_layer_is_sent_to_the_right_adapter():
    mod = load("self_updating/cnn_single_image.py")

    class Softmax(mod.Softmax):          # seed 003's layer, given a backward() that updates
        def backward(self, dout):
            return self.backprop(dout)

    soft = Softmax(8, 3)
    with pytest.raises(ValueError, match="updates its own parameters.*SelfUpdatingLayer"):
        AttributeLayer(soft, probe_inputs=(RNG.standard_normal((2, 2, 2)),))


def test_train_flg_keyword_is_driven_by_the_training_flag():
    mod = load("attribute/batchnorm_trainflg.py")
    inner = mod.BatchNormalization(RNG.normal(1, 0.2, 3), RNG.standard_normal(3),
                                   running_mean=RNG.standard_normal(3), running_var=RNG.uniform(0.5, 2, 3))
    layer = AttributeLayer(inner)
    x = RNG.standard_normal((4, 3))
    mean0 = inner.running_mean.copy()
    layer.training = False
    assert layer.training is False
    out = layer.forward(x)
    np.testing.assert_array_equal(inner.running_mean, mean0)     # evaluation: no statistics update
    np.testing.assert_allclose(out, inner.gamma * (x - mean0) / np.sqrt(inner.running_var + 1e-6)
                               + inner.beta, rtol=1e-12)
    assert sorted(layer.params) == ["beta", "gamma"]
    layer.training = True
    layer.forward(x)
    assert not np.array_equal(inner.running_mean, mean0)


@pytest.mark.parametrize("training", [True, False])
def test_correct_batchnorm_passes_and_the_buggy_dgamma_is_caught(training):
    def build(path):
        inner = load(path).BatchNormalization(np.array([1.2, 0.7, 0.9]), np.array([0.1, -0.3, 0.2]),
                                              running_mean=np.array([0.1, 0.2, -0.1]),
                                              running_var=np.array([1.5, 0.8, 1.1]))
        layer = AttributeLayer(inner)
        layer.training = training
        return layer
    x, dout = RNG.standard_normal((5, 3)), RNG.standard_normal((5, 3))
    _, good = fd_results(build("attribute/batchnorm_trainflg.py"), x, dout)
    assert all(r.passed for r in good), [r.message() for r in good if not r.passed]
    _, bad = fd_results(build("attribute/batchnorm_trainflg_buggy.py"), x, dout)
    assert [r.tensor for r in bad if not r.passed] == ["dgamma"]


class Flagged:
    """A user layer with a ``train`` attribute instead of a forward keyword."""

    def __init__(self):
        self.train = True
        self.scale = np.full(2, 3.0)

    def forward(self, x):
        return x * (self.scale if self.train else 1.0)

    def backward(self, dout):
        self.dscale = np.sum(dout, axis=0) if self.train else np.zeros(2)
        return dout * (self.scale if self.train else 1.0)


def test_train_attribute_is_driven_by_the_training_flag():
    inner = Flagged()
    layer = AttributeLayer(inner)
    layer.training = False
    assert inner.train is False and layer.training is False
    np.testing.assert_array_equal(layer.forward(np.ones((1, 2))), np.ones((1, 2)))


def test_dlfs_project_layers_load_as_their_author_runs_them():
    with run_from("dlfs_project/ch05"):
        net_mod = load("dlfs_project/ch05/two_layer_net.py")
    own = load("dlfs_project/layers.py")
    import layers as project_layers                  # the project's package is still the project's
    assert hasattr(project_layers, "Sequential") and not hasattr(own, "Sequential")
    layer = AttributeLayer(own.Scale(3), probe_inputs=(np.ones((1, 3)),))
    assert probe_grad_attributes(own.Scale(3), (RNG.standard_normal((2, 3)),)).params == ("gamma",)
    _, results = fd_results(layer, RNG.standard_normal((4, 3)), RNG.standard_normal((4, 3)))
    assert all(r.passed for r in results)
    affine = net_mod.Affine(RNG.standard_normal((3, 2)), np.zeros(2))   # from `common.layers import *`
    assert list(AttributeLayer(affine).params) == ["W", "b"]
