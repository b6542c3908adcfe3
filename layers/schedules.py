"""Learning-rate schedules: ``schedule(lr0, epoch) -> lr`` (seed 002's ``lr_scheduler`` signature).

An optimizer holds ``lr0`` and its current ``epoch``; its learning rate is
``schedule(lr0, epoch)``. Every schedule is a small object with public
hyperparameters, so a Keras twin can read them off it.
"""
import math

from layers.base import check_positive_int


def _check_rate(name, arg, value, low, high, *, low_open=False, high_open=False):
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    if not ok:
        lo, hi = "(" if low_open else "[", ")" if high_open else "]"
        raise ValueError(f"{name}: {arg} must be a number in {lo}{low}, {high}{hi}, got {value!r}")
    return float(value)


def _check_epoch(name, epoch):
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise ValueError(f"{name}: epoch must be a non-negative integer, got {epoch!r}")


class Constant:
    """lr = lr0 at every epoch."""

    def __call__(self, lr0, epoch):
        _check_epoch("Constant", epoch)
        return lr0

    def __repr__(self):
        return "Constant()"


class HyperbolicDecay:
    """Seed 002's hyperbola: lr = lr0 / (1 + k * epoch)."""

    def __init__(self, k):
        self.k = _check_rate("HyperbolicDecay", "k", k, 0, math.inf, high_open=True)

    def __call__(self, lr0, epoch):
        _check_epoch("HyperbolicDecay", epoch)
        return lr0 / (1 + self.k * epoch)

    def __repr__(self):
        return f"HyperbolicDecay(k={self.k!r})"


class StepDecay:
    """lr = lr0 * drop ** (epoch // every): multiplied by ``drop`` once every ``every`` epochs."""

    def __init__(self, drop, every):
        self.drop = _check_rate("StepDecay", "drop", drop, 0, 1, low_open=True)
        check_positive_int("StepDecay", "every", every)
        self.every = int(every)

    def __call__(self, lr0, epoch):
        _check_epoch("StepDecay", epoch)
        return lr0 * self.drop ** (epoch // self.every)

    def __repr__(self):
        return f"StepDecay(drop={self.drop!r}, every={self.every!r})"


class ExponentialDecay:
    """lr = lr0 * rate ** epoch."""

    def __init__(self, rate):
        self.rate = _check_rate("ExponentialDecay", "rate", rate, 0, 1, low_open=True)

    def __call__(self, lr0, epoch):
        _check_epoch("ExponentialDecay", epoch)
        return lr0 * self.rate ** epoch

    def __repr__(self):
        return f"ExponentialDecay(rate={self.rate!r})"


class PerEpoch:
    """lr = rates[epoch]: a learning rate given for each epoch (the last one kept after them).

    Not a schedule anyone trains with: the harness checks a user's optimizer whose rate
    changes from step to step against Keras at exactly the rates it took (one epoch a step)."""

    def __init__(self, rates):
        rates = tuple(float(r) for r in rates)
        if not rates or not all(math.isfinite(r) for r in rates):
            raise ValueError(f"PerEpoch: rates must be finite numbers, at least one, got {rates!r}")
        self.rates = rates

    def __call__(self, lr0, epoch):
        _check_epoch("PerEpoch", epoch)
        return self.rates[min(epoch, len(self.rates) - 1)]

    def __repr__(self):
        return f"PerEpoch(rates={self.rates!r})"
