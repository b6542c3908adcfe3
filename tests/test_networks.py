"""Whole networks: the network property on drawn networks, Sequential's API and the initialisers."""
import json
import math

import numpy as np
import pytest
from hypothesis import given

import layers as L
from layers.init import he_normal, xavier_uniform
from oracle.network_twin import network_vjp, record_calls
from properties.cases import HARNESS
from properties.networks import build_network, check_network, network_specs
from properties.replay import main as replay_main
from properties.search import steer

SMALL = {"seed": 11, "dtype": "float64", "batch": 3, "in": 4, "training": True, "loss": "softmax_ce",
         "blocks": [{"width": 5, "init": "he", "norm": "batchnorm", "act": "relu", "dropout": 0.25},
                    {"width": 3, "init": "xavier", "norm": None, "act": None, "dropout": 0.0}]}


@pytest.mark.verify
def test_drawn_networks_match_tf_and_finite_differences(result_log):
    """Every param gradient (and dx) of a drawn network agrees with the TF twin network and FD."""
    @given(spec=network_specs())
    def check(spec):
        results = check_network(spec)
        result_log.add(results)
        steer(max(r.ratio for r in results), "network error/tol")
        failed = [r for r in results if not r.passed]
        assert not failed, "\n\n".join(r.message() for r in failed)

    check()


def test_network_results_cover_every_param_and_both_oracles():
    results = check_network(SMALL)
    net = build_network(SMALL)[0]
    tensors = {(r.prop, r.tensor) for r in results}
    for name in ["dx", *net.params]:
        assert ("network_tf", name) in tensors and ("network_fd", name) in tensors
    updates = {"loss after an update in place", "loss after an update by assignment"}
    assert updates <= {r.tensor for r in results}
    assert all(r.passed for r in results), [r.message() for r in results if not r.passed]
    assert all(r.reproduce.startswith(f"{HARNESS} replay network ") for r in results)


def test_replay_line_reruns_the_same_network(capsys):
    assert replay_main(["network", json.dumps(SMALL)]) == 0
    assert "0 failed" in capsys.readouterr().out


def test_spec_rebuilds_the_same_network_and_masks():
    (a, x1, t1), (b, x2, t2) = build_network(SMALL), build_network(SMALL)
    assert list(a.params) == ["0.W", "0.b", "1.gamma", "1.beta", "4.W", "4.b"]
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
    assert np.array_equal(x1, x2) and np.array_equal(t1, t2)
    assert np.array_equal(a.loss_forward(x1, t1), b.loss_forward(x2, t2))
    assert np.array_equal(a.layers[3].mask, b.layers[3].mask)


