"""The one place a layer is registered for checking.

An :class:`Entry` says how to make the layer from a drawn configuration, how
to draw that configuration, and anything special (the shape of each input when
it is not one per-sample tensor, targets for a loss, tolerance overrides, how
the batch is coupled). Its params are randomised by the case from its own
random stream, so an entry never needs a builder to undo zero initialisation.
The battery then runs every property for it with no further test code.
Entries live in ``properties/catalog/`` (every module there is loaded) or are
registered at run time (a user's own layers, planted bugs).
"""
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np
from hypothesis import strategies as st

from properties.values import KINDS

REGISTRY = {}
# Deliberately broken layers (tests/planted) and other layers checked on request: found by
# name, never part of the project's own entries().
PLANTED = {}
PLANTED_MODULES = {}


def per_sample(config, n):
    """One input of shape (N, *config["shape"]): the default ``input_shapes``."""
    return [(n, *config["shape"])]


@dataclass(frozen=True)
class Entry:
    """One registered layer.

    name: unique label (used in test ids, reports and reproduction lines).
    make: (config, rng, dtype) -> layer. Its params are then replaced by values
        drawn from the case's "params" stream (standard normal; ``param_values``
        overrides), in the case's dtype.
    configs: Hypothesis strategy of plain-dict configurations.
    input_shapes: (config, batch) -> one shape per input; default ``per_sample``.
    twin: TF twin; None looks it up by the layer's class (oracle.twins.twin_for).
    targets: (config, batch, rng, dtype) -> tuple of the inputs that are not
        differentiated (a loss's labels, an embedding's integer indices, a mask,
        lengths), passed to forward after the differentiable inputs; any layer
        may have them (``properties.sequence_strategies`` draws indices with
        repeats and masks with padded tails). None: the layer has none.
    batch_rule: "sum" (no coupling: batch grads = sum of per-sample grads),
        "mean" (a loss averaging over the batch), or a sentence saying why the
        samples are coupled (the additivity property then reports that reason).
    batch_axes: per input, True if it carries the batch axis; None infers it
        from ``input_shapes`` (the axes that follow the batch size).
    tolerances: overrides, e.g. {"tf": {"rtol": 1e-6}} or {("float32", "fd"): {...}}.
    tf_kinds / fd_kinds: value kinds drawn for the TF and the FD properties.
    training_modes: the ``training`` values drawn (layers without one: (True,)).
    backward_modes: the ``training`` values in which the layer has a backward
        (None: all). A batch norm written for training only says (True,): in
        inference mode it then gets the forward-only properties.
    running_stats: names of the running statistics a normalisation layer keeps
        (("running_mean", "running_var")): the running-statistics property then
        compares them with tf.keras's moving statistics after k training forwards.
    cell: for an unrolled recurrent layer, layer -> its one-step cell sharing
        the layer's params (the laws compare the two). The layer maps
        (x (N, T, D), h0, ...) to every hidden state (N, T, H); the cell maps
        (x_t, *state) to the next state (its first output is h_t); the config has "T".
    causal: True when output step t depends on no input after step t (axis 1).
    positionwise: True when every (sample, step) position is computed on its
        own (an embedding, a temporal affine): gradients over a sequence are the
        sum of those of single positions (an index used twice counts twice).
    mask_target: the index in ``targets`` of a (N, T) mask; a masked (zero)
        position must get no gradient in any input laid out (N, T, ...).
    param_values: (name, shape, rng) -> values for a param, when standard
        normal values are wrong for it; state: (layer, rng) -> None, to draw
        non-param state (running statistics) as after some training.
    dtypes: the dtypes drawn (a user's layer computing in float64 whatever the
        input gets ("float64",)). no_twin: why there is no TF twin ("" when there
        is one): the TF properties then do not apply or fall back to finite
        differences, and every result says so. convention: a convention the
        matched twin found the layer to follow (said on every result).
    source: where the entry came from, for messages ("" for the project's own).
    input_domains: per input, the open interval (lo, hi) its values are moved into
        (``values.into_domain``: a log's (0, inf), probabilities' (0, 1)), or None; ()
        for none.
    """

    name: str
    make: Callable
    configs: st.SearchStrategy = field(default_factory=lambda: st.just({}))
    input_shapes: Callable = per_sample
    twin: Optional[Callable] = None
    targets: Optional[Callable] = None
    batch_rule: str = "sum"
    batch_axes: Optional[tuple] = None
    tolerances: dict = field(default_factory=dict)
    tf_kinds: tuple = KINDS
    fd_kinds: tuple = ("fd_safe", "normal")
    training_modes: tuple = (True,)
    backward_modes: Optional[tuple] = None
    running_stats: tuple = ()
    cell: Optional[Callable] = None
    causal: bool = False
    positionwise: bool = False
    mask_target: Optional[int] = None
    max_batch: int = 4
    param_values: Optional[Callable] = None
    state: Optional[Callable] = None
    dtypes: tuple = ("float64", "float32")
    no_twin: str = ""
    convention: str = ""
    source: str = ""
    input_domains: tuple = ()
    takes_dout: bool = True      # False: a loss whose backward() takes no upstream gradient
    accumulates: bool = False    # True: Parameters' .grad cleared by a zero_grad(): backward adds
    paired: bool = False         # True: a loss of inputs alike in shape (x1, x2): drawn close too
    min_batch: int = 1           # 2: a layer refusing one sample in training (torch's BatchNorm)

    @property
    def has_targets(self):
        """True when the layer takes inputs it does not differentiate (labels, indices, masks)."""
        return self.targets is not None

    def build(self, config, rng, dtype):
        """The layer for ``config``, with every param drawn from ``rng`` in ``dtype``."""
        layer = self.make(config, rng, dtype)
        for k in list(layer.params):
            shape = np.shape(layer.params[k])
            values = (self.param_values(k, shape, rng) if self.param_values
                      else rng.standard_normal(shape))
            layer.params[k] = np.asarray(values, dtype=dtype)
        _cast_buffers(layer, dtype)
        if self.state:
            self.state(layer, rng)
        return layer

    def batched_inputs(self, config, batch):
        """Per input: does it carry the batch axis (axis 0)?"""
        if self.batch_axes is not None:
            return tuple(self.batch_axes)
        here, there = self.input_shapes(config, batch), self.input_shapes(config, batch + 1)
        return tuple(len(a) > 0 and tuple(a)[0] != tuple(b)[0] for a, b in zip(here, there))

    def batched_targets(self, config, batch, dtype="float64"):
        """Per target: does it carry the batch axis (axis 0)? A set of negatives shared by every
        sample (``sampled: (S,)``) does not, and a sample run alone takes it whole."""
        if not self.has_targets:
            return ()
        here, there = (self.targets(config, n, np.random.default_rng(0), np.dtype(dtype))
                       for n in (batch, batch + 1))
        return tuple(np.ndim(a) > 0 and np.shape(a)[0] != np.shape(b)[0] for a, b in zip(here, there))


