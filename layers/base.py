"""The layer protocol every hand-written layer in this project follows.

A layer keeps its learnable arrays in ``params`` and writes their gradients into
``grads`` (same keys, same shapes) during ``backward``. ``forward`` caches what
``backward`` needs; ``backward`` never mutates ``dout``, the cached inputs or
the params. Hyperparameters are public attributes so a TF twin can read them.
"""
import numpy as np


class Layer:
    """Base class: ``forward(*inputs) -> out``, ``backward(dout) -> dx``.

    A layer with several inputs (``Add``, ``Mul``) sets ``input_names`` to one
    name per input; its ``backward`` returns a tuple, one gradient per input.

    Inputs that are not differentiated (an embedding's integer indices, a
    loss's labels, a mask) are named in ``target_names`` and passed to forward
    after the differentiable ones; backward returns no gradient for them (and
    None when ``input_names`` is empty).

    A layer with several outputs (an LSTM step's ``(h, c)``) names them in
    ``output_names``, returns a tuple from forward and takes one upstream
    gradient per output: ``backward(dh, dc)``.
    """

    input_names = ("x",)
    target_names = ()
    output_names = ("out",)

    def __init__(self):
        self.params = {}
        self.grads = {}
        self.training = True

    def forward(self, *inputs):
        raise NotImplementedError

    def backward(self, dout):
        raise NotImplementedError

    def __repr__(self):
        hyper = {k: v for k, v in vars(self).items()
                 if not k.startswith("_") and isinstance(v, (int, float, str, tuple, bool))
                 and k != "training"}
        args = ", ".join(f"{k}={v!r}" for k, v in hyper.items())
        return f"{type(self).__name__}({args})"


class Loss(Layer):
    """A loss: ``forward(x, t) -> scalar`` (mean over the batch), ``backward(dout=1.0) -> dx``.

    ``dout`` is the upstream gradient of the scalar loss and is honoured:
    ``backward(2.0)`` returns twice ``backward(1.0)``.
    """

    is_loss = True
    target_names = ("t",)


def check_input(layer, name, x, ndim_min=1):
    """Raise a ValueError naming the layer and the tensor if ``x`` is not a float array."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{type(layer).__name__}.forward: {name} must be a NumPy array, "
                        f"got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"{type(layer).__name__}.forward: {name} must be a float array "
                        f"(float32 or float64), got dtype {x.dtype}")
    if x.ndim < ndim_min:
        raise ValueError(f"{type(layer).__name__}.forward: {name} must have at least "
                         f"{ndim_min} dimension(s), got shape {x.shape}")


def check_positive_int(layer_name, arg, value):
    """Raise a ValueError naming the argument if ``value`` is not a positive integer."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{layer_name}: {arg} must be a positive integer, got {value!r}")
