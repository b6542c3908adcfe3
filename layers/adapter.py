"""Check a layer written in the seeds' style without rewriting it.

Seed layers keep ``self.W`` and write ``self.dW`` in ``backward``; they have no
``params`` dict. :class:`AttributeLayer` wraps such an object and presents the
protocol: ``params`` and ``grads`` are live views onto its attributes, so an
update through ``params`` reaches the wrapped layer and nothing is copied.
"""
import inspect

import numpy as np

from layers.attribute_probe import (BackwardRaised, float_array_attributes, grad_attribute,
                                   grad_names_for, probe_dout, probe_grad_attributes,
                                   takes_upstream, training_switch)
from layers.base import Layer
from layers.nested import has_nested_arrays, nested_pairs, probe_nested_pairs, resolve
from layers.stored_results import INPUT_GRAD_ATTRS, OUTPUT_ATTRS, call_keeping
from layers.views import (_AttrView, _HeldView, _ListView, _PathView, held_params, lazy_dicts,
                          list_pair_views, list_pairs, list_params)


def _scalars_as_arrays(obj, backward, grad_prefix=None):
    """A learnable scalar kept as a Python float (``self.a = 0.25``, its gradient ``self.da``
    there already or written by backward) becomes a 0-d float array, so it is a param like
    any other; the layer computes with it as before."""
    fn = getattr(type(obj), backward, None)
    code = getattr(fn, "__code__", None)
    written = set(code.co_names) if code is not None else set()
    for name, value in list(vars(obj).items()):
        if isinstance(value, (float, np.floating)) and not isinstance(value, bool) and any(
                g in written or g in vars(obj) for g in grad_names_for(name, grad_prefix)):
            setattr(obj, name, np.asarray(value, dtype=np.float64))


def find_grad_attributes(obj, grad_prefix=None):
    """{X: its gradient attribute} for the ndarray attributes ``X`` that have one beside them
    already (``dX``, ``grad_X``, ``X_grad``...: ``attribute_probe.grad_names_for``; maybe None)."""
    present = set(vars(obj))
    found = {name: grad_attribute(name, present, grad_prefix)
             for name, value in vars(obj).items() if isinstance(value, np.ndarray)}
    return {name: g for name, g in sorted(found.items()) if g is not None}


def find_param_names(obj, grad_prefix=None):
    """Names ``X`` of ndarray attributes that have a gradient attribute beside them."""
    return tuple(find_grad_attributes(obj, grad_prefix))


class UpdatesItself(ValueError):
    """The probe found a backward that changed the layer's own parameters and wrote no
    gradient: it is a self-updating layer (``layers.self_updating.SelfUpdatingLayer``)."""