def _cast_buffers(layer, dtype):
    """Gradient buffers the layer made beside its params (``self.dW = np.zeros_like(W)``,
    numpy-ml's ``self.gradients``) in the dtype the params were just drawn in: a layer built in
    float32 has them so, and the cast of its params alone is no slip of the layer's."""
    try:
        grads = layer.grads
        held = {k: grads.get(k) for k in list(layer.params)}
    except Exception:       # (no buffers yet: an adapter finds them on the first backward)
        return
    for k, g in held.items():
        if isinstance(g, np.ndarray) and g.dtype.kind == "f" and g.dtype != dtype and \
                g.shape == np.shape(layer.params[k]):
            grads[k] = g.astype(dtype)


def register(entry, *, planted=""):
    """Add ``entry`` to the registry and return it.

    Registering again under a name already taken replaces the entry when it
    comes from the same place (a re-run notebook cell, a re-imported module);
    a different layer under a taken name is an error.

    planted: for a layer checked on request (a deliberately broken layer, a
    user's layer), the module that registers it (pass ``__name__``); it goes
    to PLANTED, and replay lines import that module.
    """
    table = PLANTED if planted else REGISTRY
    old = REGISTRY.get(entry.name) or PLANTED.get(entry.name)
    if old is not None and _origin(old) != _origin(entry):
        raise ValueError(f"a layer named {entry.name!r} is already registered "
                         f"(from {_origin(old)}); choose another name")
    if entry.batch_rule not in ("sum", "mean") and len(entry.batch_rule) < 10:
        raise ValueError(f"{entry.name}: batch_rule must be 'sum', 'mean' or a sentence saying "
                         f"why the batch is coupled, got {entry.batch_rule!r}")
    table[entry.name] = entry
    if planted:
        PLANTED_MODULES[entry.name] = planted
    return entry


def _origin(entry):
    make = getattr(entry.make, "__module__", None) or "?"
    return entry.source or f"{make}"


def module_of(name):
    """The module that registered a planted entry (replay must import it), else ''."""
    return PLANTED_MODULES.get(name, "")
