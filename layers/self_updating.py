"""Check a layer that updates its own parameters inside backward, without training it.

Some tutorials never store a gradient: the backward pass applies it at once,

    def backprop(self, d_L_d_out, learn_rate):          # seed 003 (one image, no batch axis)
        ...
        self.filters -= learn_rate * d_L_d_filters
        return d_L_d_input

    def update(self, grad):                             # seed 001 (``lr`` a module global)
        self.weight -= lr * self.x_temp.T @ delta
        return delta @ self.weight.T

:class:`SelfUpdatingLayer` recovers the gradient from the update, exactly:
the learning rate is set to ``PROBE_LR`` = 0.5 for the call (passed as the argument,
or the instance attribute or module global named like ``lr`` set and restored), and
each parameter is swapped for a copy that records the operand of
``W -= delta``, ``W = W - delta`` or ``W += -delta``. When no such operation on
the whole array was seen (an update slice by slice), the gradient is
``W_before - W_after``, and ``recovery[name]`` says "difference" instead of
"recorded". Afterwards the user's own arrays are put back, unchanged: checking
a layer never trains it. ``params`` are the user's arrays themselves.
"""
import ast
import inspect
import textwrap

import numpy as np

from layers.views import _AttrView
from layers.base import Layer

LR_NAMES = ("lr", "learn_rate", "learning_rate", "eta", "step_size", "stepsize", "lrate", "l_rate")
# The learning rate of the recorded call, the update then divided by it: a power of two, so the
# division is exact (scaling by 2**-1 commutes with rounding), and not 1, so a backward returning
# dx scaled by the learning rate (``return lr * dx``) shows, where at 1 it was right.
PROBE_LR = 0.5
_UNSET = object()


class _UpdateRecorder(np.ndarray):
    """An array that logs every ``self - delta`` / ``self + (-delta)`` made from it."""

    def __array_finalize__(self, obj):
        self._log = getattr(obj, "_log", None)
        self._root = False

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        plain = [a.view(np.ndarray) if isinstance(a, _UpdateRecorder) else a for a in inputs]
        if out is not None:
            kwargs["out"] = tuple(o.view(np.ndarray) if isinstance(o, _UpdateRecorder) else o
                                  for o in out)
        result = getattr(ufunc, method)(*plain, **kwargs)
        if method == "__call__" and ufunc in (np.subtract, np.add) and len(inputs) == 2:
            for mine, other in ((0, 1), (1, 0)):
                if inputs[mine] is self and not (ufunc is np.subtract and mine == 1):
                    operand = np.asarray(plain[other])
                    delta = operand if ufunc is np.subtract else -operand
                    in_place = out is not None and out[0] is self
                    self._log.append((self._root, in_place, None if in_place else result,
                                      np.array(delta, copy=True)))
                    break
        if out is not None:
            return out[0] if len(out) == 1 else out
        return result


def _recorder(array):
    rec = np.array(array, copy=True).view(_UpdateRecorder)
    rec._log, rec._root = [], True
    return rec


def _recovered_delta(rec, final, before):
    """(delta, how): the update applied to ``rec`` that left the attribute at ``final``."""
    log = rec._log
    if final is rec:
        ops = [entry for entry in log if entry[1]]
        if ops and all(entry[0] for entry in ops):
            delta = ops[0][3]
            for entry in ops[1:]:
                delta = delta + entry[3]
            return delta, "recorded"
    else:
        for root, _, result, delta in log:
            if root and result is final:
                return delta, "recorded"
    final = np.asarray(final).view(np.ndarray)
    if final.shape != before.shape:
        return None, f"the update left it with shape {final.shape} instead of {before.shape}"
    return before - final, "difference"


