"""Run a layer under the protocol's contract, turning its violations into clear errors.

Every call names the layer and the tensor when something is wrong: backward
returning None, the wrong number of gradients, a missing ``grads`` entry, a
non-array where an array belongs.
"""
import numpy as np

from oracle.layer_copy import copier
from oracle.tape import tape_vjp
from oracle.twins import twin_for


class LayerContractError(Exception):
    """The layer broke the protocol (not a numeric mismatch): the message says how."""

    def __init__(self, layer, tensor, message):
        super().__init__(f"{layer}: {tensor}: {message}")
        self.layer, self.tensor = layer, tensor


def input_names(layer):
    return tuple(getattr(layer, "input_names", ("x",)))


def grad_names(layer):
    """Names of the gradients a backward yields: 'dx' (and 'dy', ...) then 'dW', 'db', ..."""
    return [f"d{n}" for n in input_names(layer)] + [f"d{k}" for k in layer.params]


def run_forward(name, layer, inputs, targets=()):
    try:
        out = layer.forward(*inputs, *targets)
    except (ValueError, TypeError, IndexError) as exc:
        raise LayerContractError(name, "forward", f"raised {type(exc).__name__}: {exc}") from exc
    if out is None:
        raise LayerContractError(name, "out", "forward returned None; it must return the output")
    return out


def run_backward(name, layer, dout):
    """Call backward and return (one gradient per input, a copy of grads)."""
    try:
        got = layer.backward(dout)
    except (ValueError, TypeError, IndexError, AttributeError) as exc:
        raise LayerContractError(name, "backward", f"raised {type(exc).__name__}: {exc}") from exc
    names = input_names(layer)
    if got is None:
        raise LayerContractError(name, f"d{names[0]}", "backward returned None; it must return "
                                 "the gradient with respect to its input")
    got = tuple(got) if isinstance(got, (tuple, list)) else (got,)
    if len(got) != len(names):
        raise LayerContractError(name, "backward", f"returned {len(got)} gradient(s) for "
                                 f"{len(names)} input(s) {names}")
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
    return got, grads


def run_layer(case, layer, inputs, targets, dout_stream="dout"):
    """forward then backward with a random upstream gradient: (out, dout, dinputs, grads)."""
    out = run_forward(case.layer, layer, inputs, targets)
    dout = case.dout(np.shape(out), dout_stream)
    dins, grads = run_backward(case.layer, layer, dout)
    return out, dout, dins, grads


def twin(case, layer):
    return case.entry.twin or twin_for(layer)


def tf_vjp(case, layer, inputs, targets, params, dout):
    return tape_vjp(twin(case, layer), layer, inputs, params, dout, targets, name=case.layer)


def float64_function(case, layer_names):
    """fn(arrays) -> output of a float64 copy of the case's layer, for finite differences.

    Every call starts from a fresh copy (``oracle.layer_copy``) of one snapshot
    taken before any forward, so a layer with randomness (a dropout mask) draws the same thing each time,
    and the same thing the layer under test drew.
    """
    snapshot = case.build()
    for k in list(snapshot.params):
        snapshot.params[k] = np.asarray(snapshot.params[k], np.float64)
    targets = case.targets()
    names = input_names(snapshot)
    fresh = copier(snapshot, list(snapshot.params.values()))   # params: replaced on every call

    def fn(arrays):
        lay = fresh()
        for k in lay.params:
            lay.params[k] = arrays[k]
        return lay.forward(*[arrays[n] for n in names], *targets)

    return fn


def fd_arrays(layer, inputs, params):
    arrays = dict(zip(input_names(layer), inputs))
    clash = set(arrays) & set(params)
    if clash:
        raise ValueError(f"input and param names clash: {sorted(clash)}")
    arrays.update(params)
    return arrays
