"""Optimizers and schedules against tf.keras, checkpoints, and the training loop.

Every optimizer and every convention option is checked against the Keras
optimizer that implements it (oracle/keras_optimizers.py), on hyperparameters,
param shapes and gradient sequences drawn by Hypothesis: the float64
trajectories must agree to 1e-11 (they do to ~1e-16).
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import layers as L
from layers import optimizers as O
from layers import schedules as S
from layers.checkpoint import load_checkpoint, save_checkpoint
from layers.training import accuracy, epoch_batches, train
from oracle.keras_optimizers import NoKerasTwin, keras_schedule, keras_twin, run_keras
from properties.optimizer_checks import (KINDS, SCHEDULES, TRAJECTORY_TOLERANCE, OptimizerCase,
                                             optimizer_cases, run_ours, schedules, trajectory_results)


@pytest.mark.verify
@pytest.mark.parametrize("kind", KINDS)
def test_trajectory_matches_keras(kind, result_log):
    @given(case=optimizer_cases(kinds=[kind]))
    def check(case):
        results = trajectory_results(case)
        result_log.add(results)
        failed = [r for r in results if not r.passed]
        assert not failed, "\n\n".join(r.message() for r in failed)

    check()


def _case(kind, steps=6, **hyper):
    return OptimizerCase(kind=kind, hyper=hyper, schedule=(), shapes=((3, 2), (4,)), steps=steps,
                         steps_per_epoch=2, grad_kind="normal", grad_scale=1.0, seed=7)


def _max_dev(case, twin_case):
    """Largest |ours - twin| over the trajectory, ours from ``case``, Keras's from ``twin_case``."""
    mine, _, _ = run_ours(case.build(), case)
    theirs, _ = run_keras(twin_case.build(), case.params0(), case.grad_steps(), steps_per_epoch=2)
    return max(np.abs(a - b).max() for sa, sb in zip(mine, theirs) for a, b in zip(sa, sb))


# Each option against the twin of the *other* option: the check must tell them apart.
CONVENTION_PAIRS = [
    ("Momentum", dict(lr=0.1, beta=0.9, convention="ema"), dict(convention="velocity")),
    ("RMSProp", dict(lr=0.01, eps=1e-3), dict(eps_inside_sqrt=False)),
    ("RMSProp", dict(lr=0.01, eps=1e-6), dict(bias_correction=False)),
    ("Adam", dict(lr=0.01, eps=1e-3), dict(epsilon_on="v")),
    ("Adam", dict(lr=0.01), dict(bias_correction=False)),
    ("AdaGrad", dict(lr=0.1), dict(initial_accumulator=0.1)),
]


@pytest.mark.parametrize("kind,base,changed", CONVENTION_PAIRS,
                         ids=[f"{k}-{list(c)[0]}" for k, _, c in CONVENTION_PAIRS])
def test_each_convention_option_is_told_apart_by_its_twin(kind, base, changed):
    case = _case(kind, **base)
    other = _case(kind, **{**base, **changed})
    tol = TRAJECTORY_TOLERANCE["tf"]
    assert _max_dev(case, case) <= tol["atol"]
    assert _max_dev(other, other) <= tol["atol"]
    assert _max_dev(case, other) > 1e3 * tol["atol"], "the two conventions should give other trajectories"


def test_keras_with_python_float_hyperparameters_drifts_and_the_tolerance_sees_it():
    """Keras rounds plain float hyperparameters to float32: the trajectory check must fail it."""
    from oracle.tf_runtime import tf
    case = _case("Adam", lr=0.01, beta1=0.9, beta2=0.999, eps=1e-7, epsilon_on="v")
    mine, _, _ = run_ours(case.build(), case)
    variables = [tf().Variable(p, dtype=tf().float64) for p in case.params0()]
    naive = tf().keras.optimizers.Adam(learning_rate=0.01, beta_1=0.9, beta_2=0.999, epsilon=1e-7)
    for grads in case.grad_steps():
        naive.apply_gradients([(tf().constant(g), v) for g, v in zip(grads, variables)])
    drift = max(np.abs(v.numpy() - m).max() for v, m in zip(variables, mine[-1]))
    exact, _ = run_keras(case.build(), case.params0(), case.grad_steps(), steps_per_epoch=2)
    exact_dev = max(np.abs(a - b).max() for a, b in zip(exact[-1], mine[-1]))
    assert drift > 1e3 * TRAJECTORY_TOLERANCE["tf"]["atol"] > 1e3 * exact_dev, (drift, exact_dev)


