"""nnfs's regularised layers: ``Layer_Dense(..., weight_regularizer_l1=0, weight_regularizer_l2=0,
bias_regularizer_l1=0, bias_regularizer_l2=0)``, whose backward adds the gradient of the L1/L2
penalty (which the loss adds, ``Loss.regularization_loss(layer)``) to ``dweights`` and
``dbiases``: the gradient of the loss, not of the layer's output alone.

:class:`PenalizedLayer` is the attribute adapter less that term: after the layer's backward,
each regularised param's gradient has the book's penalty gradient taken out,
``l1 * sign(p) + 2 * l2 * p`` (sign(0) = +1, as the book writes it: ``dL1 = ones_like;
dL1[p < 0] = -1``), so what is checked is the rest, the derivative of the output. A penalty
term the backward gets wrong (a missing factor 2) is what then shows. Only the strengths the
backward reads count: one it takes and never applies (an L1 left out of both its backward and
its loss) adds nothing to take out.
"""
import numbers

import numpy as np

from layers.adapter import AttributeLayer

# The book's strength attributes, for its weights and for its biases.
REGULARIZERS = {"weight": ("weight_regularizer_l1", "weight_regularizer_l2"),
                "bias": ("bias_regularizer_l1", "bias_regularizer_l2")}
SHORT = {"weight": ("w", "W"), "bias": ("b",)}


def read_by(obj, attr, method="backward"):
    """Whether ``obj``'s ``method`` reads the attribute ``attr`` (a strength its backward never
    reads adds no term there: a layer taking an L1 strength and applying only L2)."""
    code = getattr(getattr(type(obj), method, None), "__code__", None)
    return code is not None and attr in code.co_names


def strengths(obj, method="backward"):
    """{"weight" or "bias": (l1, l2)} for the book's strengths that are not both 0, each taken
    as 0 where ``method`` does not read it."""
    out = {}
    for kind, names in REGULARIZERS.items():
        values = [getattr(obj, n, 0) if read_by(obj, n, method) else 0 for n in names]
        if all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values) and \
                any(v != 0 for v in values):
            out[kind] = tuple(float(v) for v in values)
    return out


def penalty_gradient(p, l1, l2):
    """The book's L1/L2 penalty's gradient at ``p``, in p's dtype."""
    sign = np.where(p >= 0, 1.0, -1.0).astype(p.dtype)
    return (l1 * sign + 2.0 * l2 * p).astype(p.dtype)


class PenalizedLayer(AttributeLayer):
    """An AttributeLayer whose regularised params' gradients are reported less the penalty's."""

    def _penalized(self):
        names = list(self.params)
        out = {}
        for kind, (l1, l2) in strengths(self.layer, self._backward_name).items():
            name = next((n for n in names if kind in n.lower() or n in SHORT[kind]), None)
            if name is not None:
                out[name] = (l1, l2)
        return out

    def backward(self, *args):
        dx = super().backward(*args)
        for name, (l1, l2) in self._penalized().items():
            grad, p = self.grads[name], np.asarray(self.params[name])
            if isinstance(grad, np.ndarray) and grad.shape == p.shape:
                self.grads[name] = grad - penalty_gradient(p, l1, l2)
        return dx
