"""Learning-rate schedulers written PyTorch's way (given an optimizer, each step() sets its rate):
they were left out in silence, so a StepLR decaying an epoch late passed. Each kind its name says
is checked against Keras's own schedule at the same epochs; others are listed as found and not
checked (exit 3, not a pass)."""
from properties.owncode import collect
from tests.owncode_loading import collect_source

SOURCE = '''
import math


class StepLR:
    def __init__(self, optimizer, step_size, gamma=0.1):
        self.optimizer, self.step_size, self.gamma = optimizer, step_size, gamma
        self.base_lr, self.last_epoch = optimizer.lr, 0

    def step(self):
        self.last_epoch += 1
        self.optimizer.lr = self.base_lr * self.gamma ** ((self.last_epoch{late}) // self.step_size)


class MultiStepLR:
    def __init__(self, optimizer, milestones, gamma=0.1):
        self.optimizer, self.milestones, self.gamma = optimizer, milestones, gamma
        self.base, self.epoch = optimizer.param_groups[0]["lr"], 0

    def step(self):
        self.epoch += 1
        drops = sum(self.epoch >= m for m in self.milestones)
        for group in self.optimizer.param_groups:
            group["lr"] = self.base * self.gamma ** drops


class ExponentialLR:
    def __init__(self, optimizer, gamma):
        self.optimizer, self.gamma = optimizer, gamma

    def step(self):
        self.optimizer.lr *= self.gamma


class CosineAnnealingLR:
    def __init__(self, optimizer, T_max, eta_min=0.0):
        self.optimizer, self.T_max, self.eta_min = optimizer, T_max, eta_min
        self.base_lr, self.last_epoch = optimizer.lr, 0

    def step(self):
        self.last_epoch += 1
        cos = 1 + math.cos(math.pi * self.last_epoch / self.T_max)
        self.optimizer.lr = self.eta_min + (self.base_lr - self.eta_min) * cos / 2


class LambdaLR:
    def __init__(self, optimizer, lr_lambda):
        self.optimizer, self.lr_lambda = optimizer, lr_lambda

    def step(self):
        pass
'''


def test_each_kind_of_scheduler_is_checked_against_keras_and_a_late_decay_fails(tmp_path):
    (tmp_path / "ok").mkdir()
    (tmp_path / "late").mkdir()
    found, collected = collect_source(tmp_path / "ok", "scheds.py", SOURCE.replace("{late}", ""))
    assert {lab for lab, f in found.items() if f.style == "scheduler"} == {
        "scheds.StepLR", "scheds.MultiStepLR", "scheds.ExponentialLR", "scheds.CosineAnnealingLR",
        "scheds.CosineAnnealingLR(eta_min=0.01)"}
    for label, item in found.items():
        assert all(r.passed for r in item.check()), label
    (listed,) = collected.skipped       # found and not checked: not a pass
    assert listed.label == "scheds.LambdaLR" and listed.unchecked
    found, _ = collect_source(tmp_path / "late", "scheds_late.py", SOURCE.replace("{late}", " - 1"))
    (failed,) = [r for r in found["scheds_late.StepLR"].check() if not r.passed]
    assert failed.verdict == "layer bug" and "an epoch early or late" in failed.explanation
    assert all(r.passed for r in found["scheds_late.MultiStepLR"].check())


def test_a_scheduler_whose_arguments_cannot_be_guessed_says_what_to_hint(tmp_path):
    (tmp_path / "warm.py").write_text(
        "class WarmupStepLR:\n    def __init__(self, optimizer, warmup_epochs):\n"
        "        self.optimizer = optimizer\n\n    def step(self):\n        pass\n")
    (skipped,) = collect([tmp_path]).skipped
    assert "requires warmup_epochs" in skipped.reason and "# gradcheck: WarmupStepLR(" in skipped.reason


def test_a_scheduler_whose_hyperparameters_cannot_be_read_is_a_skip_naming_the_one(tmp_path):
    (tmp_path / "steps.py").write_text(
        "class StepLR:\n    def __init__(self, optimizer, step_size=3, gamma=0.5):\n"
        "        self.optimizer, self._every, self.gamma = optimizer, step_size, gamma\n\n"
        "    def step(self):\n        pass\n")
    (skipped,) = collect([tmp_path]).skipped
    assert "cannot read its step_size" in skipped.reason and skipped.unchecked


def test_a_gamma_it_does_not_hold_readably_is_not_assumed(tmp_path):
    (tmp_path / "exp.py").write_text(
        "class ExponentialLR:\n    def __init__(self, optimizer, gamma=0.5):\n"
        "        self.optimizer, self._g = optimizer, gamma\n\n"
        "    def step(self):\n        self.optimizer.lr *= self._g\n")
    (skipped,) = collect([tmp_path]).skipped
    assert "cannot read its gamma" in skipped.reason


def test_a_floor_left_out_where_it_defaults_to_zero_fails_with_it_set(tmp_path):
    """eta_min + base_lr * cos_term (where (base_lr - eta_min) belongs) is right at the default
    eta_min = 0.0: the scheduler is also checked at a tenth of the stand-in's rate."""
    source = SOURCE.replace("{late}", "").replace(
        "self.eta_min + (self.base_lr - self.eta_min) * cos / 2", "self.eta_min + self.base_lr * cos / 2")
    assert source != SOURCE
    found, _ = collect_source(tmp_path, "floor.py", source)
    assert all(r.passed for r in found["floor.CosineAnnealingLR"].check())
    assert not all(r.passed for r in found["floor.CosineAnnealingLR(eta_min=0.01)"].check())
