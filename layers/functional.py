"""Check functional forward/backward pairs (cs231n style) without rewriting them.

cs231n's assignments write a layer as two functions::

    out, cache = affine_forward(x, w, b)
    dx, dw, db = affine_backward(dout, cache)
    out, cache = conv_forward_naive(x, w, b, conv_param)      # conv_param = {'stride': 1, 'pad': 1}
    out, cache = batchnorm_forward(x, gamma, beta, bn_param)  # bn_param['mode'] = 'train' | 'test'
    out, cache = relu_forward(x);  dx = relu_backward(dout, cache)
    loss, dx = softmax_loss(x, y)

:class:`FunctionalLayer` presents such a pair as a protocol layer, and
:class:`FunctionalLoss` a ``loss, dx = X_loss(x, y)`` function as a protocol
loss. Nothing is copied: ``params`` is the very dict passed in (the user's
arrays), and ``options`` is the user's own dict, passed to every call.
"""
from layers.base import Layer, Loss


class FunctionalLayer(Layer):
    """``out, cache = forward_fn(x, *params.values()[, options])``; ``backward_fn(dout, cache)``.

    params: an ordered dict name -> array, in the order the forward takes them
    (``{"w": w, "b": b}``, ``{"gamma": g, "beta": b}``); ``{}`` for none.
    backward_fn returns ``(dx, *dparams)`` in that order, or ``dx`` alone when
    there are no params. options: the trailing dict argument (conv_param,
    pool_param, bn_param, dropout_param) or None; its keys read as attributes
    (``layer.stride``), and when it has a ``mode_key`` entry the training flag
    sets it to "train" or "test".
    """

    def __init__(self, forward_fn, backward_fn, params=None, options=None, *, name=None,
                 mode_key="mode"):
        if not callable(forward_fn) or not callable(backward_fn):
            raise TypeError(f"FunctionalLayer: forward_fn and backward_fn must be callable, got "
                            f"{type(forward_fn).__name__} and {type(backward_fn).__name__}")
        self.forward_fn, self.backward_fn = forward_fn, backward_fn
        self.name = name or getattr(forward_fn, "__name__", "functional").removesuffix("_forward")
        self.params = {} if params is None else params
        if not hasattr(self.params, "keys"):
            raise TypeError(f"{self.name}: params must be a dict name -> array, got "
                            f"{type(params).__name__}")
        if options is not None and not hasattr(options, "keys"):
            raise TypeError(f"{self.name}: options must be a dict (e.g. conv_param), got "
                            f"{type(options).__name__}")
        self.options = options
        self.mode_key = mode_key
        self.grads = {}
        self._training = True
        self._cache = None
        self._has_cache = False

    @property
    def training(self):
        if self.options is not None and self.mode_key in self.options:
            return self.options[self.mode_key] == "train"
        return self._training

    @training.setter
    def training(self, value):
        self._training = bool(value)
        if self.options is not None and self.mode_key in self.options:
            self.options[self.mode_key] = "train" if value else "test"

    def forward(self, *inputs):
        args = [*inputs, *self.params.values()]
        if self.options is not None:
            args.append(self.options)
        result = self.forward_fn(*args)
        if not isinstance(result, tuple) or len(result) != 2:
            raise ValueError(f"{self.name}: {_fn_name(self.forward_fn)} must return (out, cache), "
                             f"got {_describe(result)}")
        out, self._cache = result
        self._has_cache = True
        return out

    def backward(self, dout):
        if not self._has_cache:
            raise RuntimeError(f"{self.name}: backward called before forward (no cache yet)")
        result = self.backward_fn(dout, self._cache)
        names = list(self.params)
        if not names:
            if isinstance(result, tuple):
                if len(result) != 1:
                    raise ValueError(f"{self.name}: {_fn_name(self.backward_fn)} returned "
                                     f"{len(result)} values; with no params it must return dx")
                result = result[0]
            return result
        if not isinstance(result, tuple) or len(result) != 1 + len(names):
            got = f"{len(result)} values" if isinstance(result, tuple) else _describe(result)
            raise ValueError(f"{self.name}: {_fn_name(self.backward_fn)} must return "
                             f"({', '.join(['dx'] + ['d' + n for n in names])}), got {got}")
        dx, *dparams = result
        self.grads = dict(zip(names, dparams))
        return dx

    def __getattr__(self, attr):
        # Hyperparameters live in the options dict: layer.stride is conv_param['stride'].
        options = self.__dict__.get("options")
        if options is not None and attr in options:
            return options[attr]
        raise AttributeError(f"{type(self).__name__} {self.__dict__.get('name', '')!r} has no "
                             f"attribute {attr!r}")

    def __repr__(self):
        return f"FunctionalLayer({self.name}, params={list(self.params)}, options={self.options!r})"


class FunctionalLoss(Loss):
    """``loss, dx = fn(x, y)`` as a protocol loss: ``forward(x, t)`` -> loss, ``backward(dout)`` -> dout * dx."""

    input_names = ("x",)

    def __init__(self, fn, *, name=None):
        if not callable(fn):
            raise TypeError(f"FunctionalLoss: fn must be callable, got {type(fn).__name__}")
        super().__init__()
        self.fn = fn
        self.name = name or getattr(fn, "__name__", "loss")
        self._dx = None

    def forward(self, x, t):
        result = self.fn(x, t)
        if not isinstance(result, tuple) or len(result) != 2:
            raise ValueError(f"{self.name}: {_fn_name(self.fn)} must return (loss, dx), "
                             f"got {_describe(result)}")
        loss, self._dx = result
        return loss

    def backward(self, dout=1.0):
        if self._dx is None:
            raise RuntimeError(f"{self.name}: backward called before forward")
        return dout * self._dx

    def __repr__(self):
        return f"FunctionalLoss({self.name})"


def _fn_name(fn):
    return getattr(fn, "__name__", repr(fn))


def _describe(value):
    if isinstance(value, tuple):
        return f"a tuple of {len(value)}"
    return type(value).__name__
