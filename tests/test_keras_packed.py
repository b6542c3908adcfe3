"""Keras's optimizer runs hold every param in one flat variable (``oracle.tf_runtime.Packed``):
Keras's per-variable bookkeeping was most of a small run's time. Every optimizer the oracles
run updates each element from its own gradient and state alone, so the trajectory must be
the one a variable per param gives, bit for bit: each twin is run both ways here."""
import numpy as np
import pytest

import oracle.keras_direct as D
import oracle.keras_optimizers as K
from layers.optimizers import AdaGrad, Adam, Momentum, Nesterov, RMSProp, SGD
from layers.schedules import ExponentialDecay, StepDecay
from oracle.tf_runtime import Packed, tf

SHAPES = [(3, 2), (), (2,), (3, 2), (1,), (0,)]


class PerVariable(Packed):
    """What the runs did before: one float64 variable per param."""

    def __init__(self, params0):
        self.shapes = [np.shape(p) for p in params0]
        self.variables = [tf().Variable(np.array(p, np.float64), dtype=tf().float64)
                          for p in params0]

    def apply(self, keras, grads):
        keras.apply_gradients([(tf().convert_to_tensor(np.asarray(g, np.float64)), v)
                               for g, v in zip(grads, self.variables)])

    def params(self):
        return [v.numpy().copy() for v in self.variables]


def _problem(seed, steps=4):
    rng = np.random.default_rng(seed)
    params0 = [rng.standard_normal(s) for s in SHAPES]
    grads = [[rng.standard_normal(s) for s in SHAPES] for _ in range(steps)]
    grads[1][0][0, 0] = 0.0          # a zero gradient (Lion's sign, Adadelta's ratio)
    return params0, grads


def _both_ways(monkeypatch, run):
    """``run()`` with the params packed, then with a variable each: (packed, per variable)."""
    K._TRAJECTORIES.clear()
    packed = run()
    with monkeypatch.context() as m:
        m.setattr(K, "Packed", PerVariable)
        m.setattr(D, "Packed", PerVariable)
        K._TRAJECTORIES.clear()
        apart = run()
    K._TRAJECTORIES.clear()
    return packed, apart


def _assert_same(packed, apart):
    (ours, how), (theirs, how_apart) = packed, apart
    assert how == how_apart and len(ours) == len(theirs)
    for step_packed, step_apart in zip(ours, theirs):
        assert [p.shape for p in step_packed] == [tuple(s) for s in SHAPES]
        for a, b in zip(step_packed, step_apart):
            assert a.shape == b.shape and a.dtype == b.dtype == np.float64
            assert np.array_equal(a, b), np.max(np.abs(a - b))


TWINS = [
    (lambda: SGD(0.1), {}),
    (lambda: SGD(0.1, schedule=StepDecay(drop=0.5, every=2)), {}),
    (lambda: Momentum(0.1, 0.9), {}),
    (lambda: Momentum(0.1, 0.8, convention="velocity"), {}),
    (lambda: Nesterov(0.05, 0.9), {}),
    (lambda: RMSProp(0.01), {}),
    (lambda: RMSProp(0.01, eps_inside_sqrt=False, bias_correction=False), {}),
    (lambda: Adam(0.01), {}),
    (lambda: Adam(0.01, bias_correction=False, schedule=ExponentialDecay(0.9)), {}),
    (lambda: AdaGrad(0.1, initial_accumulator=0.1), {}),
    (lambda: Adam(0.01), {"weight_decay": 0.01}),
    (lambda: SGD(0.1), {"weight_decay": 0.05, "coupled": True}),
]


@pytest.mark.parametrize("i", range(len(TWINS)))
def test_every_twin_runs_the_same_packed_as_a_variable_per_param(monkeypatch, i):
    make, kw = TWINS[i]
    params0, grads = _problem(i)
    _assert_same(*_both_ways(monkeypatch, lambda: K.run_keras(make(), params0, grads, **kw)))


@pytest.mark.parametrize("kind, hyper", [
    ("Adamax", {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-7}),
    ("AMSGrad", {"lr": 0.01, "beta1": 0.9, "beta2": 0.99, "eps": 1e-8}),
    ("Nadam", {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-7}),
    ("Adadelta", {"lr": 1.0, "rho": 0.95, "eps": 1e-6}),
    ("Lion", {"lr": 0.001, "beta1": 0.9, "beta2": 0.99}),
    ("Lion", {"lr": 0.001, "beta1": 0.9, "beta2": 0.99, "weight_decay": 0.1}),
    ("Adamax", {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-7, "weight_decay": 0.01}),
])
def test_every_direct_kind_runs_the_same_packed(monkeypatch, kind, hyper):
    params0, grads = _problem(len(kind))
    for kw in ({}, {"lrs": [0.01, 0.005, 0.02]},
               *([{"eps_on_hat": True}] if kind == "AMSGrad" else []),
               *([{"coupled": True}] if "weight_decay" in hyper else [])):
        _assert_same(*_both_ways(monkeypatch, lambda: D.run_direct(kind, hyper, params0, grads,
                                                                   **kw)))


@pytest.mark.parametrize("initial", [0.0, 0.1])
def test_adagrad_with_epsilon_outside_runs_the_same_packed(monkeypatch, initial):
    params0, grads = _problem(7)
    _assert_same(*_both_ways(monkeypatch, lambda: D.adagrad_eps_outside(
        0.1, 1e-7, params0, grads, initial=initial)))


def test_a_gradient_of_another_shape_is_refused_naming_both():
    params0, grads = _problem(0)
    grads[2][2] = np.zeros(3)
    with pytest.raises(ValueError, match=r"gradient shapes .*\(3,\).* do not match the params'"):
        K._TRAJECTORIES.clear()
        K.run_keras(Adam(0.01), params0, grads)
