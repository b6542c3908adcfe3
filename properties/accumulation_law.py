"""The accumulation law of layers written PyTorch's way: ``.grad +=``, cleared by ``zero_grad()``.

A layer that keeps hand-written Parameters (``self.weight.data`` and ``self.weight.grad``) and
has a ``zero_grad()`` says by that method that its backward *adds* to ``.grad``, as PyTorch's
does: a parameter used twice (tied weights, a layer applied at two places in a model) and
micro-batches accumulated before one step both rely on it. The checks clear ``.grad`` before
every backward, as a training loop's ``zero_grad()`` does, so a backward that assigns
(``.grad =``) where it should add passes all of them. Here a second backward on the same
forward and upstream gradient, without clearing, must leave twice the first's gradients.
"""
import copy

import numpy as np

from oracle.tolerance import Tolerance
from properties import outputs as O
from properties.declare import EXPLAIN, prop
from properties.global_rng import generator_states, rewind
from properties.laws import broken



def declares_accumulation(layer, xs):
    """An adapted user layer says its backward adds to its gradients: it keeps Parameters'
    ``.grad`` and has a ``zero_grad()``, or keeps gradients and has numpy-ml's
    ``flush_gradients()`` and a backward that computes the same again on the same forward
    (numpy-ml's RNN cell counts its time steps down, one a backward: a second backward is
    another step's, and what it adds is no law's). ``xs``: what its forward takes (targets too)."""
    held = getattr(layer, "layer", None)
    try:
        grads = getattr(layer, "_views", None) and layer._views[1]
    except Exception:
        return False
    if callable(getattr(held, "flush_gradients", None)):
        return bool(grads) and len(list(grads)) > 0 and _repeats(layer, xs)
    fields = getattr(grads, "_field", None) == "grad" or any(
        steps[-1] == ("attr", "grad") for steps in getattr(grads, "_paths", {}).values())
    return bool(fields) and callable(getattr(held, "zero_grad", None))


def _repeats(layer, xs):
    """A backward (on a copy of ``layer``) changes nothing in the layer but its gradients, and
    a second one on the same forward returns the first one's dx."""
    probe = copy.deepcopy(layer)
    kept = _gradient_attrs(probe)
    try:
        out = probe.forward(*xs)
        dout = O.each(lambda o: np.linspace(-1.0, 1.5, np.size(o)).reshape(np.shape(o)), out)
        before = copy.deepcopy({k: v for k, v in vars(probe.layer).items() if k not in kept})
        first = O.copy(probe.backward(*O.parts(O.copy(dout))))
        if not _same(before, {k: v for k, v in vars(probe.layer).items() if k not in kept}):
            return False         # a time step counted down, an accumulator kept
        again = getattr(probe.layer, probe._backward_name)(*O.parts(O.copy(dout)))
    except Exception:
        return False
    if first is None or again is None:
        return True        # nothing returned to compare: the law judges the gradients alone
    return all(np.shape(a) == np.shape(b) and np.allclose(a, b, rtol=1e-9, atol=1e-12)
               for a, b in zip(O.parts(first), O.parts(again)))


def _gradient_attrs(layer):
    """The attributes of the user's layer that hold its gradients (as the adapter reads them)."""
    view = layer._views[1]
    if getattr(view, "_attr", None):
        return {view._attr}
    return {steps[0][1] for steps in getattr(view, "_paths", {}).values() if steps}


def _same(a, b):
    """Equal state: arrays, numbers, strings and containers of them (other objects ignored)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape \
            and np.array_equal(a, b, equal_nan=a.dtype.kind == "f" and b.dtype.kind == "f")
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, (int, float, str, bool, type(None), np.generic)):
        return type(a) is type(b) and (a == b or a != a and b != b)
    return True


def _applies(entry):
    return "" if entry.accumulates else (
        "the layer has no zero_grad() beside Parameters' .grad, nor a flush_gradients() beside "
        "its gradients: nothing says its backward adds")


@prop("accumulates", applies=_applies, specialised=True)
def accumulates(trial):
    """Two backwards without zero_grad() between them leave twice one backward's gradients."""
    held = generator_states(trial.layer)
    out, dout, dins, grads = trial.run()
    once = {k: np.array(v, np.float64, copy=True) for k, v in grads.items()}
    layer = trial.layer.layer                       # the user's object: no clearing this time
    backward = getattr(layer, trial.layer._backward_name)
    again = lambda: backward(*O.parts(O.copy(dout))) if trial.layer.takes_dout else backward()  # noqa: E731
    note = "after a second backward, without zero_grad(), on the same forward and dout"
    try:
        again()
    except Exception:    # a backward that frees its forward's cache (as PyTorch's does): the
        rewind(held)     # same forward again first, .grad left as the first backward left it
        trial.forward()
        try:
            again()
        except Exception as exc:
            return [trial.finding("accumulation", False, f"a second backward raised "
                                  f"{type(exc).__name__}: {exc}, after the same forward again",
                                  verdict="layer raised", explanation=EXPLAIN["layer raised"])]
        note = ("after the same forward and a second backward, without zero_grad() (a second "
                "backward on one forward raised: it frees what its forward saved)")
    twice = {k: np.asarray(trial.layer.grads[k], np.float64) for k in once}
    return [trial.compare(f"{k} (second backward)", twice[k], 2 * once[k], "law",
                          tol=_tolerance(trial.case.dtype), **broken("accumulates", twice[k]),
                          note=note)
            for k in once]



def _tolerance(dtype):
    """Twice a gradient, up to a few round-offs of the case's dtype (doubling itself is exact)."""
    eps = float(np.finfo(np.dtype(dtype)).eps)
    return Tolerance(rtol=8 * eps, atol=8 * eps)