@given(schedule=schedules().filter(bool), lr0=st.floats(1e-4, 1.0), steps_per_epoch=st.integers(1, 5))
def test_schedules_match_keras_schedules(schedule, lr0, steps_per_epoch):
    ours = SCHEDULES[schedule[0]](*schedule[1:])
    lr_at = keras_schedule(ours, lr0, steps_per_epoch)
    for step in range(12):
        want = lr_at(step)
        got = ours(lr0, step // steps_per_epoch)
        assert abs(got - want) <= 1e-15 * abs(want), (ours, step, got, want)


def test_seed002_hyperbolic_decay_formula():
    assert S.HyperbolicDecay(0.5)(0.2, 3) == pytest.approx(0.2 / 2.5, rel=1e-15)
    assert S.StepDecay(0.5, every=2)(1.0, 5) == 0.25
    assert S.ExponentialDecay(0.9)(2.0, 2) == pytest.approx(2.0 * 0.81, rel=1e-15)


def test_optimizer_lr_follows_its_schedule_and_epoch():
    opt = O.SGD(0.3, schedule=S.HyperbolicDecay(1.0))
    p, g = np.ones(2), np.ones(2)
    opt.epoch = 2
    opt.step({"p": p}, {"p": g})
    np.testing.assert_allclose(p, 1 - 0.1, rtol=1e-15)


@pytest.mark.parametrize("make,match", [
    (lambda: O.SGD(0.0), "SGD: lr must be a number in \\(0"),
    (lambda: O.Momentum(0.1, beta=1.0), "Momentum: beta must be a number in \\[0, 1\\)"),
    (lambda: O.Momentum(0.1, convention="nesterov"), "Momentum: convention must be one of"),
    (lambda: O.Adam(eps=0.0), "Adam: eps must be"),
    (lambda: O.Adam(epsilon_on="sqrt"), "Adam: epsilon_on must be one of"),
    (lambda: O.AdaGrad(initial_accumulator=-1.0), "AdaGrad: initial_accumulator must be"),
    (lambda: S.StepDecay(0.5, every=0), "StepDecay: every must be a positive integer"),
    (lambda: S.ExponentialDecay(1.5), "ExponentialDecay: rate must be"),
])
def test_bad_hyperparameters_are_named(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_step_arguments_name_the_param():
    opt = O.Adam()
    with pytest.raises(KeyError, match="Adam.step: no gradient for param\\(s\\) \\['b'\\]"):
        opt.step({"a": np.ones(2), "b": np.ones(3)}, {"a": np.ones(2)})
    with pytest.raises(ValueError, match="grads\\['a'\\] must have the param's shape \\(2,\\)"):
        opt.step({"a": np.ones(2)}, {"a": np.ones(3)})
    with pytest.raises(TypeError, match="params\\['a'\\] must be a float NumPy array"):
        opt.step({"a": [1.0, 2.0]}, {"a": np.ones(2)})
    with pytest.raises(NoKerasTwin, match="no Keras twin for the schedule"):
        keras_twin(O.SGD(0.1, schedule=lambda lr0, epoch: lr0))


def test_update_reaches_a_layer_through_a_sequential():
    rng = np.random.default_rng(0)
    net = L.Sequential([L.Dense(3, 2, rng=rng)], L.MSE())
    W = net.layers[0].params["W"]
    before = W.copy()
    net.loss_forward(rng.standard_normal((4, 3)), rng.standard_normal((4, 2)))
    net.backward()
    O.Adam(0.1).step(net.params, net.grads)
    assert net.layers[0].params["W"] is W and not np.array_equal(W, before)


# -- checkpoints and the training loop ---------------------------------------------------

def _blobs(rng, n=96, d=5, classes=3):
    centers = rng.standard_normal((classes, d)) * 2
    labels = rng.integers(0, classes, n)
    return centers[labels] + rng.standard_normal((n, d)), labels


def _small_net(seed):
    rng = np.random.default_rng(seed)
    return L.Sequential([L.Dense(5, 8, rng=rng), L.ReLU(), L.Dense(8, 3, rng=rng)],
                        L.SoftmaxCrossEntropy())


OPTIMIZERS = {
    "SGD": lambda: O.SGD(0.1, schedule=S.HyperbolicDecay(0.5)),
    "Momentum": lambda: O.Momentum(0.1, 0.9, schedule=S.StepDecay(0.5, 1)),
    "Nesterov": lambda: O.Nesterov(0.05, 0.9),
    "RMSProp": lambda: O.RMSProp(0.01),
    "Adam": lambda: O.Adam(0.01, schedule=S.ExponentialDecay(0.9)),
    "AdaGrad": lambda: O.AdaGrad(0.1),
}


def resumed_equals_uninterrupted(make_optimizer, path, epochs=4, split=2):
    """(losses and params of an uninterrupted run, the same for a run checkpointed and resumed)."""
    x, t = _blobs(np.random.default_rng(1))
    net, opt, rng = _small_net(0), make_optimizer(), np.random.default_rng(5)
    full = train(net, opt, x, t, epochs=epochs, batch_size=16, rng=rng)
    full_params = {k: v.copy() for k, v in net.params.items()}

    net, opt, rng = _small_net(0), make_optimizer(), np.random.default_rng(5)
    first = train(net, opt, x, t, epochs=split, batch_size=16, rng=rng)
    save_checkpoint(path, net.params, opt, rng=rng, extra={"losses": first.losses})
    net, opt, rng = _small_net(99), make_optimizer(), np.random.default_rng(12345)  # all else differs
    extra = load_checkpoint(path, net.params, opt, rng=rng)
    rest = train(net, opt, x, t, epochs=epochs, batch_size=16, rng=rng)
    resumed = extra["losses"] + rest.losses
    return (full.losses, full_params), (resumed, dict(net.params)), opt


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_resumed_training_continues_the_exact_trajectory(name, tmp_path):
    (full, full_params), (resumed, params), opt = resumed_equals_uninterrupted(
        OPTIMIZERS[name], tmp_path / "ckpt.npz")
    assert resumed == full                      # bit for bit, every step
    for k in full_params:
        np.testing.assert_array_equal(params[k], full_params[k])
    assert opt.t == len(full) and opt.epoch == 4


def test_checkpoint_holds_params_and_state_in_one_npz(tmp_path):
    net, opt = _small_net(0), O.Adam(0.01)
    x, t = _blobs(np.random.default_rng(1))
    train(net, opt, x, t, epochs=1, batch_size=32, rng=np.random.default_rng(0))
    save_checkpoint(tmp_path / "c.npz", net.params, opt)
    with np.load(tmp_path / "c.npz", allow_pickle=False) as data:
        keys = set(data.files)
    assert {f"param/{k}" for k in net.params} <= keys
    assert {f"slot/{s}/{k}" for k in net.params for s in ("m", "v")} <= keys and "meta" in keys


def test_checkpoint_mismatches_are_named(tmp_path):
    net, opt = _small_net(0), O.Adam(0.01)
    path = tmp_path / "c.npz"
    save_checkpoint(path, net.params, opt, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="was written by optimizer .*'Adam'.* not by this one .*'Momentum'"):
        load_checkpoint(path, net.params, O.Momentum(0.01), rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="pass rng= to restore it"):
        load_checkpoint(path, net.params, O.Adam(0.01))
    other = L.Sequential([L.Dense(5, 4, rng=np.random.default_rng(0))], L.MSE())
    with pytest.raises(ValueError, match="holds params"):
        load_checkpoint(path, other.params, O.Adam(0.01), rng=np.random.default_rng(0))


def test_load_restores_params_in_place(tmp_path):
    net = _small_net(0)
    W = net.params["0.W"]
    save_checkpoint(tmp_path / "c.npz", net.params, O.SGD(0.1))
    saved = W.copy()
    W += 1.0
    load_checkpoint(tmp_path / "c.npz", net.params, O.SGD(0.1))
    assert net.params["0.W"] is W
    np.testing.assert_array_equal(W, saved)


def test_epoch_batches_cover_every_sample_once_and_follow_the_generator():
    a = epoch_batches(10, 4, np.random.default_rng(3))
    b = epoch_batches(10, 4, np.random.default_rng(3))
    assert [len(i) for i in a] == [4, 4, 2]
    assert sorted(np.concatenate(a).tolist()) == list(range(10))
    assert all(np.array_equal(i, j) for i, j in zip(a, b))
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        epoch_batches(10, 0, np.random.default_rng(3))


def test_training_lowers_the_loss_and_logs_every_step():
    x, t = _blobs(np.random.default_rng(1))
    net = _small_net(0)
    log = train(net, O.Adam(0.05), x, t, epochs=5, batch_size=16, rng=np.random.default_rng(0))
    assert len(log.losses) == 5 * 6 and log.epochs[:7] == [0] * 6 + [1]
    assert np.mean(log.losses[-6:]) < 0.5 * np.mean(log.losses[:6])
    assert accuracy(net, x, t) > 0.8
