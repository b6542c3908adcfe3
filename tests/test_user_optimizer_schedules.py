"""A user's optimizer whose learning rate changes from step to step (a decay, a warm-up, a
clipping by global norm inside update()) was "a layer bug: matches neither Keras nor any
convention". It is now checked against Keras at the rates it took, fitted step by step: a
WARN naming the schedule and listing the rates. Rates that are no decay from the optimizer's
own rate, no linear warm-up and no clipping (an off-by-one bias correction) still fail."""
import pytest

from tests.owncode_loading import collect_source

HEAD = "import math\nimport numpy as np\n\n\n"

CORRECT = {
    "ExpDecaySGD": ("lr schedule", "exponential decay, 0.9 a step", '''
class ExpDecaySGD:
    def __init__(self, lr=0.1, decay=0.9):
        self.lr, self.decay, self.t = lr, decay, 0

    def update(self, params, grads):
        lr = self.lr * self.decay ** self.t
        for k in params:
            params[k] -= lr * grads[k]
        self.t += 1
'''),
    "BaseRateSGD": ("lr schedule", "inverse-time decay, lr / (1 + 0.25 t)", '''
class BaseRateSGD:
    """The schedule's base rate kept as base_lr (there is no lr attribute)."""

    def __init__(self, base_lr=0.2):
        self.base_lr, self.t = base_lr, 0

    def update(self, params, grads):
        lr = self.base_lr / (1 + 0.25 * self.t)
        for k in params:
            params[k] -= lr * grads[k]
        self.t += 1
'''),
    "HalvingMomentum": ("lr schedule", "step decay, multiplied by 0.5", '''
class HalvingMomentum:
    def __init__(self, lr=0.05, momentum=0.9):
        self.lr, self.momentum, self.v, self.t = lr, momentum, None, 0

    def update(self, params, grads):
        if self.v is None:
            self.v = {k: np.zeros_like(p) for k, p in params.items()}
        lr = self.lr * 0.5 ** (self.t // 2)
        for k in params:
            self.v[k] = self.momentum * self.v[k] - lr * grads[k]
            params[k] += self.v[k]
        self.t += 1
'''),
    "InverseTimeAdam": ("lr schedule", "inverse-time decay, lr / (1 + 0.5 t)", '''
class InverseTimeAdam:
    def __init__(self, lr=0.01, beta1=0.9, beta2=0.999):
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, 1e-7
        self.m, self.v, self.t = {}, {}, 0

    def update(self, params, grads):
        lr = self.lr / (1 + 0.5 * self.t)
        self.t += 1
        for k in params:
            self.m[k] = self.beta1 * self.m.get(k, 0) + (1 - self.beta1) * grads[k]
            self.v[k] = self.beta2 * self.v.get(k, 0) + (1 - self.beta2) * grads[k] ** 2
            lr_t = lr * math.sqrt(1 - self.beta2 ** self.t) / (1 - self.beta1 ** self.t)
            params[k] -= lr_t * self.m[k] / (np.sqrt(self.v[k]) + self.eps)
'''),
    "WarmupAdam": ("lr schedule", "a linear warm-up", '''
class WarmupAdam:
    """Linear warm-up over 10 steps, then the base rate."""

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999, warmup=10):
        self.lr, self.beta1, self.beta2, self.eps, self.warmup = lr, beta1, beta2, 1e-7, warmup
        self.m, self.v, self.t = {}, {}, 0

    def update(self, params, grads):
        self.t += 1
        lr = self.lr * min(1.0, self.t / self.warmup)
        for k in params:
            self.m[k] = self.beta1 * self.m.get(k, 0) + (1 - self.beta1) * grads[k]
            self.v[k] = self.beta2 * self.v.get(k, 0) + (1 - self.beta2) * grads[k] ** 2
            lr_t = lr * math.sqrt(1 - self.beta2 ** self.t) / (1 - self.beta1 ** self.t)
            params[k] -= lr_t * self.m[k] / (np.sqrt(self.v[k]) + self.eps)
'''),
    "ShrinkingRMSprop": ("lr schedule", "exponential decay, 0.95 a step", '''
class ShrinkingRMSprop:
    """Decays its own lr attribute after every step."""

    def __init__(self, lr=0.01, decay_rate=0.9):
        self.lr, self.decay_rate, self.h = lr, decay_rate, None

    def update(self, params, grads):
        if self.h is None:
            self.h = {k: np.zeros_like(p) for k, p in params.items()}
        for k in params:
            self.h[k] = self.decay_rate * self.h[k] + (1 - self.decay_rate) * grads[k] ** 2
            params[k] -= self.lr * grads[k] / np.sqrt(self.h[k] + 1e-7)
        self.lr *= 0.95
'''),
    "CosineMomentum": ("lr schedule", "a decay of a form not named here", '''
class CosineMomentum:
    def __init__(self, lr=0.1, momentum=0.9, total=8):
        self.lr, self.momentum, self.total, self.v, self.t = lr, momentum, total, None, 0

    def update(self, params, grads):
        if self.v is None:
            self.v = {k: np.zeros_like(p) for k, p in params.items()}
        lr = 0.5 * self.lr * (1 + math.cos(math.pi * self.t / self.total))
        for k in params:
            self.v[k] = self.momentum * self.v[k] - lr * grads[k]
            params[k] += self.v[k]
        self.t += 1
'''),
    "ClippedSGD": ("gradient clipping", "clips the gradients by their global norm at 2", '''
class ClippedSGD:
    """Its threshold under a name no optimizer reading knows: found by the rates it took."""

    def __init__(self, lr=0.1, ceiling=2.0):
        self.lr, self.ceiling = lr, ceiling

    def update(self, params, grads):
        norm = np.sqrt(sum(np.sum(g ** 2) for g in grads.values()))
        scale = min(1.0, self.ceiling / norm)
        for k in params:
            params[k] -= self.lr * scale * grads[k]
'''),
}

