"""check_dict_optimizer on users' update(params, grads) optimizers, against Keras trajectories."""
import numpy as np
import pytest

from properties.owncode_optimizers import SHAPES, check_dict_optimizer, optimizer_kind
from tests.owncode_loading import collect_source, load

D = load("optimizers/dlfs_optimizers.py")


@pytest.mark.parametrize("make", [lambda: D.SGD(0.1), lambda: D.Momentum(0.05, 0.8),
                                  lambda: D.Adam(0.01, 0.85, 0.99)], ids=["SGD", "Momentum", "Adam"])
def test_optimizers_that_match_keras_exactly_pass(make):
    results = check_dict_optimizer(make, steps=6, seed=1)
    assert len(results) == len(SHAPES) == 3   # one per param: two of them share a shape
    assert all(r.passed for r in results), [r.message() for r in results if not r.passed]
    assert results[0].config["class"].endswith(type(make()).__qualname__)


def test_adagrad_with_epsilon_outside_the_root_is_a_convention_not_a_bug():
    """PyTorch's form of AdaGrad (epsilon outside the root, the accumulator from 0): the same
    algorithm written another way, a warning naming both differences."""
    results = check_dict_optimizer(lambda: D.AdaGrad(0.1))
    assert all(r.passed and r.warning for r in results)
    r = results[0]
    assert r.verdict == "convention" and "the paper's or PyTorch's" in r.explanation
    assert "epsilon is added outside the square root" in r.explanation
    assert "accumulator h starts at 0" in r.explanation
    assert "epsilon 1e-07 (hard-coded in update()" in r.note


class AdaGradFromPointOne:
    """Keras's starting accumulator (0.1) with epsilon outside the root (the paper's form)."""

    def __init__(self, lr=0.01, initial_accumulator_value=0.1, eps=1e-7, power=0.5):
        self.lr, self.eps, self.power, self.h = lr, eps, power, None
        self.initial_accumulator_value = initial_accumulator_value

    def update(self, params, grads):
        if self.h is None:
            self.h = {k: np.full_like(v, self.initial_accumulator_value) for k, v in params.items()}
        for k in params:
            self.h[k] += grads[k] * grads[k]
            params[k] -= self.lr * grads[k] / (self.h[k] ** self.power + self.eps)


@pytest.mark.parametrize("h0", [0.1, 1.0])
def test_adagrad_from_a_started_accumulator_with_epsilon_outside_is_a_convention(h0):
    """Each convention alone was a warning; the two together were a "layer bug"."""
    results = check_dict_optimizer(lambda: AdaGradFromPointOne(initial_accumulator_value=h0))
    assert all(r.passed and r.warning for r in results), [r.message() for r in results]
    assert results[0].verdict == "convention"
    assert "epsilon is added outside the square root" in results[0].explanation
    assert f"sqrt({h0:g})" in results[0].explanation


def test_adagrad_from_a_started_accumulator_with_a_wrong_root_still_fails():
    results = check_dict_optimizer(lambda: AdaGradFromPointOne(power=0.25))
    assert results and not any(r.passed for r in results)
    assert {r.verdict for r in results} == {"layer bug"}


def test_rmsprop_with_epsilon_outside_the_root_is_a_convention():
    results = check_dict_optimizer(lambda: D.RMSprop(0.01, 0.9))
    assert {r.verdict for r in results} == {"convention"}
    assert all(r.passed and r.warning for r in results)
    assert "outside the square root" in results[0].explanation
    assert "bias-corrected" not in results[0].explanation


def test_adagrad_with_epsilon_inside_the_root_differs_only_by_its_initial_accumulator():
    mod = load("optimizers/adagrad_eps_in_root.py")
    r, *_ = check_dict_optimizer(mod.AdaGrad)
    assert r.verdict == "convention" and "starts at 0, where Keras's Adagrad starts it at 0.1" in r.explanation
    assert r.passed and r.warning
    assert "square root" not in r.explanation


def test_momentum_as_an_average_is_named_as_a_convention():
    class Momentum:
        def __init__(self, lr=0.1, momentum=0.9):
            self.lr, self.momentum, self.v = lr, momentum, {}

        def update(self, params, grads):
            for key in params:
                v = self.v.get(key, np.zeros_like(params[key]))
                self.v[key] = self.momentum * v + (1 - self.momentum) * grads[key]
                params[key] -= self.lr * self.v[key]

    r, *_ = check_dict_optimizer(Momentum)
    assert r.verdict == "convention" and "average" in r.explanation
    # Keras's steps at (1 - momentum) times the rate: deeplearning.ai's form, a warning (it
    # failed, and every correct optimizer of the course failed with it)
    assert r.passed and r.warning and "(1 - momentum) times this learning rate" in r.explanation


