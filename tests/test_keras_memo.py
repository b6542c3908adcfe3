"""Keras trajectories are kept by their full arguments (oracle.keras_optimizers.run_keras): a
third of the suite's Keras runs repeated one another. What is given again must be exactly
what a fresh run gives, and any change to any argument must run Keras again."""
import numpy as np
import pytest

import oracle.keras_optimizers as K
from layers.optimizers import Adam, RMSProp
from layers.schedules import StepDecay


def _inputs(seed=0):
    rng = np.random.default_rng(seed)
    params0 = [rng.standard_normal((3, 2)), rng.standard_normal(4)]
    grads = [[rng.standard_normal((3, 2)), rng.standard_normal(4)] for _ in range(3)]
    return params0, grads


def _fresh(*args, **kw):
    K._TRAJECTORIES.clear()
    return K.run_keras(*args, **kw)


def test_a_kept_trajectory_is_a_fresh_runs_and_a_copy():
    params0, grads = _inputs()
    fresh, how = _fresh(Adam(lr=0.1), params0, grads)
    again, how_again = K.run_keras(Adam(lr=0.1), params0, grads)      # kept
    assert how_again == how
    for a, b in zip(fresh, again):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)
    again[0][0][...] = 0.0          # the caller's copy, not the kept one
    third, _ = K.run_keras(Adam(lr=0.1), params0, grads)
    np.testing.assert_array_equal(third[0][0], fresh[0][0])


@pytest.mark.parametrize("change", ["lr", "beta2", "kind", "grad", "param", "decay", "epoch"])
def test_any_changed_argument_runs_keras_again(change):
    params0, grads = _inputs()
    base = dict(steps_per_epoch=1, weight_decay=0.0)
    K._TRAJECTORIES.clear()
    first, _ = K.run_keras(Adam(lr=0.1, schedule=StepDecay(0.5, 1)), params0, grads, **base)
    opt, kw = Adam(lr=0.1, schedule=StepDecay(0.5, 1)), dict(base)
    p2, g2 = [p.copy() for p in params0], [[g.copy() for g in s] for s in grads]
    if change == "lr":
        opt = Adam(lr=0.2)
    elif change == "beta2":
        opt = Adam(lr=0.1, beta2=0.9)
    elif change == "kind":
        opt = RMSProp(lr=0.1)
    elif change == "grad":
        g2[2][1][3] += 1.0
    elif change == "param":
        p2[0][1, 1] += 1.0
    elif change == "decay":
        kw["weight_decay"] = 0.1
    elif change == "epoch":      # the rate halves every epoch: two steps each, not one
        kw["steps_per_epoch"] = 2
    second, _ = K.run_keras(opt, p2, g2, **kw)
    want, _ = _fresh(opt, p2, g2, **kw)
    for a, b in zip(second, want):          # what a fresh run gives, never the first's
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)
    assert any(not np.array_equal(x, y) for a, b in zip(first, second) for x, y in zip(a, b))


def test_a_scalar_param_and_a_one_element_param_are_not_one_key():
    """Found by the suite: 0-d params and (1,) params of one value shared a key."""
    K._TRAJECTORIES.clear()
    grads = [[np.array(0.5)], [np.array(-0.25)]]
    scalar, _ = K.run_keras(Adam(lr=0.1), [np.array(1.0)], grads)
    vector, _ = K.run_keras(Adam(lr=0.1), [np.array([1.0])], [[g.reshape(1)] for (g,) in grads])
    assert scalar[0][0].shape == () and vector[0][0].shape == (1,)
