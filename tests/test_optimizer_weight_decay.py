"""Optimizers with weight decay. Keras's own twins were run without it, so a correct AdamW,
and SGD or momentum with weight decay, "matched neither Keras nor any convention". Weight
decay read off the optimizer (``weight_decay``, ``wd``...) is now given to Keras: decoupled,
as Keras's ``weight_decay`` and AdamW apply it, or coupled into the gradient (g + wd * p),
as PyTorch's SGD and Adam do: a warning naming that form, except for an AdamW, whose point is
not to couple it (a failing convention). Decay read but not applied, or applied with the
wrong sign, matches nothing: a bug."""
import numpy as np
import pytest

from properties.owncode_optimizers import check_dict_optimizer


class AdamW:
    coupled = False

    def __init__(self, lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.1):
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.weight_decay, self.t, self.m, self.v = weight_decay, 0, {}, {}

    def update(self, params, grads):
        self.t += 1
        lr_t = self.lr * np.sqrt(1 - self.beta2 ** self.t) / (1 - self.beta1 ** self.t)
        for k in params:
            g = grads[k] + (self.weight_decay * params[k] if self.coupled else 0.0)
            self.m.setdefault(k, np.zeros_like(params[k]))
            self.v.setdefault(k, np.zeros_like(params[k]))
            self.m[k] = self.beta1 * self.m[k] + (1 - self.beta1) * g
            self.v[k] = self.beta2 * self.v[k] + (1 - self.beta2) * g * g
            decay = 0.0 if self.coupled else self.lr * self.weight_decay * params[k]
            params[k] -= lr_t * self.m[k] / (np.sqrt(self.v[k]) + self.eps) + decay


class AdamWCoupled(AdamW):
    coupled = True


class MomentumSGD:
    """PyTorch's SGD(momentum, weight_decay), in velocity form: the decay in the gradient."""
    sign = 1.0
    applied = True

    def __init__(self, lr=0.1, momentum=0.9, weight_decay=0.05):
        self.lr, self.momentum, self.weight_decay, self.v = lr, momentum, weight_decay, {}

    def update(self, params, grads):
        for k, p in params.items():
            g = grads[k] + (self.sign * self.weight_decay * p if self.applied else 0.0)
            self.v[k] = self.momentum * self.v.get(k, np.zeros_like(p)) - self.lr * g
            p += self.v[k]


class MomentumSGDDecayWrongSign(MomentumSGD):
    sign = -1.0


class MomentumSGDDecayNotApplied(MomentumSGD):
    applied = False


class SGD:
    def __init__(self, lr=0.1, wd=0.05):
        self.lr, self.wd = lr, wd

    def update(self, params, grads):
        for k in params:
            params[k] -= self.lr * (grads[k] + self.wd * params[k])


def test_a_decoupled_adamw_passes_against_keras_with_its_weight_decay():
    results = check_dict_optimizer(AdamW)
    assert all(r.passed and not r.warning for r in results), results[0].message()
    assert "decoupled weight_decay=0.1" in results[0].config["twin"]


def test_an_adamw_coupling_its_decay_into_the_gradient_fails_as_a_convention():
    results = check_dict_optimizer(AdamWCoupled)
    assert not any(r.passed for r in results)
    assert {r.verdict for r in results} == {"convention"}
    assert "what AdamW exists to avoid" in results[0].explanation


def test_pytorch_style_coupled_decay_in_momentum_sgd_is_a_warning_naming_the_form():
    results = check_dict_optimizer(MomentumSGD)
    assert all(r.passed and r.warning and r.verdict == "convention" for r in results)
    assert "as PyTorch's optimizers do" in results[0].explanation


def test_plain_sgd_with_weight_decay_passes_both_forms_being_one():
    results = check_dict_optimizer(SGD)
    assert all(r.passed and not r.warning for r in results), results[0].message()


@pytest.mark.parametrize("cls", [MomentumSGDDecayWrongSign, MomentumSGDDecayNotApplied])
def test_decay_with_the_wrong_sign_or_read_and_not_applied_is_a_bug(cls):
    results = check_dict_optimizer(cls)
    assert not all(r.passed for r in results)
    assert {r.verdict for r in results if not r.passed} == {"layer bug"}


class MomentumUphill(MomentumSGD):
    """The velocity holds -lr * g, but is subtracted: every step goes uphill."""
    def update(self, params, grads):
        for k, p in params.items():
            g = grads[k] + self.weight_decay * p
            self.v[k] = self.momentum * self.v.get(k, np.zeros_like(p)) - self.lr * g
            p -= self.v[k]


class SGDHalfRate(SGD):
    def update(self, params, grads):
        for k in params:
            params[k] -= 0.5 * self.lr * (grads[k] + self.wd * params[k])


@pytest.mark.parametrize("cls, said", [(MomentumUphill, "Step 1 is minus the oracle's step"),
                                       (SGDHalfRate, "Step 1 is 0.5 times the oracle's step")])
def test_a_failing_trajectory_says_when_its_step_is_the_oracles_scaled(cls, said):
    failed = [r for r in check_dict_optimizer(cls) if not r.passed]
    assert failed and all(said in r.note for r in failed), failed[0].note


class NesterovWithoutLookAhead:
    """PyTorch's Nesterov SGD (v = mu v + g; p -= lr (g + mu v)) with the look-ahead's v the
    old velocity: its first step is lr g, where the oracle's is lr (1 + mu) g."""
    def __init__(self, lr=0.1, momentum=0.9, nesterov=True):
        self.lr, self.momentum, self.nesterov, self.v = lr, momentum, nesterov, {}

    def update(self, params, grads):
        for k, p in params.items():
            old = self.v.get(k, np.zeros_like(p))
            self.v[k] = self.momentum * old + grads[k]
            p -= self.lr * (grads[k] + self.momentum * old)


def test_a_step_off_by_one_plus_momentum_names_the_look_ahead():
    failed = [r for r in check_dict_optimizer(NesterovWithoutLookAhead) if not r.passed]
    assert failed and all("1 / (1 + momentum), momentum 0.9" in r.note for r in failed), \
        failed[0].note if failed else "passed"
    assert "a learning rate or a factor" not in failed[0].note
