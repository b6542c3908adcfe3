"""Seed 001's own check, through the project's layers: the network's dL/dW1 matches TF.

The seed builds x (1, 2) -> Dense(4) ReLU -> Dense(8) sigmoid -> Dense(2) sigmoid ->
MSE against [[0.5, 0.2]], takes dL/dW1 with tf.GradientTape and compares it with
its hand-written network. Here the hand-written side is the project's layers.
"""
import numpy as np
import pytest

import layers as L
from oracle.compare import compare
from oracle.finite_diff import fd_vjp
from oracle.tolerance import tolerance_for


def seed001_network(rng, dtype):
    x = rng.uniform(size=(1, 2)).astype(dtype)
    shapes = [(2, 4), (4, 8), (8, 2)]
    weights = [(rng.uniform(size=s).astype(dtype), rng.uniform(size=s[1]).astype(dtype)) for s in shapes]
    dense = []
    for (W, b), (d, m) in zip(weights, shapes):
        layer = L.Dense(d, m, rng=rng, dtype=dtype)
        layer.params["W"], layer.params["b"] = W.copy(), b.copy()
        dense.append(layer)
    net = L.Sequential([dense[0], L.ReLU(), dense[1], L.Sigmoid(), dense[2], L.Sigmoid()], L.MSE())
    return net, x, np.array([[0.5, 0.2]], dtype=dtype), weights


@pytest.mark.verify
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_seed001_dL_dW1_matches_tensorflow(dtype, seed):
    from oracle.tf_runtime import tf
    t = tf()
    net, x, true, weights = seed001_network(np.random.default_rng(seed), dtype)
    loss = net.loss_forward(x, true)
    net.backward()
    dW1 = net.grads["0.W"]

    (w1, b1), (w2, b2), (w3, b3) = [(t.constant(W, t.float64), t.constant(b, t.float64))
                                    for W, b in weights]
    xt, yt = t.constant(x, t.float64), t.constant(true, t.float64)
    with t.GradientTape() as tape:          # the seed's TF code, in float64
        tape.watch(w1)
        y = t.nn.relu(xt @ w1 + b1)
        y = t.nn.sigmoid(y @ w2 + b2)
        y = t.nn.sigmoid(y @ w3 + b3)
        tf_loss = t.keras.losses.mse(yt, y)
    want = tape.gradient(tf_loss, w1).numpy()

    assert dW1.dtype == dtype and dW1.shape == (2, 4)
    for tensor, got, expected in [("loss", np.float64(loss), tf_loss.numpy()[0]), ("dW1", dW1, want)]:
        res = compare(got, expected, layer="seed001", prop="tf", tensor=tensor, oracle="tf", dtype=dtype)
        assert res.passed, res.message()
    assert np.abs(want).max() > 0, "a zero gradient would make the comparison vacuous"


def test_seed001_dL_dW1_matches_finite_differences():
    net, x, true, _ = seed001_network(np.random.default_rng(5), np.float64)
    net.loss_forward(x, true)
    net.backward()
    got = net.grads["0.W"].copy()
    W1 = net.params["0.W"].copy()

    def loss_at(a):
        net.params["0.W"] = a["W1"]
        return net.loss_forward(x, true)

    fd = fd_vjp(loss_at, {"W1": W1}, np.float64(1.0), rng=np.random.default_rng(0))["W1"]
    net.params["0.W"] = W1
    assert not fd.excused.any()
    tol = tolerance_for(np.float64, "fd")
    np.testing.assert_allclose(got, fd.values, rtol=tol.rtol, atol=tol.atol)