class AttributeLayer(Layer):
    """Protocol view of a seed-style layer: ``self.W`` / ``self.dW`` become params / grads.

    ``names`` lists the parameter attributes. Without it, the parameters are
    the float array attributes ``X`` that have a gradient attribute beside them
    (``W``/``dW``, ``b``/``db``, ``weight``/``grad_weight``, ``bias``/``bias_grad``: the
    namings of ``attribute_probe.GRAD_NAMINGS``; ``grad_prefix`` names the one to use),
    when the layer declares any such attribute before backward runs. Otherwise (a layer that first creates ``self.dW`` inside
    backward) they are found by probing a deep copy of the layer
    (:mod:`layers.attribute_probe`): with ``probe_inputs`` at once, else on
    the first ``forward``; until then, reading ``params`` raises. A layer whose
    backward writes gradient attributes that match no parameter is an error,
    never a layer with zero parameters.

    The training flag drives whichever the layer has: a forward keyword
    ``train_flg`` / ``training`` / ``train``, or an attribute of that name.

    input_names: the forward's differentiable inputs, which it takes first
    (``("x", "h_prev", "c_prev")``); target_names: the inputs after them that
    are not differentiated (an embedding's ``("idx",)``, with input_names
    ``()``: its backward's return value is then ignored and None returned).
    output_names: one name per output when forward returns a tuple
    (``("h", "c")``); backward then takes one upstream gradient per output.
    """

    def __init__(self, layer, names=None, grad_prefix=None, input_names=("x",), probe_inputs=None,
                 backward="backward", target_names=(), output_names=("out",), forward="forward",
                 forward_args=()):
        self.layer = layer
        self._forward_args = forward_args
        self._forward_name, self._backward_name = forward, backward
        self.input_names = tuple(input_names)
        self.target_names = tuple(target_names)
        self.output_names = tuple(output_names) or ("out",)
        self._prefix = grad_prefix
        self._label = label = f"AttributeLayer({type(layer).__name__})"
        if not callable(getattr(layer, forward, None)) or not callable(getattr(layer, backward, None)):
            raise TypeError(f"{label}: the wrapped object needs {forward}() and {backward}() methods")
        self._switch = training_switch(layer, forward)
        self.takes_dout = takes_upstream(getattr(layer, backward))   # a loss's backward(self): no
        self._training = True
        self._views, self._told_shape = None, False
        _scalars_as_arrays(layer, backward, grad_prefix)
        listed = list_params(layer) if names is None else None
        held = held_params(layer) if names is None and not listed else None
        code = getattr(getattr(type(layer), backward, None), "__code__", None)
        lists = list_pairs(layer, set(code.co_names) if code else set(), grad_names_for) \
            if names is None and not listed and not held else {}
        if listed:
            self._views = (_ListView(layer, "params", listed), _ListView(layer, "grads", listed))
        elif held:
            self._views = held
        elif lists and not find_grad_attributes(layer, grad_prefix):   # self.Ws = [W1, W2]
            self._views = list_pair_views(layer, lists)
        elif names is not None:
            self._set_names(names)
        elif probe_inputs is not None:
            self._probe(tuple(probe_inputs))
        else:
            found = find_grad_attributes(layer, grad_prefix)
            nested = None if found or float_array_attributes(layer) else \
                nested_pairs(layer, grad_prefix)
            if nested:          # a block: its sublayers' weights and the gradients beside them
                self._set_paths(nested)
            elif found or not (float_array_attributes(layer) or has_nested_arrays(layer)
                               or lazy_dicts(layer)):
                self._set_names(found)

    def _set_names(self, names):
        """``names``: the parameter attributes, or {param: its gradient attribute}."""
        if not isinstance(names, dict):   # the gradient attribute there already, else dX
            present = set(vars(self.layer))
            names = {n: grad_attribute(n, present, self._prefix)
                     or grad_names_for(n, self._prefix)[0] for n in names}
        for name in names:
            if not isinstance(getattr(self.layer, name, None), np.ndarray):
                raise ValueError(f"{self._label}: parameter attribute {name!r} is not a NumPy array")
        self._views = (_AttrView(self.layer, {n: n for n in names}, self._label),
                       _AttrView(self.layer, names, self._label, grads=True))

    def _extra_args(self):
        """The forward's arguments given after its inputs and targets (a hint's ``args``)."""
        given = self._forward_args
        return tuple(given() if callable(given) else given)

    def _probe(self, inputs):
        inputs = (*inputs, *self._extra_args())
        if lazy_dicts(self.layer) and self._lazy_held(inputs):
            return
        try:
            report = probe_grad_attributes(self.layer, inputs, grad_prefix=self._prefix,
                                           forward_kwargs=self._forward_kwargs(),
                                           forward=self._forward_name, backward=self._backward_name)
        except BackwardRaised:
            if float_array_attributes(self.layer) or not has_nested_arrays(self.layer):
                raise
            self._set_names({})    # a block whose backward raises: its checks report that
            return
        if not report.params and report.dicts:     # self.grads = {...} made in backward
            p_attr, g_attr, names = report.dicts
            setattr(self.layer, g_attr, {})      # (read before a backward: no gradient yet)
            self._views = (_HeldView(self.layer, names, attr=p_attr),
                           _HeldView(self.layer, names, attr=g_attr))
            return
        if not report.params and report.written:
            raise ValueError(
                f"{self._label}: backward wrote {sorted(report.written)} but none of them is "
                f"the gradient of a float array attribute (dX, grad_X, X_grad... of one of "
                f"{list(report.candidates)}): its parameters cannot be found; "
                f"pass names=[...] (and grad_prefix=...)")
        if not report.params and report.updated:
            raise UpdatesItself(
                f"{self._label}: backward changed {list(report.updated)} itself and wrote no "
                f"gradient attribute: a layer that updates its own parameters needs "
                f"layers.self_updating.SelfUpdatingLayer, not AttributeLayer")
        if any(getattr(self.layer, x, None) is None for x in report.grad_attrs):
            # params a first forward builds (Keras's build()): built here, on this layer
            getattr(self.layer, self._forward_name)(*inputs, **self._forward_kwargs())
        nested = None
        if not report.params and not report.candidates and has_nested_arrays(self.layer):
            nested = nested_pairs(self.layer, self._prefix) or self._probe_nested(inputs)
        if nested:
            self._set_paths(nested)
        else:
            self._set_names(report.grad_attrs)

    def _lazy_held(self, inputs):
        """Params in a dict its first forward fills (numpy-ml's ``self.parameters = {"W": None}``
        until ``_init_params()``), beside a gradients dict: built by a forward on this layer
        and held as dicts (True), or not such a layer (False)."""
        try:
            getattr(self.layer, self._forward_name)(*inputs, **self._forward_kwargs())
        except Exception:
            return False
        held = held_params(self.layer)
        if held is not None:
            self._views = held
        return held is not None

    def _probe_nested(self, inputs):
        method = getattr(self.layer, self._backward_name)
        try:
            return probe_nested_pairs(
                self.layer, inputs, lambda out: (probe_dout(out) if isinstance(out, tuple) else
                                                 (probe_dout(out),)) if takes_upstream(method) else (),
                forward=self._forward_name, backward=self._backward_name,
                forward_kwargs=self._forward_kwargs(), grad_prefix=self._prefix)
        except Exception:    # the top-level probe ran the same: what raised here is the sublayers'
            return None

    def _set_paths(self, pairs):
        """``pairs``: {"fc1.W": (param steps, grad steps)} (``layers.nested``)."""
        self._views = (_PathView(self.layer, {n: p for n, (p, _) in pairs.items()}, self._label),
                       _PathView(self.layer, {n: g for n, (_, g) in pairs.items()}, self._label,
                                 grads=True))

    def _need_views(self):
        if self._views is None:
            unclaimed = list(float_array_attributes(self.layer))
            raise RuntimeError(
                f"{self._label}: parameters not known yet: {unclaimed} have no gradient "
                f"attribute ({[grad_names_for(x, self._prefix)[0] for x in unclaimed]}...) "
                f"before backward runs; call forward once, or pass probe_inputs=(x,) or "
                f"names=[...]")
        return self._views

    @property
    def params(self):
        return self._need_views()[0]

    @property
    def grads(self):
        return self._need_views()[1]

    @property
    def name(self):
        return type(self.layer).__name__

    @property
    def training(self):
        kind, flag = self._switch
        return bool(getattr(self.layer, flag)) if kind == "attr" else self._training

    @training.setter
    def training(self, value):
        self._training = bool(value)
        kind, flag = self._switch
        if kind == "attr":
            setattr(self.layer, flag, bool(value))

    def _forward_kwargs(self):
        kind, flag = self._switch
        return {flag: self._training} if kind == "kwarg" else {}

    def forward(self, *inputs):
        told = self._told_shape or inputs and getattr(self.layer, "input_shape", 0) is None \
            and callable(getattr(self.layer, "set_input_shape", None))
        if told and tuple(np.shape(inputs[0])[1:]) != getattr(self.layer, "input_shape", None):
            self._told_shape = True       # ML-From-Scratch's: as its network tells it
            self.layer.set_input_shape(tuple(np.shape(inputs[0])[1:]))
        if self._views is None:
            self._probe(inputs)
        # numpy-ml's layers keep every input their forward sees, and add every backward's
        # gradients, until ``flush_gradients()`` (its update() calls it after each step): a
        # fresh pass starts there, as its next training step does.
        flush = getattr(self.layer, "flush_gradients", None)
        if callable(flush):
            flush()
        return call_keeping(self.layer, self._forward_name, OUTPUT_ATTRS, *self._in_order(inputs),
                            *self._extra_args(), **self._forward_kwargs())

    def _in_order(self, given):
        """``given`` (the inputs, then the targets) in the order the forward takes them, where
        the differentiated ones are not its first (``forward(x_hat, x, mu, logvar)`` with x
        data): by name."""
        names = (*self.input_names, *self.target_names)
        if self.__dict__.get("_order_for") != names:     # (read once: forward runs per FD step)
            try:
                order = [p.name for p in inspect.signature(
                    getattr(self.layer, self._forward_name)).parameters.values()][:len(names)]
            except (TypeError, ValueError, AttributeError):
                order = list(names)
            self._order_for, self._order = names, (
                None if sorted(order) != sorted(names) or list(names) == order else order)
        if self._order is None or len(given) != len(names):
            return given
        by_name = dict(zip(names, given))
        return tuple(by_name[n] for n in self._order)

    def backward(self, *args):
        # A layer that accumulates its gradients (PyTorch's ``grad += ...``) and clears them in
        # ``zero_grad()``: cleared first, as its training loop does before each backward.
        zero_grad = getattr(self.layer, "zero_grad", None)
        if callable(zero_grad):
            zero_grad()
        elif callable(getattr(self.layer, "flush_gradients", None)) and self._views is not None:
            for name in self._views[1]:     # (flushing would drop the forward's inputs too)
                held = self._views[1].get(name)
                if isinstance(held, np.ndarray) and held.dtype.kind == "f":
                    held[...] = 0.0
        elif self._views is not None and getattr(self._views[1], "_field", None) == "grad":
            for name in self._views[1]:        # hand-written Parameters: their .grad cleared,
                held = getattr(self.layer, name)   # as an optimizer's zero_grad() clears it
                if isinstance(held.grad, np.ndarray):
                    held.grad = np.zeros_like(held.grad)
        elif self._views is not None and isinstance(self._views[1], _PathView):
            for steps in self._views[1]._paths.values():     # a sublayer's Parameters too
                if steps[-1] == ("attr", "grad"):
                    held = resolve(self.layer, steps[:-1])
                    if isinstance(held.grad, np.ndarray):
                        held.grad = np.zeros_like(held.grad)
        dx = call_keeping(self.layer, self._backward_name, INPUT_GRAD_ATTRS,
                          *(args if self.takes_dout else ()))
        return dx if self.input_names else None    # no differentiable input: nothing to return

    def __getattr__(self, attr):
        # Hyperparameters (stride, pad, alpha, ...) are read off the wrapped layer.
        if attr == "layer" or attr.startswith("_"):
            raise AttributeError(attr)
        return getattr(self.layer, attr)

    def __repr__(self):
        names = "unknown until the first forward" if self._views is None else list(self._views[0])
        return f"AttributeLayer({type(self.layer).__name__}, params={names})"
