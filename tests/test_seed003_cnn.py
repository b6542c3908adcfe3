"""Seed 003's CNN, assembled from the project's layers and checked end to end.

The seed trains conv (eight 3x3 filters, stride 1, no padding) -> 2x2 max-pool ->
dense softmax on 28x28 digits, with a backward that only handles that geometry
and sends the gradient to every tied maximum. Digits are mostly blank
background, so tied maxima are everywhere. Here the same network is built
with Conv2D, MaxPool2D, Flatten, Dense and SoftmaxCrossEntropy, and every
parameter's gradient of the loss is checked against TF (the layers' twins composed
under one GradientTape) and against float64 finite differences. A
generalised variant (non-square kernel, stride, padding, overlapping pools)
and the seed's own tie bug, planted into the pool, show the check can fail.
"""
import numpy as np
import pytest

import layers as L
from oracle.compare import compare
from oracle.finite_diff import fd_vjp
from oracle.tf_runtime import tf
from oracle.twins import twin_for
from tests.planted.conv import MaxPoolAllTiedMaxima

GEOMETRIES = {
    "seed003": dict(filters=8, kernel=3, stride=1, padding=0, pool=2, pool_stride=None),
    "generalised": dict(filters=4, kernel=(3, 2), stride=(2, 1), padding=1, pool=3, pool_stride=2),
}


def digit_images(n, dtype):
    """n handwritten digits (scikit-learn's 8x8, offline) scaled up to 28x28 as the seed's MNIST,
    with blank borders, normalised as the seed does (pixel / max - 0.5). x: (n, 1, 28, 28)."""
    from properties.reference.run import digits_file    # the file, without importing sklearn
    pixels, labels = digits_file()
    images = np.kron(pixels[:n].reshape(n, 8, 8), np.ones((3, 3))) / 16.0 - 0.5   # (n, 24, 24)
    x = np.pad(images, ((0, 0), (2, 2), (2, 2)), constant_values=-0.5)[:, None]
    return x.astype(dtype), labels[:n].astype(np.int64)


def seed003_network(geometry, x, seed, dtype, pool_cls=L.MaxPool2D):
    rng = np.random.default_rng(seed)
    g = GEOMETRIES[geometry]
    conv = L.Conv2D(1, g["filters"], g["kernel"], stride=g["stride"], padding=g["padding"],
                    rng=rng, dtype=dtype)
    conv.params["b"] = (0.1 * rng.standard_normal(g["filters"])).astype(dtype)
    features = [conv, pool_cls(g["pool"], g["pool_stride"]), L.Flatten()]
    width = L.Sequential(features).forward(x).shape[1]
    dense = L.Dense(width, 10, rng=rng, dtype=dtype)
    dense.params["b"] = (0.1 * rng.standard_normal(10)).astype(dtype)
    return L.Sequential([*features, dense], L.SoftmaxCrossEntropy())


def tf_param_grads(net, x, labels):
    """Gradient of the loss with respect to every parameter, from the layers' TF twins composed."""
    t = tf()
    params = {name: t.constant(np.asarray(value, np.float64)) for name, value in net.params.items()}
    with t.GradientTape() as tape:
        tape.watch(list(params.values()))
        h = t.constant(np.asarray(x, np.float64))
        for i, layer in enumerate(net.layers):
            h = twin_for(layer)(layer, h, **{k: params[f"{i}.{k}"] for k in layer.params})
        loss = twin_for(net.loss)(net.loss, h, t.constant(labels))
    grads = tape.gradient(loss, params)
    return float(loss.numpy()), {name: g.numpy() for name, g in grads.items()}


def layer_param_grads(net, x, labels):
    loss = net.loss_forward(x, labels)
    net.backward()
    return float(loss), {name: np.array(g, copy=True) for name, g in net.grads.items()}