def test_twin_network_gives_the_gradient_each_layer_should_receive():
    net, x, t = build_network(SMALL)
    params = {k: v.copy() for k, v in net.params.items()}
    net.loss_forward(x, t)
    tape = network_vjp(net, x, t, params, dout=1.0)
    calls = record_calls(net)
    dx = net.backward(1.0)
    assert [key for key, *_ in calls["backward"]] == ["loss", 4, 3, 2, 1, 0]
    np.testing.assert_allclose(dx, tape.dactivations[0], rtol=1e-9, atol=1e-12)
    for key, dout, dx_i in calls["backward"][1:]:   # what layer i received and returned
        np.testing.assert_allclose(dout, tape.dactivations[key + 1], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(dx_i, tape.dactivations[key], rtol=1e-9, atol=1e-12)


# --- Sequential's API ---------------------------------------------------------------------------

def small_net(rng=None):
    rng = rng or np.random.default_rng(0)
    return L.Sequential([L.Dense(3, 4, rng=rng), L.ReLU(), L.Dense(4, 2, rng=rng)], L.MSE())


def test_params_and_grads_are_flat_live_views_with_stable_names():
    net = small_net()
    assert list(net.params) == ["0.W", "0.b", "2.W", "2.b"] and len(net.params) == 4
    assert net.params["2.W"] is net.layers[2].params["W"]
    x, t = np.random.default_rng(1).standard_normal((5, 3)), np.zeros((5, 2))
    net.loss_forward(x, t)
    net.backward()
    assert net.grads["0.W"] is net.layers[0].grads["W"]
    before = net.forward(x)
    hidden = np.maximum(x @ net.params["0.W"] + net.params["0.b"], 0)
    w = net.params["2.W"]
    w -= 0.5                                       # an optimizer's in-place step
    after_inplace = net.forward(x)
    np.testing.assert_allclose(after_inplace, before - 0.5 * hidden.sum(axis=1, keepdims=True))
    net.params["2.b"] = net.params["2.b"] + 1.0    # an optimizer that assigns new arrays
    np.testing.assert_allclose(net.forward(x), after_inplace + 1.0)


def test_sequential_rejects_bad_use_with_clear_errors():
    rng = np.random.default_rng(0)
    net = small_net()
    with pytest.raises(RuntimeError, match="Sequential.backward: call forward or loss_forward first"):
        net.backward()
    with pytest.raises(ValueError, match=r"Sequential.params\['0.W'\]: new value has shape \(2, 2\), "
                                         r"the parameter has shape \(3, 4\)"):
        net.params["0.W"] = np.zeros((2, 2))
    with pytest.raises(KeyError, match="layer 1 \\(ReLU\\) has no parameter 'W'"):
        net.params["1.W"]
    with pytest.raises(KeyError, match="not a parameter name of the form"):
        net.params["W"]
    with pytest.raises(KeyError, match="no grad '0.W' yet: run backward first"):
        net.grads["0.W"]
    relu = L.ReLU()
    with pytest.raises(ValueError, match="layer 2 is the same object as layer 0"):
        L.Sequential([relu, L.Dense(2, 2, rng=rng), relu])
    with pytest.raises(TypeError, match="Sequential: layer 1 \\(str\\) has no forward\\(\\) method"):
        L.Sequential([relu, "dense"])
    with pytest.raises(ValueError, match="this network has no loss"):
        L.Sequential([relu]).loss_forward(np.zeros((1, 2)), np.zeros((1, 2)))


def test_training_flag_reaches_every_layer():
    rng = np.random.default_rng(0)
    bn = L.BatchNorm(3)
    bn.training = False
    net = L.Sequential([L.Dense(3, 3, rng=rng), bn, L.Dropout(0.5, rng=rng)])
    assert not bn.training and not net.training, "building a Sequential must not reset a layer's flag"
    net.training = True
    assert all(layer.training for layer in net.layers)
    net.training = False
    assert not net.training and not any(layer.training for layer in net.layers)
    x = rng.standard_normal((4, 3))
    np.testing.assert_array_equal(net.forward(x), net.forward(x))   # no fresh mask in evaluation


# --- initialisers -------------------------------------------------------------------------------

def test_he_and_xavier_have_their_variances_and_follow_the_injected_generator():
    he = he_normal(np.random.default_rng(0), 50, (50, 400))
    xa = xavier_uniform(np.random.default_rng(0), 50, 30, (50, 400))
    n = he.size   # 5 standard errors of a sample variance of n values
    assert abs(he.var() / (2 / 50) - 1) < 5 * math.sqrt(2 / n)
    assert abs(xa.var() / (2 / 80) - 1) < 5 * math.sqrt(0.8 / n)
    assert np.abs(xa).max() <= math.sqrt(6 / 80)
    np.testing.assert_array_equal(he, he_normal(np.random.default_rng(0), 50, (50, 400)))
    assert not np.array_equal(he, he_normal(np.random.default_rng(1), 50, (50, 400)))
    dense = L.Dense(50, 30, rng=np.random.default_rng(0), init="xavier", dtype=np.float32)
    want = xavier_uniform(np.random.default_rng(0), 50, 30, (50, 30), np.float32)
    assert dense.params["W"].dtype == np.float32
    np.testing.assert_array_equal(dense.params["W"], want)


def test_initialisers_need_a_generator():
    with pytest.raises(TypeError, match="he_normal: rng must be a numpy.random.Generator"):
        he_normal(np.random.RandomState(0), 3, (3, 2))
    with pytest.raises(TypeError, match="xavier_uniform: rng must be a numpy.random.Generator .* NoneType"):
        L.Dense(3, 2, rng=None, init="xavier")
    with pytest.raises(ValueError, match="he_normal: fan_in must be a positive integer, got 0"):
        he_normal(np.random.default_rng(0), 0, (0, 2))
