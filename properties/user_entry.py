"""One user layer, set up for the battery: its registry entry, and what probing it tells.

Given a way to build the user's object and to adapt it to the protocol, and the
input it takes (``properties.user_shapes``), :func:`layer_entry` probes a copy
once for what the battery must know: the TF twin that matches its forward
(``oracle.user_twins``), whether it returns a dx, how the batch is coupled,
whether the training flag changes its forward, whether it keeps float32.
"""
import copy
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
from hypothesis import strategies as st

from oracle.user_twins import match_twin
from properties.registry import Entry
from properties.user_shapes import BATCH, InputSpec

COUPLED = ("the forward of one sample depends on the other samples of the batch (found by "
           "running each sample alone): batch statistics, a shared mask or a batch mean")
BATCHLESS = "the layer takes one sample at a time (no batch axis): there is no batch to split"
NO_TWIN = ("no TF twin matched this layer: it is checked against finite differences and the "
           "laws only")


@dataclass
class Found:
    """One thing to check: a layer entry, or a network / optimizer check."""
    label: str
    path: str
    style: str
    how: str
    entry: Optional[Entry] = None
    check: Optional[Callable] = None     # () -> [Result], for networks and optimizers


@dataclass
class Skipped:
    label: str
    path: str
    reason: str


class CannotCheck(Exception):
    """Looks like something to check, but cannot be driven: the message says why and what to add."""


def hinted_spec(hint):
    """The InputSpec a hint's ``x=(N, ...)`` gives, or None."""
    if hint is None or not hint.input_shape:
        return None
    template = tuple(BATCH if d == "N" else int(d) for d in hint.input_shape)
    return InputSpec((template,), BATCH in template, source="hint", how=f"x{hint.input_shape} from the hint")


def layer_entry(label, path, style, name, build, adapt, layer, spec, needs_probe, twin_hint=""):
    """A :class:`Found` holding the registry entry of one user layer.

    build: () -> a fresh user object; adapt: (object, probe inputs) -> (protocol
    layer, style); layer: one adapted copy to probe; spec: its InputSpec;
    needs_probe: the adapter must run the layer to find its parameters.
    """
    rng = np.random.default_rng(0)
    xs, ts = spec.draw(rng, batch=2)
    match = match_twin(copy.deepcopy(layer), xs, ts, name=name, hint=twin_hint)
    input_grads = _returns_dx(layer, xs, ts)

    def make(config, rng, dtype):
        probe = spec.draw(np.random.default_rng(0))[0] if needs_probe else None
        made = adapt(build(), probe)[0]
        if not input_grads:
            made.input_grads = False     # backward returns None: only its params are checked
        return made

    def targets(config, n, rng, dtype):
        t = spec.draw(rng, batch=n)[1]
        return tuple(np.asarray(v, dtype) if np.asarray(v).dtype.kind == "f" else v for v in t)

    batch_rule = _batch_rule(layer, spec, bool(spec.targets))
    how = "; ".join(filter(None, [
        f"{style} style", spec.how, "" if input_grads else "backward returns no dx (params only)",
        f"TF twin: {match.how}" if match else NO_TWIN,
        f"convention: {match.convention}" if match and match.convention else ""]))
    entry = Entry(label, make, st.just({}), input_shapes=lambda c, n: spec.shapes(n),
                  twin=match.twin if match else None, targets=targets if spec.targets else None,
                  batch_rule=batch_rule, training_modes=_training_modes(layer, xs, ts),
                  max_batch=4 if spec.batched else 1, dtypes=_dtypes(layer, xs, ts),
                  no_twin=NO_TWIN if match is None else "",
                  convention=match.convention if match else "", source=path)
    return Found(label, path, style, how, entry=entry)


def _returns_dx(layer, xs, ts):
    lay = copy.deepcopy(layer)
    try:
        out = np.asarray(lay.forward(*xs, *ts))
        return lay.backward(1.0 if out.ndim == 0 else np.ones(out.shape)) is not None
    except Exception:
        return True


def _run(layer, xs, ts):
    return np.asarray(copy.deepcopy(layer).forward(*xs, *ts))


def _batch_rule(layer, spec, loss):
    """"sum", "mean" or the coupling sentence, by running each sample alone."""
    if not spec.batched:
        return BATCHLESS
    rng = np.random.default_rng(1)
    xs, ts = spec.draw(rng, batch=3)
    try:
        whole = _run(layer, xs, ts)
        parts = [_run(layer, [x[i:i + 1] for x in xs], [t[i:i + 1] for t in ts]) for i in range(3)]
    except Exception:
        return COUPLED
    if loss:
        if np.allclose(whole, np.sum(parts), rtol=1e-9, atol=1e-12):
            return "sum"
        return "mean" if np.allclose(whole, np.mean(parts), rtol=1e-9, atol=1e-12) else COUPLED
    together = np.concatenate([p.reshape(1, *whole.shape[1:]) for p in parts]) \
        if whole.ndim and whole.shape[0] == 3 else None
    return "sum" if together is not None and np.allclose(whole, together, rtol=1e-9, atol=1e-12) \
        else COUPLED


def _training_modes(layer, xs, ts):
    """(True, False) when the training flag changes the forward, else (True,)."""
    outs = []
    for mode in (True, False):
        lay = copy.deepcopy(layer)
        lay.training = mode
        np.random.seed(0)
        try:
            out = np.asarray(lay.forward(*xs, *ts))
            lay.backward(1.0 if out.ndim == 0 else np.ones(out.shape))
        except Exception:       # e.g. a dropout whose backward exists only after a training forward
            return (True,)
        outs.append(out)
    return (True, False) if not np.array_equal(*outs) else (True,)


def _dtypes(layer, xs, ts):
    """float32 too when the layer keeps float32 (many tutorials compute in float64 only)."""
    try:
        out = _run(layer, [np.asarray(x, np.float32) for x in xs],
                   [np.asarray(t, np.float32) if np.asarray(t).dtype.kind == "f" else t for t in ts])
    except Exception:
        return ("float64",)
    return ("float64", "float32") if out.dtype == np.float32 or out.ndim == 0 else ("float64",)