def compare_all(got, want, oracle, dtype, excused=None):
    return [compare(got[name], want[name], layer="Seed003CNN", prop=f"seed003_{oracle}",
                    tensor=f"d{name}", oracle=oracle, dtype=dtype,
                    excused=None if excused is None else excused[name])
            for name in want]


def _assert_passed(results):
    failed = [r for r in results if not r.passed]
    assert not failed, "\n\n".join(r.message() for r in failed)


def _tied_windows(x, net):
    """How many pooling windows hold a tied maximum (exactly equal values) for this input."""
    conv_out = net.layers[0].forward(x)
    pool = net.layers[1]
    (ph, pw), (sh, sw) = pool.pool_size, pool.stride
    windows = np.lib.stride_tricks.sliding_window_view(conv_out, (ph, pw), axis=(2, 3))
    windows = windows[:, :, ::sh, ::sw].reshape(*windows.shape[:2], -1, ph * pw)
    return int(((windows == windows.max(-1, keepdims=True)).sum(-1) > 1).sum())


@pytest.mark.verify
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("geometry", list(GEOMETRIES))
def test_every_param_gradient_matches_tensorflow(geometry, dtype, result_log):
    x, labels = digit_images(3, dtype)
    net = seed003_network(geometry, x, seed=3, dtype=dtype)
    assert _tied_windows(x, net) > 10, "the digits' blank background should tie many maxima"
    loss, got = layer_param_grads(net, x, labels)
    tf_loss, want = tf_param_grads(net, x, labels)
    results = compare_all(got, want, "tf", dtype)
    result_log.add(results)
    assert loss == pytest.approx(tf_loss, rel=1e-5 if dtype == np.float32 else 1e-12)
    assert sorted(got) == ["0.W", "0.b", "3.W", "3.b"]
    _assert_passed(results)


def fd_param_grads(net, x, labels):
    """Finite differences of the loss for every parameter (the conv kernel element by element)."""
    point = {name: np.array(value, copy=True) for name, value in net.params.items()}

    def loss_at(arrays):
        for name, value in arrays.items():
            net.params[name] = value
        return net.loss_forward(x, labels)

    fd = fd_vjp(loss_at, point, np.float64(1.0), rng=np.random.default_rng(0), max_elementwise=100)
    for name, value in point.items():
        net.params[name] = value
    return fd


def compare_fd(got, fd):
    return compare_all({k: fd[k].project(g) for k, g in got.items()},
                       {k: fd[k].values for k in got}, "fd", np.float64,
                       excused={k: fd[k].excused for k in got})


@pytest.mark.verify
@pytest.mark.parametrize("geometry", list(GEOMETRIES))
def test_every_param_gradient_matches_finite_differences(geometry, result_log):
    x, labels = digit_images(2, np.float64)
    net = seed003_network(geometry, x, seed=5, dtype=np.float64)
    _, got = layer_param_grads(net, x, labels)
    results = compare_fd(got, fd_param_grads(net, x, labels))
    result_log.add(results)
    for r in results:   # a perturbed kernel may swap near-equal maxima: FD excuses those few
        assert r.n_excused <= r.n_total // 4, f"FD judged too little of {r.tensor}: {r.message()}"
    _assert_passed(results)


def test_the_seeds_tie_bug_in_the_pool_is_caught_end_to_end():
    """With seed 003's max-pool backward (gradient to every tied maximum), dW and db are wrong."""
    x, labels = digit_images(3, np.float64)
    net = seed003_network("seed003", x, seed=3, dtype=np.float64, pool_cls=MaxPoolAllTiedMaxima)
    _, got = layer_param_grads(net, x, labels)
    _, want = tf_param_grads(net, x, labels)
    vs_tf = compare_all(got, want, "tf", np.float64)
    vs_fd = compare_fd(got, fd_param_grads(net, x, labels))
    for results in (vs_tf, vs_fd):
        assert {r.tensor for r in results if not r.passed} == {"d0.W", "d0.b"}
