"""Seed 000's three-layer FFN and seed 002's deep network, built from the project's layers.

Each passes the network property (every param gradient against the TF twin
network and finite differences, updates through ``net.params`` reaching the
forward) before and after a few steps of the seed's own training loop.

Seed 000: Affine -> Relu -> Affine -> Relu -> Affine -> SoftmaxWithLoss, weights
``0.01 * randn``, zero biases, one-hot labels, the seed's SGD (``params[key] -= lr * grads[key]``).
Seed 002: ``DeepNetwork`` with He initialisation (std sqrt(2 / fan_in)), ReLU hidden
layers and a sigmoid output with binary cross-entropy; here the sigmoid and the
cross-entropy are fused in ``BCEWithLogits``, and the seed's own formulas for the loss
and for dL/dW of the last layer are checked against it. The seed stores samples as
columns (W: (out, in)); the project stores them as rows (W: (in, out)).
"""
import copy

import numpy as np
import pytest

import layers as L
from properties.networks import check_built


def three_layer_net(rng, input_size, hidden_size, output_size, weight_init_std=0.01, dtype=np.float64):
    """Seed 000's ThreeLayerNet: the middle layer has hidden_size // 2 units."""
    sizes = [(input_size, hidden_size), (hidden_size, hidden_size // 2), (hidden_size // 2, output_size)]
    affine = []
    for d, m in sizes:
        layer = L.Dense(d, m, rng=rng, dtype=dtype)
        layer.params["W"] = (weight_init_std * rng.standard_normal((d, m))).astype(dtype)
        layer.params["b"] = np.zeros(m, dtype=dtype)
        affine.append(layer)
    return L.Sequential([affine[0], L.ReLU(), affine[1], L.ReLU(), affine[2]], L.SoftmaxCrossEntropy())


def deep_network(rng, neuron_cnt, dtype=np.float64):
    """Seed 002's DeepNetwork: He-initialised Dense layers, ReLU between them, sigmoid + BCE on top."""
    stack = []
    for n_in, n_out in zip(neuron_cnt[:-1], neuron_cnt[1:]):
        stack += [L.Dense(n_in, n_out, rng=rng, init="he", dtype=dtype), L.ReLU()]
    return L.Sequential(stack[:-1], L.BCEWithLogits())


class SeedSGD:
    """Seed 000's optimizer, as written there: it updates the params mapping in place."""

    def __init__(self, lr=0.01):
        self.lr = lr

    def update(self, params, grads):
        for key in params.keys():
            params[key] -= self.lr * grads[key]


def train(net, x, t, lr, steps):
    """The seeds' loop: forward, backward, one SGD step on the network's own mappings. Returns losses."""
    optimizer, losses = SeedSGD(lr), []
    for _ in range(steps):
        losses.append(float(net.loss_forward(x, t)))
        net.backward()
        optimizer.update(net.params, net.grads)
    return losses + [float(net.loss_forward(x, t))]


def assert_network_property(label, net, x, t, seed):
    template = copy.deepcopy(net)
    results = check_built(lambda: copy.deepcopy(template), x, t, seed=seed, label=label,
                          config={"network": repr(template), "dtype": x.dtype.name})
    failed = [r for r in results if not r.passed]
    assert not failed, "\n\n".join(r.message() for r in failed)
    grads = [r for r in results if r.prop == "network_tf" and r.tensor not in ("loss", "dx")]
    assert len(grads) == len(net.params) and all(r.scale > 0 and r.n_total for r in grads)
    return results


@pytest.mark.verify
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_seed000_three_layer_ffn_passes_the_network_property(dtype, result_log):
    rng = np.random.default_rng(0)
    net = three_layer_net(rng, input_size=784, hidden_size=64, output_size=10, dtype=dtype)
    x = rng.uniform(0, 1, (16, 784)).astype(dtype)                  # MNIST-like pixels in [0, 1]
    t = np.eye(10, dtype=dtype)[rng.integers(0, 10, 16)]            # one-hot labels, as in the seed
    assert list(net.params) == ["0.W", "0.b", "2.W", "2.b", "4.W", "4.b"]
    result_log.add(assert_network_property("seed000 ThreeLayerNet", net, x, t, seed=0))
    losses = train(net, x, t, lr=0.5, steps=30)
    assert losses[-1] < losses[0] - 0.05, f"SGD through net.params did not reduce the loss: {losses}"
    result_log.add(assert_network_property("seed000 ThreeLayerNet", net, x, t, seed=1))


@pytest.mark.verify
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_seed002_deep_network_passes_the_network_property(dtype, result_log):
    rng = np.random.default_rng(2)
    neuron_cnt = [8 * 8 * 3, 30, 20, 10, 5, 1]                       # small cat/dog "images"
    net = deep_network(rng, neuron_cnt, dtype)
    x = rng.uniform(0, 1, (12, neuron_cnt[0])).astype(dtype)
    y = rng.integers(0, 2, (12, 1)).astype(dtype)
    result_log.add(assert_network_property("seed002 DeepNetwork", net, x, y, seed=2))
    losses = train(net, x, y, lr=0.05, steps=20)
    assert losses[-1] < losses[0], f"gradient descent through net.params did not reduce the loss: {losses}"
    result_log.add(assert_network_property("seed002 DeepNetwork", net, x, y, seed=3))


def test_seed002_own_formulas_agree_with_the_fused_sigmoid_cross_entropy():
    """The seed's loss on sigmoid outputs and its dW of the last layer, (A - Y) A_prev^T / m."""
    rng = np.random.default_rng(4)
    net = deep_network(rng, [12, 6, 4, 1])
    x, y = rng.standard_normal((9, 12)), rng.integers(0, 2, (9, 1)).astype(float)
    loss = net.loss_forward(x, y)
    net.backward()
    a = 1 / (1 + np.exp(-net.forward(x)))                               # the seed's sigmoid output A
    seed_loss = np.mean(-(y * np.log(a) + (1 - y) * np.log(1 - a)))
    a_prev = x
    for layer in net.layers[:-1]:
        a_prev = layer.forward(a_prev)
    seed_dW = ((a - y).T @ a_prev / x.shape[0]).T                     # seed: dZ A_prev^T / m, transposed
    np.testing.assert_allclose(loss, seed_loss, rtol=1e-12)
    np.testing.assert_allclose(net.grads["4.W"], seed_dW, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(net.grads["4.b"], (a - y).mean(axis=0), rtol=1e-10, atol=1e-14)
