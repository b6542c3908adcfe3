"""Check a whole network that computes its own gradients, as the seeds' TwoLayerNet does.

deep-learning-from-scratch's networks keep their arrays in ``net.params``
(``{"W1": ..., "b1": ...}``), build ``net.layers`` (an OrderedDict of layers
holding the same arrays) and expose ``net.loss(x, t)`` and
``net.gradient(x, t)``, which returns a dict of gradients keyed like
``net.params``. :class:`GradientNetwork` presents such a network the way the
project's ``Sequential`` is presented: ``loss_forward(x, t)``,
``backward(dout=1.0)``, ``params`` (the user's own dict) and ``grads``.
"""
import numpy as np


class GradientNetwork:
    """``loss_forward(x, t)`` -> ``net.loss(x, t, **loss_kwargs)``; ``backward(dout)`` ->
    ``dout * net.gradient(x, t)``.

    The network computes no input gradient, so ``backward`` returns None. Its
    layers (``net.layers``: a dict or a list) are ``layers``, in order.
    """

    def __init__(self, net, *, loss="loss", gradient="gradient", loss_kwargs=None):
        self.net = net
        self.loss_kwargs = dict(loss_kwargs or {})   # e.g. {"train_flg": True}
        self.label = f"GradientNetwork({type(net).__name__})"
        for method in (loss, gradient):
            if not callable(getattr(net, method, None)):
                raise TypeError(f"{self.label}: the network has no method {method}(x, t)")
        if not isinstance(getattr(net, "params", None), dict):
            raise TypeError(f"{self.label}: the network needs a params dict (name -> array), "
                            f"got {type(getattr(net, 'params', None)).__name__}")
        self._loss, self._gradient = getattr(net, loss), getattr(net, gradient)
        self.grads = {}
        self.training = True
        self._xt = None

    @property
    def params(self):
        return self.net.params

    @property
    def layers(self):
        found = getattr(self.net, "layers", None)
        if isinstance(found, dict):
            return list(found.values())
        return list(found) if found is not None else []

    @property
    def layer_names(self):
        found = getattr(self.net, "layers", None)
        if isinstance(found, dict):
            return [str(k) for k in found]
        return [type(layer).__name__ for layer in self.layers]

    def loss_forward(self, x, t):
        self._xt = (x, t)
        return self._loss(x, t, **self.loss_kwargs)

    def backward(self, dout=1.0):
        """Fill ``grads`` with dout * net.gradient(x, t) for the last loss_forward's (x, t)."""
        if self._xt is None:
            raise RuntimeError(f"{self.label}: backward called before loss_forward")
        grads = self._gradient(*self._xt)
        if not hasattr(grads, "keys"):
            raise TypeError(f"{self.label}: gradient(x, t) must return a dict name -> array, "
                            f"got {type(grads).__name__}")
        missing = [k for k in self.params if k not in grads]
        extra = [k for k in grads if k not in self.params]
        if missing or extra:
            raise KeyError(f"{self.label}: gradient(x, t) keys do not match params: "
                           f"missing {missing}, unexpected {extra}")
        self.grads = {k: dout * np.asarray(grads[k]) for k in self.params}
        return None

    def __repr__(self):
        return f"{self.label}(params={list(self.params)})"