BUGGY = {
    # m_hat and v_hat corrected with t + 1: the factor rises, but not along a line
    "OffByOneAdam": ("no decay from its own rate, nor a linear warm-up", '''
class OffByOneAdam:
    def __init__(self, lr=0.01, beta1=0.9, beta2=0.999):
        self.lr, self.beta1, self.beta2, self.m, self.v, self.t = lr, beta1, beta2, {}, {}, 0

    def update(self, params, grads):
        self.t += 1
        for k in params:
            self.m[k] = self.beta1 * self.m.get(k, 0) + (1 - self.beta1) * grads[k]
            self.v[k] = self.beta2 * self.v.get(k, 0) + (1 - self.beta2) * grads[k] ** 2
            lr_t = self.lr * math.sqrt(1 - self.beta2 ** (self.t + 1)) / (1 - self.beta1 ** (self.t + 1))
            params[k] -= lr_t * self.m[k] / (np.sqrt(self.v[k]) + 1e-7)
'''),
    # each tensor clipped by its own norm, the docstring promising the global one
    "PerTensorClipSGD": ("", '''
class PerTensorClipSGD:
    """Clips by the global norm."""

    def __init__(self, lr=0.1, max_norm=1.0):
        self.lr, self.max_norm = lr, max_norm

    def update(self, params, grads):
        for k in params:
            norm = np.linalg.norm(grads[k])
            params[k] -= self.lr * min(1.0, self.max_norm / norm) * grads[k]
'''),
    # the learning rate applied twice: one factor throughout
    "SquaredRateSGD": ("", '''
class SquaredRateSGD:
    def __init__(self, lr=0.1):
        self.lr = lr

    def update(self, params, grads):
        for k in params:
            params[k] -= self.lr * self.lr * grads[k]
'''),
}


def _check(tmp_path, name, source):
    found, _ = collect_source(tmp_path, f"sched_{name.lower()}.py", HEAD + source)
    (label,) = [lab for lab in found if lab.endswith("." + name)]
    return found[label].check()


@pytest.mark.parametrize("name", list(CORRECT))
def test_a_correct_optimizer_with_a_schedule_or_clipping_is_a_warning_naming_it(name, tmp_path):
    verdict, words, source = CORRECT[name]
    results = _check(tmp_path, name, source)
    assert results and all(r.passed for r in results), results[0].message()
    trajectories = [r for r in results if r.prop == "keras_trajectory"]
    assert trajectories and all(r.warning and r.verdict == verdict for r in trajectories)
    assert words in trajectories[0].explanation, trajectories[0].explanation


@pytest.mark.parametrize("name", list(BUGGY))
def test_rates_no_schedule_explains_still_fail(name, tmp_path):
    words, source = BUGGY[name]
    results = _check(tmp_path, name, source)
    failed = [r for r in results if not r.passed]
    assert failed and {r.verdict for r in failed} == {"layer bug"}, results[0].message()
    assert words in failed[0].explanation, failed[0].explanation