def test_adam_that_never_advances_its_step_is_a_layer_bug():
    mod = load("optimizers/adam_buggy.py")
    results = check_dict_optimizer(mod.Adam)
    assert {r.verdict for r in results} == {"layer bug"}
    assert "part at step 2 of 5" in results[0].note
    assert "matches neither Keras's Adam nor any known convention" in results[0].explanation


def test_unknown_kinds_and_missing_hyperparameters_are_clear_errors():
    class Shampoo:
        lr = 0.1

        def update(self, params, grads):
            pass

    with pytest.raises(ValueError, match="Shampoo: cannot tell which optimizer"):
        optimizer_kind(Shampoo())

    class Adam:
        lr = 0.1

        def update(self, params, grads):
            pass

    with pytest.raises(ValueError, match=r"Adam: cannot read its beta1: no number attribute"):
        check_dict_optimizer(Adam)


def test_moments_kept_by_shape_mix_two_params_of_one_shape_and_are_a_bug():
    """An Adam keying its moments by ``p.shape`` instead of the param's name: two params of one
    shape share them. The check's params include two of one shape, so this fails; keyed by
    name, the same code passes."""
    class Adam:
        def __init__(self, lr=0.01, beta1=0.9, beta2=0.999, key=lambda name, p: p.shape):
            self.lr, self.beta1, self.beta2, self.key = lr, beta1, beta2, key
            self.m, self.v, self.t = {}, {}, 0

        def update(self, params, grads):
            self.t += 1
            lr_t = self.lr * np.sqrt(1 - self.beta2 ** self.t) / (1 - self.beta1 ** self.t)
            for name in params:
                k = self.key(name, params[name])
                m = self.m.get(k, np.zeros_like(params[name]))
                v = self.v.get(k, np.zeros_like(params[name]))
                self.m[k] = m + (1 - self.beta1) * (grads[name] - m)
                self.v[k] = v + (1 - self.beta2) * (grads[name] ** 2 - v)
                params[name] -= lr_t * self.m[k] / (np.sqrt(self.v[k]) + 1e-7)

    failed = [r for r in check_dict_optimizer(Adam) if not r.passed]
    assert failed and {r.verdict for r in failed} == {"layer bug"}
    by_name = check_dict_optimizer(lambda: Adam(key=lambda name, p: name))
    assert {r.verdict for r in by_name} <= {"", "convention"}


@pytest.mark.parametrize("eps_on, warned", [("v_hat", True), ("v", False)])
def test_the_papers_adam_is_a_warning_and_keras_form_passes_clean(eps_on, warned):
    """The Adam paper's Algorithm 1 (and PyTorch, and the project's own Adam) adds epsilon to
    the bias-corrected root: the same algorithm as Keras's, written another way. A warning
    saying so, never a failure; Keras's own form passes with nothing to say."""
    from layers import optimizers as O

    class PaperAdam:
        def __init__(self):
            self.lr, self.beta1, self.beta2, self.eps = 0.01, 0.9, 0.999, 1e-8
            self.opt = O.Adam(self.lr, self.beta1, self.beta2, self.eps, epsilon_on=eps_on)

        def update(self, params, grads):
            self.opt.step(params, grads)

    results = check_dict_optimizer(PaperAdam)
    assert all(r.passed for r in results)
    assert all(r.warning == warned for r in results)
    assert {r.verdict for r in results} == ({"convention"} if warned else {""})


TORCH_RMSPROP = '''
import numpy as np


class RMSprop:
    """PyTorch's naming: alpha is the decay rate, epsilon outside the root."""

    def __init__(self, lr=0.01, alpha=0.99, eps=1e-8):
        self.lr, self.alpha, self.eps, self.sq = lr, alpha, eps, {}

    def update(self, params, grads):
        for k in params:
            sq = self.sq.get(k, np.zeros_like(params[k]))
            self.sq[k] = self.alpha * sq + (1 - self.alpha) * grads[k] ** 2
            params[k] -= self.lr * grads[k] / (np.sqrt(self.sq[k]) + self.eps)


class AdamNoBetas:
    def __init__(self, lr=0.01):
        self.lr = lr

    def update(self, params, grads):
        pass
'''


def test_pytorch_named_rmsprop_is_read_and_an_unreadable_one_is_a_skip_not_a_crash(tmp_path):
    """``alpha`` beside ``lr`` is PyTorch's decay rate: read as such, the trajectory matches
    Keras's RMSprop in PyTorch's form (a warning). A hyperparameter nowhere to be read is a
    skip naming it (it was a raw ValueError traceback, counted as a failure)."""
    found, collected = collect_source(tmp_path, "opts.py", TORCH_RMSPROP)
    results = found["opts.RMSprop"].check()
    assert all(r.passed for r in results) and {r.verdict for r in results} == {"convention"}
    (skipped,) = collected.skipped
    assert skipped.label == "opts.AdamNoBetas" and skipped.unchecked
    assert "cannot read its beta1" in skipped.reason
