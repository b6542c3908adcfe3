"""What a property is, and the table of all of them.

A property is a function ``case -> [Result]`` registered with ``@prop``. A
layer that breaks the protocol (backward returning None, a missing grad) gets
a failing result that says so, instead of a traceback from deep inside.
"""
from dataclasses import dataclass, field
from typing import Callable

from oracle.result import Result
from properties.running import LayerContractError

PROPERTIES = {}


@dataclass(frozen=True)
class Property:
    name: str
    fn: Callable
    oracle_kinds: str = "tf"          # which of the entry's value kinds to draw: "tf" or "fd"
    extra: dict = field(default_factory=dict)
    summary: str = ""
    applies: Callable = None          # entry -> "" if it applies, else the reason it does not
    min_batch: int = 1

    def kinds(self, entry):
        return entry.fd_kinds if self.oracle_kinds == "fd" else entry.tf_kinds

    def not_applicable(self, entry):
        return self.applies(entry) if self.applies else ""


def prop(name, oracle_kinds="tf", extra=None, applies=None, min_batch=1):
    """Register ``fn(case) -> [Result]`` as the property ``name``."""
    def register(fn):
        PROPERTIES[name] = Property(name, _contract_guard(name, fn), oracle_kinds, extra or {},
                                    (fn.__doc__ or "").strip().splitlines()[0], applies,
                                    min_batch)
        return fn
    return register


def _contract_guard(name, fn):
    def run(case):
        try:
            results = fn(case)
        except LayerContractError as exc:
            results = [Result(layer=case.layer, prop=name, tensor=exc.tensor, oracle="law",
                              passed=False, dtype=case.dtype, config=case.describe(),
                              note=str(exc), verdict="contract",
                              explanation="the layer broke the layer protocol", ratio=float("inf"))]
        for r in results:
            r.reproduce = case.replay_line(name)
        return results
    return run


def all_properties():
    """Every property, oracle comparisons first, then the laws."""
    from properties import battery, laws  # noqa: F401  (they register themselves)
    return dict(PROPERTIES)