def test_a_constant_factor_is_said_by_the_step_note_not_as_a_schedule(tmp_path):
    (failed, *_) = [r for r in _check(tmp_path, "SquaredRateSGD", BUGGY["SquaredRateSGD"][1])
                    if not r.passed]
    assert "0.1 times the oracle's step" in failed.note and "learning rates" not in failed.explanation


def test_rates_fitted_under_a_convention_that_trains_differently_keep_it_failing(tmp_path):
    """Adam without bias correction, at a decaying rate: the convention is named, with the
    schedule it was found under, and it fails as that convention does at a constant rate."""
    source = '''
class DecayingPlainAdam:
    def __init__(self, lr=0.01, beta1=0.9, beta2=0.999):
        self.lr, self.beta1, self.beta2, self.m, self.v, self.t = lr, beta1, beta2, {}, {}, 0

    def update(self, params, grads):
        lr = self.lr * 0.8 ** self.t
        self.t += 1
        for k in params:
            self.m[k] = self.beta1 * self.m.get(k, 0) + (1 - self.beta1) * grads[k]
            self.v[k] = self.beta2 * self.v.get(k, 0) + (1 - self.beta2) * grads[k] ** 2
            params[k] -= lr * self.m[k] / (np.sqrt(self.v[k]) + 1e-7)
'''
    failed = [r for r in _check(tmp_path, "DecayingPlainAdam", source) if not r.passed]
    assert failed and {r.verdict for r in failed} == {"convention"}
    assert "no bias correction" in failed[0].explanation
    assert "exponential decay, 0.8 a step" in failed[0].explanation


def test_the_rates_are_named_by_their_form():
    from properties.owncode_schedules import named_schedule
    lr = 0.1
    assert named_schedule([0.1, 0.05, 0.025, 0.0125], lr)[1].startswith("exponential decay, 0.5")
    assert named_schedule([0.1, 0.1, 0.05, 0.05, 0.025], lr)[1].startswith("step decay")
    assert named_schedule([0.1 / (1 + 0.2 * t) for t in range(5)], lr)[1].startswith(
        "inverse-time decay, lr / (1 + 0.2 t)")
    assert named_schedule([0.1, 0.08, 0.06, 0.04], lr)[1].startswith("linear decay")
    short = named_schedule([0.1 / 3, 0.2 / 3, 0.1, 0.09, 0.081], lr)
    assert short[0] == "warm-up" and "reaching lr at step 3, then exponential decay, 0.9" in short[1]
    assert named_schedule([0.02, 0.04, 0.06, 0.08], lr)[0] == "warm-up"
    assert named_schedule([0.0, 0.025, 0.05, 0.075, 0.1], lr)[0] == "warm-up"    # from 0
    for not_one in ([0.1, 0.1, 0.1], [0.1, 0.2, 0.1], [0.3, 0.2, 0.1], [0.02, 0.05, 0.06],
                    [0.1, 0.05, 0.0], [0.05, 0.1, 0.2]):
        assert named_schedule(not_one, lr) is None, not_one


def test_a_decaying_adamw_is_fitted_with_its_weight_decay(tmp_path):
    """The fit probes each step at rate 0, where the decoupled decay's rescaling was 0 / 0."""
    source = '''
class DecayingAdamW:
    def __init__(self, lr=0.01, beta1=0.9, beta2=0.999, weight_decay=0.1):
        self.lr, self.beta1, self.beta2, self.weight_decay = lr, beta1, beta2, weight_decay
        self.m, self.v, self.t = {}, {}, 0

    def update(self, params, grads):
        lr = self.lr * 0.9 ** self.t
        self.t += 1
        for k, g in grads.items():
            params[k] -= lr * self.weight_decay * params[k]
            self.m[k] = self.beta1 * self.m.get(k, 0) + (1 - self.beta1) * g
            self.v[k] = self.beta2 * self.v.get(k, 0) + (1 - self.beta2) * g * g
            a = lr * math.sqrt(1 - self.beta2 ** self.t) / (1 - self.beta1 ** self.t)
            params[k] -= a * self.m[k] / (np.sqrt(self.v[k]) + 1e-7)
'''
    results = _check(tmp_path, "DecayingAdamW", source)
    assert results and all(r.passed and r.warning and r.verdict == "lr schedule" for r in results), \
        results[0].message()
    assert "exponential decay, 0.9 a step" in results[0].explanation
