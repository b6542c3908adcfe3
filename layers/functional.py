"""Check functional forward/backward pairs (cs231n style) without rewriting them.

cs231n's assignments write a layer as two functions::

    out, cache = affine_forward(x, w, b)
    dx, dw, db = affine_backward(dout, cache)
    out, cache = conv_forward_naive(x, w, b, conv_param)      # conv_param = {'stride': 1, 'pad': 1}
    out, cache = batchnorm_forward(x, gamma, beta, bn_param)  # bn_param['mode'] = 'train' | 'test'
    out, cache = relu_forward(x);  dx = relu_backward(dout, cache)
    loss, dx = softmax_loss(x, y)

and the recurrent ones (cs231n assignment 3) take several inputs, integer
indices, and return several outputs::

    next_h, next_c, cache = lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)
    dx, dprev_h, dprev_c, dWx, dWh, db = lstm_step_backward(dnext_h, dnext_c, cache)
    out, cache = word_embedding_forward(x, W);  dW = word_embedding_backward(dout, cache)
    loss, dx = temporal_softmax_loss(x, y, mask)

:class:`FunctionalLayer` presents such a pair as a protocol layer, and
:class:`FunctionalLoss` a ``loss, dx = X_loss(x, y)`` function as a protocol
loss. Nothing is copied: ``params`` is the very dict passed in (the user's
arrays), and ``options`` is the user's own dict, passed to every call.
"""
from layers.base import Layer, Loss


class FunctionalLayer(Layer):
    """``out, cache = forward_fn(*inputs, *targets, *params.values()[, options])``;
    ``backward_fn(dout, cache)``.

    params: an ordered dict name -> array, in the order the forward takes them
    (``{"w": w, "b": b}``, ``{"gamma": g, "beta": b}``); ``{}`` for none.
    inputs: the names of the differentiable inputs the forward takes first
    (``("x", "prev_h", "prev_c")``); targets: the names of the inputs after them
    that are not differentiated (``word_embedding_forward``'s integer ``x``: then
    inputs is ``()``). backward_fn returns one gradient per input, then one per
    param, in that order (``dx`` alone for one input and no params; ``dW``
    alone for no input and one param).
    outputs: the names of the outputs; with several, the forward returns
    ``(*outs, cache)`` and ``backward(*douts)`` calls ``backward_fn(*douts, cache)``.
    constants: arguments the forward takes after the params that are not arrays (a group
    norm's ``G``), passed as they are.
    options: the trailing dict argument (conv_param, pool_param, bn_param,
    dropout_param) or None; its keys read as attributes (``layer.stride``), and
    when it has a ``mode_key`` entry the training flag sets it to "train" or "test".
    """

    def __init__(self, forward_fn, backward_fn, params=None, options=None, *, name=None,
                 mode_key="mode", inputs=("x",), targets=(), outputs=("out",), constants=()):
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
        self.constants = tuple(constants)   # arguments after the params that are no arrays (G)
        self.mode_key = mode_key
        self.input_names, self.target_names = tuple(inputs), tuple(targets)
        self.output_names = tuple(outputs) or ("out",)
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
        args = [*inputs, *self.params.values(), *self.constants]
        if self.options is not None:
            args.append(self.options)
        result = self.forward_fn(*args)
        n_out = len(self.output_names)
        if not isinstance(result, tuple) or len(result) != n_out + 1:
            outs = ", ".join(self.output_names) if n_out > 1 else "out"
            raise ValueError(f"{self.name}: {_fn_name(self.forward_fn)} must return ({outs}, cache), "
                             f"got {_describe(result)}")
        *outs, self._cache = result
        self._has_cache = True
        return tuple(outs) if n_out > 1 else outs[0]

    def backward(self, *douts):
        if not self._has_cache:
            raise RuntimeError(f"{self.name}: backward called before forward (no cache yet)")
        if len(douts) != len(self.output_names):
            raise TypeError(f"{self.name}: backward takes one upstream gradient per output "
                            f"{self.output_names}, got {len(douts)}")
        result = self.backward_fn(*douts, self._cache)
        result = tuple(result) if isinstance(result, list) else result
        names, n_in = list(self.params), len(self.input_names)
        wanted = [f"d{n}" for n in self.input_names] + [f"d{n}" for n in names]
        if len(wanted) == 1 and isinstance(result, tuple):
            got = result                  # (dx,) is dx; a longer tuple is the error below
        else:
            got = (result,) if len(wanted) == 1 else result
        if not isinstance(got, tuple) or len(got) != len(wanted):
            count = f"{len(got)} values" if isinstance(got, tuple) else _describe(result)
            raise ValueError(f"{self.name}: {_fn_name(self.backward_fn)} must return "
                             f"({', '.join(wanted)}), got {count} (one gradient per input, "
                             f"then per param, as read off the forward's arguments; if one of "
                             f"them is data it returns no gradient of, a hint says so)")
        self.grads = dict(zip(names, got[n_in:]))
        if n_in == 0:
            return None
        return got[0] if n_in == 1 else tuple(got[:n_in])

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
    """``loss, dx = fn(x, *targets)`` as a protocol loss: ``forward(x, *targets)`` -> loss,
    ``backward(dout)`` -> dout * dx. targets: the names of the arguments after x
    (``("y",)``, ``("y", "mask")``). inputs: the differentiated arguments' names, when there
    are several (``("query", "keys")``: ``loss, dq, dk = fn(query, keys, *targets)``);
    arg_names: theirs as ``fn`` names them, when ``inputs`` names them otherwise."""

    def __init__(self, fn, *, name=None, targets=("t",), inputs=("x",), arg_names=None):
        if not callable(fn):
            raise TypeError(f"FunctionalLoss: fn must be callable, got {type(fn).__name__}")
        super().__init__()
        self.fn = fn
        self.name = name or getattr(fn, "__name__", "loss")
        self.input_names = tuple(inputs)
        self.target_names = tuple(targets)
        self.arg_names = tuple(arg_names or inputs)    # as fn names them (a docstring's too)
        self._dx = None

    def forward(self, *arrays):
        n = len(self.input_names)
        if len(arrays) != n + len(self.target_names):
            raise TypeError(f"{self.name}: forward takes {', '.join(self.input_names)} and "
                            f"{len(self.target_names)} target(s) {self.target_names}, got "
                            f"{len(arrays)} arrays in all")
        result = self.fn(*arrays)
        if not isinstance(result, tuple) or len(result) != 1 + n:
            grads = ", ".join(f"d{x}" for x in self.input_names)
            raise ValueError(f"{self.name}: {_fn_name(self.fn)} must return (loss, {grads}), "
                             f"got {_describe(result)}")
        loss, *self._dx = result
        return loss

    def backward(self, dout=1.0):
        if self._dx is None:
            raise RuntimeError(f"{self.name}: backward called before forward")
        grads = tuple(dout * d for d in self._dx)
        return grads[0] if len(grads) == 1 else grads

    def __repr__(self):
        return f"FunctionalLoss({self.name})"


def _fn_name(fn):
    return getattr(fn, "__name__", repr(fn))


def _describe(value):
    if isinstance(value, tuple):
        return f"a tuple of {len(value)}"
    return type(value).__name__
