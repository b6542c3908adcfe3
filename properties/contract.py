"""The contract a layer must keep, and what happens when it does not.

``run_forward`` and ``run_backward`` call the layer under the protocol and turn
every way it can go wrong into a :class:`LayerContractError` that names the
layer, the tensor or phase, and (for an exception) the user's file and line:
backward returning None, the wrong number of gradients, a missing ``grads``
entry, a non-array where an array belongs, or any exception the layer raises.
NumPy floating-point events (overflow, invalid values) inside the layer are
recorded, not raised: a correct, stable layer may compute both branches of a
``where``; whether the value is right is for the oracles to say.
"""
import os
import re
import traceback

import numpy as np


class LayerContractError(Exception):
    """The layer broke the protocol or raised (not a numeric mismatch): the message says how.

    ``verdict`` is "contract" (a protocol violation), "layer raised" (an
    exception from the layer's own code) or "harness error" (the harness called it with
    arguments it does not take); ``where`` is "file:line" in the
    layer's code for an exception, else "".
    """

    def __init__(self, layer, tensor, message, *, verdict="contract", where=""):
        super().__init__(f"{layer}: {tensor}: {message}" + (f" (at {where})" if where else ""))
        self.layer, self.tensor, self.verdict, self.where = layer, tensor, verdict, where


HARNESS_DIRS = tuple(os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep + d + os.sep
                     for d in ("properties", "oracle", "reports"))


def user_frame(exc):
    """'file:line' of the innermost frame of ``exc`` in the layer's code (not NumPy, not the harness)."""
    frames = traceback.extract_tb(exc.__traceback__)
    np_dir = os.path.dirname(np.__file__)
    for fr in reversed(frames):
        path = os.path.abspath(fr.filename)
        if path.startswith(np_dir) or path.startswith(HARNESS_DIRS) or "site-packages" in path:
            continue
        return f"{fr.filename}:{fr.lineno}"
    return ""


ADAPTERS = tuple(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "layers",
                             f) for f in ("functional.py", "adapter.py", "self_updating.py"))


def from_adapter(exc):
    """True when ``exc`` was raised by the harness's adapter itself, checking what the user's
    code returned against what it read off the code (``conv_backward must return (dx, dw, db),
    got 2 values``): a mismatch of the two readings, not the user's code raising."""
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and os.path.abspath(frames[-1].filename) in ADAPTERS and \
        isinstance(exc, (ValueError, TypeError)) and "must return" in str(exc)


ARITY = re.compile(r"missing \d+ required|takes \d+ positional arguments? but|"
                   r"got an unexpected keyword argument|takes no arguments")
CALLERS = tuple(os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep + d + os.sep
                for d in ("layers", "properties", "oracle"))   # where the harness calls layers


def called_wrong(exc):
    """True for a TypeError raised where the harness's own code called the layer with
    arguments it does not take (``forward() missing 1 required positional argument``), not
    inside the layer's code (its own wrong call of a helper stays the layer's)."""
    frames = traceback.extract_tb(exc.__traceback__)
    return isinstance(exc, TypeError) and bool(ARITY.search(str(exc))) and bool(frames) and \
        os.path.abspath(frames[-1].filename).startswith(CALLERS)


def input_names(layer):
    return tuple(getattr(layer, "input_names", ("x",)))


def target_names(layer, count):
    """Names of the ``count`` inputs a layer does not differentiate: its ``target_names``,
    then "target<i>" for any it does not name."""
    names = tuple(getattr(layer, "target_names", ()) or ())
    return [names[i] if i < len(names) else f"target{i}" for i in range(count)]


def returns_input_grads(layer):
    """False for a layer declared to return no dx (seed 003's first layer returns None)."""
    return getattr(layer, "input_grads", True) is not False


def grad_names(layer):
    """Names of the gradients a backward yields: 'dx' (and 'dy', ...) then 'dW', 'db', ..."""
    ins = [f"d{n}" for n in input_names(layer)] if returns_input_grads(layer) else []
    return ins + [f"d{k}" for k in layer.params]


class FloatEvents:
    """Collects NumPy floating-point events ("overflow in exp", ...) raised while the layer runs."""

    def __init__(self):
        self.seen = []

    def __call__(self, kind, flag):
        if kind not in self.seen:
            self.seen.append(kind)

    def note(self):
        return f"NumPy reported {', '.join(self.seen)} inside the layer." if self.seen else ""


