"""The accumulation law of layers written PyTorch's way: ``.grad +=``, cleared by ``zero_grad()``.

A layer that keeps hand-written Parameters (``self.weight.data`` and ``self.weight.grad``) and
has a ``zero_grad()`` says by that method that its backward *adds* to ``.grad``, as PyTorch's
does: a parameter used twice (tied weights, a layer applied at two places in a model) and
micro-batches accumulated before one step both rely on it. The checks clear ``.grad`` before
every backward, as a training loop's ``zero_grad()`` does, so a backward that assigns
(``.grad =``) where it should add passes all of them. Here a second backward on the same
forward and upstream gradient, without clearing, must leave twice the first's gradients.
"""
import numpy as np

from oracle.tolerance import Tolerance
from properties import outputs as O
from properties.declare import EXPLAIN, prop
from properties.global_rng import generator_states, rewind
from properties.laws import broken



def _applies(entry):
    return "" if entry.accumulates else (
        "the layer has no zero_grad() beside Parameters' .grad: nothing says its backward adds")


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
