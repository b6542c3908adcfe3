"""The one place a layer is registered for checking.

An :class:`Entry` says how to build the layer from a drawn configuration, the
shape of each input, its TF twin, and anything special (targets for a loss,
tolerance overrides, how the batch is coupled). The battery then runs every
property for it with no further test code.
"""
from dataclasses import dataclass, field
from typing import Callable, Optional

from hypothesis import strategies as st

from properties.values import KINDS

REGISTRY = {}
# Deliberately broken layers (tests/planted): found by name, never part of entries().
PLANTED = {}
PLANTED_MODULES = {}


@dataclass(frozen=True)
class Entry:
    """One registered layer.

    name: unique label (used in test ids, reports and reproduction lines).
    build: (config, rng, dtype) -> layer, with params drawn from ``rng``.
    input_shapes: (config, batch) -> one shape per input.
    configs: Hypothesis strategy of plain-dict configurations.
    twin: TF twin; None looks it up by the layer's class (oracle.twins.twin_for).
    targets: for a loss, (config, batch, rng, dtype) -> tuple of target arrays.
    batch_rule: "sum" (no coupling: batch grads = sum of per-sample grads),
        "mean" (a loss averaging over the batch), or a sentence saying why the
        samples are coupled (the additivity property then reports that reason).
    tolerances: overrides, e.g. {"tf": {"rtol": 1e-6}} or {("float32", "fd"): {...}}.
    tf_kinds / fd_kinds: value kinds drawn for the TF and the FD properties.
    training_modes: the ``training`` values drawn (layers without one: (True,)).
    """

    name: str
    build: Callable
    input_shapes: Callable
    configs: st.SearchStrategy = field(default_factory=lambda: st.just({}))
    twin: Optional[Callable] = None
    targets: Optional[Callable] = None
    batch_rule: str = "sum"
    tolerances: dict = field(default_factory=dict)
    tf_kinds: tuple = KINDS
    fd_kinds: tuple = ("fd_safe", "normal")
    training_modes: tuple = (True,)
    max_batch: int = 4

    @property
    def is_loss(self):
        return self.targets is not None


def register(entry, *, planted=""):
    """Add ``entry`` to the registry; a second entry with one name is an error.

    planted: for a deliberately broken layer, the name of the module registering
    it (pass ``__name__``); it goes to PLANTED, and replay lines import that module.
    """
    table = PLANTED if planted else REGISTRY
    if entry.name in REGISTRY or entry.name in PLANTED:
        raise ValueError(f"a layer named {entry.name!r} is already registered")
    if entry.batch_rule not in ("sum", "mean") and len(entry.batch_rule) < 10:
        raise ValueError(f"{entry.name}: batch_rule must be 'sum', 'mean' or a sentence saying "
                         f"why the batch is coupled, got {entry.batch_rule!r}")
    table[entry.name] = entry
    if planted:
        PLANTED_MODULES[entry.name] = planted
    return entry


def entries():
    """Every registered entry, catalogues imported on first use, in registration order."""
    from properties import catalog  # noqa: F401  (registers the project's layers)
    return list(REGISTRY.values())


def get(name):
    """The entry called ``name``, registered or planted."""
    entries()
    if name in PLANTED:
        return PLANTED[name]
    if name not in REGISTRY:
        raise KeyError(f"no registered layer {name!r}; known: {sorted(REGISTRY)}")
    return REGISTRY[name]


def module_of(name):
    """The module that registered a planted entry (replay must import it), else ''."""
    return PLANTED_MODULES.get(name, "")
