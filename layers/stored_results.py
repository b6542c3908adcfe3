"""Passes that return nothing and leave their result on the layer, and losses handed their
predictions again.

In the style of "Neural Networks from Scratch" (nnfs), ``forward(inputs)`` returns None and
keeps ``self.output``, and ``backward(dvalues)`` returns None and keeps ``self.dinputs`` (the
parameters' gradients in ``self.dweights``, ``self.dbiases``, as any attribute-style layer's).
:func:`call_keeping` calls a pass and, when it returns None, takes the array it bound to one
of those names in that call: an array left there by an earlier call is never taken for this
call's result (a forward that returns nothing and sets nothing still returns None, and the
protocol says so).
"""
import numpy as np

# Where a forward that returns nothing leaves its output, most usual first.
OUTPUT_ATTRS = ("output", "out", "outputs")
# Where a backward that returns nothing leaves its input's gradient, most usual first.
INPUT_GRAD_ATTRS = ("dinputs", "dinput", "d_inputs", "grad_inputs", "grad_input", "dx")


def call_keeping(obj, method, names, *args, **kwargs):
    """``obj.method(*args, **kwargs)``; when that returns None, the ndarray the call bound to
    the first of ``names`` it bound (rebound, not an array left there by an earlier call), or
    None when it bound none."""
    before = {n: getattr(obj, n, None) for n in names}
    result = getattr(obj, method)(*args, **kwargs)
    name = rebound(obj, names, before) if result is None else None
    return result if name is None else getattr(obj, name)


def rebound(obj, names, before):
    """The first of ``names`` that ``obj`` now holds as an ndarray other than its value
    ``before`` a call (a fresh result of that call), or None."""
    return next((n for n in names if isinstance(getattr(obj, n, None), np.ndarray)
                 and getattr(obj, n) is not before.get(n)), None)


class PredictionsLoss:
    """A loss in nnfs's style on the protocol: ``forward(y_pred, y_true)`` gives the per-sample
    losses (the loss is their mean, as nnfs's ``Loss.calculate`` takes it) or the loss, and
    ``backward(dvalues, y_true)`` is handed the predictions again (``self.output`` when the
    forward keeps one of the input's shape, a softmax and its loss in one class; else the
    input), not an upstream gradient, leaving ``self.dinputs``: the gradient of the loss.
    Its ``backward()`` takes no upstream gradient, as any loss's ``backward(self)``."""

    def __init__(self, obj, forward="forward", backward="backward"):
        self.obj, self._forward, self._backward = obj, forward, backward
        self._at, self._targets = None, ()

    def forward(self, y_pred, *targets):
        before = {"output": getattr(self.obj, "output", None)}
        out = np.asarray(getattr(self.obj, self._forward)(y_pred, *targets))
        kept = self.obj.output if rebound(self.obj, ("output",), before) else None
        self._at = kept if np.shape(kept) == np.shape(y_pred) else y_pred
        self._targets = targets
        return np.asarray(out.mean()) if out.ndim else out

    def backward(self):
        if self._at is None:
            raise RuntimeError(f"{type(self.obj).__name__}: backward before any forward")
        return call_keeping(self.obj, self._backward, INPUT_GRAD_ATTRS, self._at, *self._targets)

    def __getattr__(self, attr):
        # hyperparameters are read off the user's object
        if attr == "obj" or attr.startswith("_"):
            raise AttributeError(attr)
        return getattr(self.obj, attr)
