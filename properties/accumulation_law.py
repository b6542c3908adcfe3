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
from properties.declare import prop
from properties.laws import broken



def _applies(entry):
    return "" if entry.accumulates else (
        "the layer has no zero_grad() beside Parameters' .grad: nothing says its backward adds")


@prop("accumulates", applies=_applies, specialised=True)
def accumulates(trial):
    """Two backwards without zero_grad() between them leave twice one backward's gradients."""
    out, dout, dins, grads = trial.run()
    once = {k: np.array(v, np.float64, copy=True) for k, v in grads.items()}
    layer = trial.layer.layer                       # the user's object: no clearing this time
    backward = getattr(layer, trial.layer._backward_name)
    try:
        backward(*O.parts(O.copy(dout))) if trial.layer.takes_dout else backward()
    except Exception as exc:      # a backward that consumes its forward's cache: nothing to add
        return [trial.finding("accumulation", True, f"not checked: a second backward on the "
                              f"same forward raised {type(exc).__name__}: {exc}")]
    twice = {k: np.asarray(trial.layer.grads[k], np.float64) for k in once}
    return [trial.compare(f"{k} (second backward)", twice[k], 2 * once[k], "law",
                          tol=_tolerance(trial.case.dtype), **broken("accumulates", twice[k]),
                          note="after a second backward, without zero_grad(), on the same "
                               "forward and dout")
            for k in once]


def _tolerance(dtype):
    """Twice a gradient, up to a few round-offs of the case's dtype (doubling itself is exact)."""
    eps = float(np.finfo(np.dtype(dtype)).eps)
    return Tolerance(rtol=8 * eps, atol=8 * eps)