def lr_route(obj, method, lr_name=None):
    """How ``method`` of ``obj`` gets its learning rate: (kind, name) with kind in
    "kwarg", "arg", "attr", "global"; None when nothing is found."""
    names = (lr_name,) if lr_name else LR_NAMES
    fn = getattr(obj, method)
    extra = list(inspect.signature(fn).parameters.values())[1:]
    for p in extra:
        if p.name in names:
            return "kwarg", p.name
    required = [p for p in extra if p.default is p.empty
                and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(required) == 1 and not lr_name:
        return "arg", required[0].name
    for n in names:
        if _is_number(getattr(obj, n, None)):
            return "attr", n
    module_globals, read = _globals(fn), numbers_read(obj, method)
    spellings = [s for n in names for s in (n, n.upper())]       # a module constant: STEP_SIZE
    for spelled in spellings:
        if ("global", spelled) in read:
            return "global", spelled
    if len(read) == 1 and not lr_name:   # the one number the method reads (self.alpha)
        return read[0]
    for spelled in spellings:            # a global it reads through a helper function
        if _is_number(module_globals.get(spelled)):
            return "global", spelled
    return None


def numbers_read(obj, method):
    """[(kind, name)]: the numbers ``method`` reads, attributes of ``obj`` ("attr") and module
    globals ("global"), in the order its code names them."""
    fn = getattr(obj, method)
    code = getattr(getattr(fn, "__func__", fn), "__code__", None)
    module_globals, found = _globals(fn), []
    for n in (code.co_names if code is not None else ()):
        if _is_number(getattr(obj, n, None)):
            found.append(("attr", n))
        elif _is_number(module_globals.get(n)):
            found.append(("global", n))
    return list(dict.fromkeys(found))


def _globals(fn):
    """The module namespace a method looks its globals up in (the module that defined it)."""
    return getattr(getattr(fn, "__func__", fn), "__globals__", {})


def _is_number(value):
    return isinstance(value, (int, float, np.floating)) and not isinstance(value, (bool, np.bool_))


class SelfUpdatingLayer(Layer):
    """Protocol view of a layer whose ``method(dout[, lr])`` applies its own update and returns dx.

    obj: the user's layer. method: the name of the updating backward
    ("backprop", "update", ...). params: names of the parameter attributes
    (default: every float array attribute the object has now). lr_name: the
    learning rate's name when it is not one of ``LR_NAMES``. forward: the name
    of the forward method (default "forward", else "__call__") or a callable
    ``(obj, x) -> out``; forward_args: extra arguments after x (seed 001's
    ``layer(x, parent)``: ``forward_args=(net,)``). Both are applied to the
    adapter's own ``obj``, so a deep copy of the adapter runs its own copy.
    per_sample: the layer takes one sample with no batch axis (seed 003): the
    adapter takes a batch, runs the layer on each sample and sums the gradients;
    "row": one sample as a row of a batch of 1 (``x[i:i + 1]``: a tutorial whose
    ``bias -= lr * output_error`` cannot take a batch), the same way.

    ``params`` is a live view of the user's attributes (reading gives the very
    arrays, assigning rebinds the attribute); ``grads`` holds the gradients
    recovered by the last ``backward``; ``recovery`` says how, per parameter.
    """

    def __init__(self, obj, method="backprop", *, params=None, lr_name=None, forward=None,
                 forward_args=(), per_sample=False, input_names=("x",)):
        self.obj, self.method = obj, method
        self.label = f"SelfUpdatingLayer({type(obj).__name__}.{method})"
        if not callable(getattr(obj, method, None)):
            raise TypeError(f"{self.label}: the object has no method {method!r}")
        if forward is None:
            forward = "forward" if callable(getattr(obj, "forward", None)) else "__call__"
        if isinstance(forward, str) and not callable(getattr(obj, forward, None)):
            raise TypeError(f"{self.label}: no forward: the object has no method {forward!r}; "
                            f"pass forward=<method name> or forward=lambda obj, x: ...")
        if not isinstance(forward, str) and not callable(forward):
            raise TypeError(f"{self.label}: forward must be a method name or a callable (obj, x)")
        self._forward_how, self.forward_args = forward, tuple(forward_args)
        self.route = lr_route(obj, method, lr_name)
        if self.route is None:
            where = getattr(getattr(obj, method), "__module__", "?")
            raise ValueError(f"{self.label}: cannot find the learning rate: {method}() takes no "
                             f"learning-rate argument, and neither the layer nor module {where} has "
                             f"a number named {lr_name or LR_NAMES} (nor does it read exactly "
                             f"one number); pass lr_name=")
        if params is None:       # a learned number (``self.coef -= lr * dcoef``): a 0-d array
            for n in stepped_numbers(obj, method):
                setattr(obj, n, np.asarray(getattr(obj, n), dtype=np.float64))
        names = tuple(params) if params is not None else tuple(
            k for k, v in vars(obj).items() if isinstance(v, np.ndarray) and v.dtype.kind == "f")
        # no float array attributes: a layer without parameters (an activation) taking the
        # learning rate only to share its network's interface; only dx is checked
        for n in names:
            if not isinstance(getattr(obj, n, None), np.ndarray):
                raise ValueError(f"{self.label}: parameter attribute {n!r} is not a NumPy array")
        self._names = names
        self.params = _AttrView(obj, {n: n for n in names}, self.label)
        self.per_sample = per_sample if per_sample == "row" else bool(per_sample)
        self.input_names = tuple(input_names)
        self.grads, self.recovery = {}, {}
        self.training = True
        self._x = None

    @property
    def name(self):
        return type(self.obj).__name__

    def _forward(self, x):
        how = self._forward_how
        if isinstance(how, str):
            return getattr(self.obj, how)(x, *self.forward_args)
        return how(self.obj, x, *self.forward_args)

    def _samples(self, a):
        return [a[i:i + 1] for i in range(len(a))] if self.per_sample == "row" else list(a)

    def _joined(self, parts):
        return np.concatenate(parts) if self.per_sample == "row" else np.stack(parts)

    def forward(self, x):
        self._x = x
        if not self.per_sample:
            return self._forward(x)
        return self._joined([np.asarray(self._forward(xi)) for xi in self._samples(x)])

    def backward(self, dout):
        if self._x is None:
            raise RuntimeError(f"{self.label}: backward called before forward")
        if not self.per_sample:
            grads, dx = self._update_once(dout)
        else:
            grads, dxs = {}, []
            for xi, di in zip(self._samples(self._x), self._samples(dout)):
                self._forward(xi)
                g, dxi = self._update_once(di)
                grads = {n: grads[n] + g[n] for n in g} if grads else g
                dxs.append(dxi)
            dx = None if all(d is None for d in dxs) else self._joined([np.asarray(d) for d in dxs])
        self.grads = grads
        return dx

    def _update_once(self, dout):
        """Call the updating method once with lr ``PROBE_LR`` on recording copies; restore;
        return (grads, dx): each update divided by that learning rate."""
        originals = {n: getattr(self.obj, n) for n in self._names}
        recorders = {n: _recorder(a) for n, a in originals.items()}
        kind, lr = self.route
        args, kwargs, saved, scope = (dout,), {}, _UNSET, None
        if kind == "kwarg":
            kwargs[lr] = PROBE_LR
        elif kind == "arg":
            args = (dout, PROBE_LR)
        try:
            if kind == "attr":
                saved = getattr(self.obj, lr)
                setattr(self.obj, lr, PROBE_LR)
            elif kind == "global":
                scope = _globals(getattr(self.obj, self.method))
                saved = scope[lr]
                scope[lr] = PROBE_LR
            for n, rec in recorders.items():
                setattr(self.obj, n, rec)
            dx = getattr(self.obj, self.method)(*args, **kwargs)
            finals = {n: getattr(self.obj, n) for n in self._names}
        finally:
            for n, a in originals.items():
                setattr(self.obj, n, a)
            if saved is not _UNSET and kind == "attr":
                setattr(self.obj, lr, saved)
            elif saved is not _UNSET and kind == "global":
                scope[lr] = saved
        grads = {}
        for n in self._names:
            delta, how = _recovered_delta(recorders[n], finals[n], originals[n])
            if delta is None:
                raise ValueError(f"{self.label}: cannot recover the gradient of {n!r}: {how}")
            dtype = originals[n].dtype
            grads[n] = np.array(np.broadcast_to(np.asarray(delta, dtype=dtype),
                                                originals[n].shape)) / dtype.type(PROBE_LR)
            self.recovery[n] = how
        if isinstance(dx, np.ndarray):
            dx = np.array(dx.view(np.ndarray), copy=True)
        return grads, dx

    def __repr__(self):
        return f"{self.label}(params={list(self._names)}, lr via {self.route[0]} {self.route[1]!r})"


def stepped_numbers(obj, method):
    """Names of the float attributes (not arrays) ``method`` steps as a param: ``self.coef -=
    lr * dcoef`` or ``self.coef = self.coef - ...`` (a number it merely stores, a loss kept for
    a log, is not one)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(getattr(type(obj), method))))
    except (OSError, TypeError, SyntaxError):
        return []

    def own(node):
        return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and \
            node.value.id == "self" and isinstance(vars(obj).get(node.attr), (float, np.floating))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.AugAssign) and isinstance(node.op, (ast.Sub, ast.Add)) and \
                own(node.target):
            found.append(node.target.attr)
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and own(node.targets[0]) \
                and isinstance(node.value, ast.BinOp) and isinstance(node.value.op, (ast.Sub, ast.Add)) \
                and own(node.value.left) and node.value.left.attr == node.targets[0].attr:
            found.append(node.targets[0].attr)
    return list(dict.fromkeys(found))


def takes_lr(cls, method):
    """Does ``method`` take a learning rate after the upstream gradient (``backward(d, lr)``)?"""
    try:
        params = list(inspect.signature(getattr(cls, method)).parameters)
    except (TypeError, ValueError):
        return False
    return any(p.lower() in LR_NAMES for p in params[2:])


def reads_lr(cls, method):
    """Does ``method`` read a learning rate (``self.lr``, a module global ``learning_rate`` or
    ``STEP_SIZE``...)?"""
    code = getattr(getattr(cls, method, None), "__code__", None)
    names = set(LR_NAMES) | {n.upper() for n in LR_NAMES}
    return code is not None and bool(names & set(code.co_names))
