"""Check a layer that is handed an optimizer and steps its own weights with it in backward.

ML-From-Scratch's layers are built without weights, told their input's shape, then given an
optimizer to copy for each weight; their backward computes each weight's gradient and hands
it to that copy at once:

    def initialize(self, optimizer):
        self.W = np.random.uniform(-limit, limit, (self.input_shape[0], self.n_units))
        self.W_opt = copy.copy(optimizer)
    def backward_pass(self, accum_grad):
        W = self.W
        grad_w = self.layer_input.T.dot(accum_grad)
        self.W = self.W_opt.update(self.W, grad_w)
        return accum_grad.dot(W.T)

:class:`OptimizerFedLayer` hands it a :class:`GradientTaker` instead: an optimizer whose
``update(w, grad)`` keeps ``grad`` and steps by it, so checking the layer
never trains it (the step it takes is undone), and the gradient the layer computed is read
exactly, as it was handed over.
Each gradient is the param's whose very array was handed with it. The params are the float
arrays (attributes, or a dict's entries) that a first backward handed to the optimizer.
"""
import copy
import inspect

import numpy as np

from layers.views import PARAM_DICTS, _AttrView, _HeldView
from layers.base import Layer


class GradientTaker:
    """An optimizer for :class:`OptimizerFedLayer`: ``update(w, grad)`` records ``(w, grad)``
    and returns ``w - step * grad``, a new array (``w`` itself is left as it is). Its shallow
    copies (each weight's ``copy.copy(optimizer)``) share one record."""

    def __init__(self, record, step):
        self.record, self.step = record, step

    def update(self, w, grad):
        g = np.array(grad, dtype=np.result_type(grad), copy=True)
        self.record.append((w, g))
        return w - np.asarray(self.step * g, dtype=np.result_type(w))


def builds_on_initialize(obj):
    """``initialize(optimizer)`` makes the weights (ML-From-Scratch's layers)."""
    fn = getattr(obj, "initialize", None)
    if not callable(fn):
        return False
    try:
        names = [n for n in inspect.signature(fn).parameters if n != "self"]
    except (TypeError, ValueError):
        return False
    return len(names) == 1 and "opt" in names[0].lower()


class OptimizerFedLayer(Layer):
    """Protocol view of a layer given an optimizer by ``initialize(optimizer)`` and stepping its
    weights with it in ``backward`` (module docstring). ``probe_inputs``: inputs the layer
    takes, to tell it its input's shape (``set_input_shape``, without the batch axis, where
    it has one and none was given) and find its params: float array attributes, or the
    entries of a dict of them (``self.params = {"W": ...}``), that a backward hands over.

    The optimizer takes a real step, ``w - 0.5 * grad`` (a power of two: exact), which the
    layer keeps until its backward returns; then every param is put back. A backward that
    computes dx with the weights it has just stepped (not those of the forward) is wrong,
    and so shows."""

    STEP = 0.5

    def __init__(self, obj, *, forward="forward_pass", backward="backward_pass",
                 probe_inputs=None, input_names=("x",)):
        self.obj, self._forward_name, self._backward_name = obj, forward, backward
        self.label = f"OptimizerFedLayer({type(obj).__name__})"
        self.input_names, self.grads, self.training = tuple(input_names), {}, True
        self._record, self._names, self._dict, self._told = [], None, None, False
        if probe_inputs is not None:
            self._start(probe_inputs[0])

    @property
    def name(self):
        return type(self.obj).__name__

    @property
    def params(self):
        if self._names is None:
            raise RuntimeError(f"{self.label}: params not made yet: initialize(optimizer) runs "
                               f"on the first forward")
        if self._dict is not None:
            return _HeldView(self.obj, self._names, attr=self._dict)
        return _AttrView(self.obj, {n: n for n in self._names}, self.label)

    def _held(self):
        """{name: the array it holds now} of every param candidate."""
        if self._dict is not None:
            return dict(getattr(self.obj, self._dict))
        return {n: getattr(self.obj, n, None) for n in self._names}

    def _put(self, name, value):
        if self._dict is not None:
            getattr(self.obj, self._dict)[name] = value
        else:
            setattr(self.obj, name, value)

    def _start(self, x):
        obj = self.obj
        self._told = callable(getattr(obj, "set_input_shape", None)) and \
            getattr(obj, "input_shape", None) is None
        if self._told:          # told as its network tells it, and again for another size
            obj.set_input_shape(tuple(np.shape(x)[1:]))
        obj.initialize(GradientTaker(self._record, self.STEP))
        floats = lambda d: [k for k, v in d.items()      # noqa: E731
                            if isinstance(v, np.ndarray) and v.dtype.kind == "f"]
        self._dict = next((a for a in PARAM_DICTS if isinstance(getattr(obj, a, None), dict)
                           and floats(getattr(obj, a))), None)
        made = floats(getattr(obj, self._dict)) if self._dict else floats(vars(obj))
        trial = copy.deepcopy(self)          # which of them a backward hands to the optimizer
        trial._names = tuple(made)
        out = trial.forward(np.asarray(x))
        trial.backward(np.ones_like(np.asarray(out, dtype=np.float64)))
        self._names = tuple(n for n in made if n in trial.grads)

    def forward(self, x):
        if self._names is None:
            self._start(x)
        elif self._told and tuple(np.shape(x)[1:]) != tuple(self.obj.input_shape):
            self.obj.set_input_shape(tuple(np.shape(x)[1:]))
        return getattr(self.obj, self._forward_name)(x)

    def backward(self, dout):
        held = self._held()
        del self._record[:]
        try:
            dx = getattr(self.obj, self._backward_name)(dout)
        finally:
            for n in self._names:         # the step undone: the very arrays of before
                if n in held:
                    self._put(n, held[n])
        grads = {}
        for w, g in self._record:
            name = next((n for n in self._names if held.get(n) is w), None)
            if name is not None:
                grads[name] = grads[name] + g if name in grads else g
        self.grads = grads
        return dx

    def __repr__(self):
        return f"{self.label}, params {list(self._names or [])}"


def fed_adapter(cls, forward, backward_names):
    """The adapter (``discover``'s ``adapt(obj, probe_inputs)``) of a class whose weights
    ``initialize(optimizer)`` makes, with a backward among ``backward_names``; else None."""
    backward = next((m for m in backward_names if callable(getattr(cls, m, None))), None)
    if forward is None or backward is None or not builds_on_initialize(cls):
        return None

    try:        # the input as the forward names it (forward_pass(self, X, training=True))
        first = next(n for n in list(inspect.signature(getattr(cls, forward)).parameters)[1:])
    except (StopIteration, TypeError, ValueError):
        first = "x"

    def adapt(obj, probe_inputs):
        if probe_inputs is None:
            raise ValueError(f"{cls.__name__}: its weights are made by initialize(optimizer), "
                             f"told its input's shape: inputs are needed to make them")
        return OptimizerFedLayer(obj, forward=forward, backward=backward,
                                 probe_inputs=probe_inputs, input_names=(first,)), \
            "given an optimizer by initialize(optimizer): the gradients it hands it"
    adapt.roles, adapt.probes = ((first,), ()), True
    return adapt