def call(name, phase, fn, *args, events=None):
    """``fn(*args)`` with any exception turned into a LayerContractError naming ``phase``."""
    old = np.seterrcall(events) if events is not None else None
    try:
        with np.errstate(all="call" if events is not None else None):
            return fn(*args)
    except LayerContractError:
        raise
    except Exception as exc:   # any exception from the layer's own code is a finding, never a crash
        if called_wrong(exc):
            raise LayerContractError(
                name, phase, f"the harness called it with arguments it does not take "
                f"({type(exc).__name__}: {exc}): not your code's fault; a hint naming every "
                f"argument (x=(N, ...), args=(...)) tells it what to pass",
                verdict="harness error") from exc
        if from_adapter(exc):        # what the code returned is not what the harness read
            raise LayerContractError(name, phase, str(exc), verdict="contract",
                                     where=user_frame(exc)) from exc
        raise LayerContractError(name, phase, f"raised {type(exc).__name__}: {exc}",
                                 verdict="layer raised", where=user_frame(exc)) from exc
    finally:
        if events is not None:
            np.seterrcall(old)


def run_forward(name, layer, inputs, targets=(), events=None):
    """forward(*inputs, *targets): its output, or a tuple of outputs for a several-output layer."""
    out = call(name, "forward", layer.forward, *inputs, *targets, events=events)
    if out is None:
        raise LayerContractError(name, "out", "forward returned None; it must return the output")
    declared = tuple(getattr(layer, "output_names", ("out",)) or ("out",))
    if len(declared) > 1:
        if not isinstance(out, tuple) or len(out) != len(declared):
            got = f"a tuple of {len(out)}" if isinstance(out, tuple) else type(out).__name__
            raise LayerContractError(name, "out", f"forward returned {got}; output_names "
                                     f"{declared} promises a tuple of {len(declared)} arrays")
        for n, o in zip(declared, out):
            if not isinstance(o, np.ndarray):
                raise LayerContractError(name, f"out:{n}", f"forward returned "
                                         f"{type(o).__name__} for output {n!r}, not a NumPy array")
    return out


def missing_gradients(names, got, shapes=None):
    """Which of ``names`` a backward that returned fewer gradients left out.

    With the inputs' ``shapes``, the returned arrays are matched to the inputs
    in order by shape, so an RNN's backward returning only ``dh0`` is said to
    miss ``dx``, not ``dh0``; without them, the last names.
    """
    if shapes is not None:
        left, i = [], 0
        for n, s in zip(names, shapes):
            if i < len(got) and np.shape(got[i]) == tuple(s):
                i += 1
            else:
                left.append(n)
        if i == len(got) and len(left) == len(names) - len(got):
            return left
    return list(names[len(got):])


def run_backward(name, layer, dout, events=None, shapes=None):
    """Call backward (one upstream gradient per output) and return (one gradient per
    differentiable input, a copy of grads). ``shapes``: the inputs' shapes, to name a
    missing gradient."""
    douts = dout if isinstance(dout, tuple) else (dout,)
    got = call(name, "backward", layer.backward, *douts, events=events)
    names = input_names(layer) if returns_input_grads(layer) else ()
    if got is None and not names:
        got = ()
    elif got is None:
        raise LayerContractError(name, f"d{names[0]}", "backward returned None; it must return "
                                 "the gradient with respect to its input")
    got = tuple(got) if isinstance(got, (tuple, list)) else (got,)
    if len(got) < len(names):
        missing = ", ".join(f"d{n}" for n in missing_gradients(names, got, shapes))
        raise LayerContractError(name, missing, f"backward returned {len(got)} gradient(s) for "
                                 f"{len(names)} differentiable input(s) {names}: {missing} "
                                 "is missing")
    if len(got) != len(names):
        raise LayerContractError(name, "backward", f"returned {len(got)} gradient(s) for "
                                 f"{len(names)} differentiable input(s) {names}")
    for n, g in zip(names, got):
        if not isinstance(g, np.ndarray):
            raise LayerContractError(name, f"d{n}", f"backward returned {type(g).__name__}, "
                                     "not a NumPy array")
    grads = {}
    for k in layer.params:
        try:
            g = layer.grads[k]
        except KeyError:
            g = None
        if g is None:
            raise LayerContractError(name, f"d{k}", f"backward did not write grads[{k!r}]")
        grads[k] = np.array(g, copy=True)
    return tuple(np.array(g, copy=True) for g in got), grads
