"""Find what to check in a user's module, in the styles people write, and set each one up.

Six styles (DESIGN.md, "Users' code as they wrote it"):

1. classes on the project's protocol (``params`` / ``grads`` dicts);
2. classes keeping ``self.W`` and writing ``self.dW`` (``layers.AttributeLayer``);
3. functional pairs ``X_forward`` / ``X_backward`` and losses ``X_loss -> (loss, dx)``
   (``layers.FunctionalLayer`` / ``FunctionalLoss``);
4. layers updating their own parameters in ``backprop(d, lr)`` / ``update(grad)``
   (``layers.SelfUpdatingLayer``);
5. whole networks with ``loss(x, t)`` and ``gradient(x, t)``;
6. optimizers with ``update(params, grads)`` on dicts.

A layer becomes a registry :class:`~properties.registry.Entry` (the whole
battery then runs on it); a network or optimizer becomes one check of its own.
Something that looks like a layer but cannot be driven is ``Skipped``
with the reason and, where a hint would do, the exact line to add. Functional
pairs are in ``discover_functions``; what an entry is built from, in ``user_entry``.

A class's forward may take several inputs (``x, h_prev, c_prev``), integer
indices (``idx``) or labels and a mask after them, and return several outputs
that its backward takes one gradient each for (``backward(dh, dc)``): the
argument names say which (``properties.user_targets.method_roles``), and a
layer whose parameters only show up in backward is probed with inputs of the
right kinds (a state per state argument, indices into its 2-D weight).
"""
import contextlib
import copy
import inspect
import traceback
from dataclasses import dataclass, field, replace

import numpy as np

from layers.adapter import AttributeLayer, UpdatesItself, find_param_names, lazy_dicts
from layers.views import grads_dict_made
from layers.optimizer_fed import fed_adapter
from layers.attribute_probe import float_array_attributes, takes_upstream, written_scalars
from layers.nested import arrays_within, has_nested_arrays
from layers.penalized import PenalizedLayer, strengths
from layers.self_updating import SelfUpdatingLayer, reads_lr, takes_lr
from properties.discover_functions import function_item
from properties.user_build import (CannotBuild, call_expression, constructor_args,
                                   empty_container, shown_kwargs)
from properties.user_probe_inputs import probe_inputs
from properties.user_entry import (CannotCheck, NothingToCheck, Skipped, also_label,
                                   also_specs, bases_not_counted, hinted_spec, layer_entry)
from properties.user_derivatives import method_pair_item
from properties.user_hinted import example
from properties.user_predictions import predictions_adapter
from properties.user_shapes import BACKWARD_RAISED, PROBES, infer_input_shapes
from properties.user_targets import method_roles
from properties.user_variants import hyper_variants, suffix, with_keywords


@dataclass
class Discovery:
    found: list = field(default_factory=list)
    skipped: list = field(default_factory=list)


def discover(module, path, hints, prefix):
    """What to check in ``module`` (imported from ``path``), with the file's ``hints``."""
    out = Discovery()
    names = {k: v for k, v in vars(module).items() if _defined_here(v, module)}
    used = set()
    for name, obj in names.items():
        label = f"{prefix}{name}"
        hint = hints.get(name)
        if hint is not None and hint.skip:
            out.skipped.append(Skipped(label, path, f"skipped by the hint on line {hint.line}",
                                       unchecked=False))
            continue
        try:
            if inspect.isclass(obj):
                item = _class(obj, label, path, module, hint)
            elif inspect.isfunction(obj) and name not in used:
                item = function_item(name, obj, names, label, path, used, hints)
            else:
                item = None
        except CannotCheck as exc:
            out.skipped.append(Skipped(label, path, str(exc),
                                       unchecked=not isinstance(exc, NothingToCheck)))
            continue
        except Exception as exc:      # the harness's own failure: this layer is not checked, the
            where = traceback.extract_tb(exc.__traceback__)[-1]      # rest of the file is
            out.skipped.append(Skipped(label, path, (
                f"the harness could not set it up ({type(exc).__name__}: {exc}, at "
                f"{where.filename}:{where.lineno}): not the layer's fault; please report it")))
            continue
        if item is not None:
            out.found.append(item)
            out.found.extend(item.also)
        for overrides in item.variants if item is not None else ():
            also = label + suffix(overrides)
            try:
                out.found.append(_class(obj, also, path, module, hint, overrides))
            except CannotCheck as exc:
                out.skipped.append(Skipped(also, path, f"not checked at {suffix(overrides)[1:-1]} "
                                                       f"(checked as built): {exc}", unchecked=False))
    return bases_not_counted(out, names, prefix)



def _defined_here(obj, module):
    return (inspect.isclass(obj) or inspect.isfunction(obj)) and \
        getattr(obj, "__module__", None) == module.__name__


def _has(obj, name, min_args=0):
    fn = getattr(obj, name, None)
    if not callable(fn):
        return False
    try:
        signature = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True
    if any(p.kind == p.VAR_POSITIONAL for p in signature):    # backward(self, *douts)
        return True
    params = [p for p in signature if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(params) - (1 if inspect.isclass(obj) else 0) >= min_args


# -- classes ---------------------------------------------------------------------------------

# What people call the two passes: a forward (or ``__call__``) with a backward beside it; a
# backward taking (or reading) a learning rate updates the layer itself. The names below the
# first are checked in this order when a class has no ``backward``.
FORWARD_NAMES = ("forward", "forward_pass", "fprop", "fwd", "forward_propagation", "forward_prop")
BACKWARD_NAMES = ("backward", "backward_pass", "bprop", "bwd", "backward_propagation",
                  "backward_prop", "grad")
UPDATING_NAMES = ("backprop", "update", "train_step")   # self-updating when they take an lr

def _class(cls, label, path, module, hint, overrides=None):
    from properties.discover_objects import NOT_AN_OBJECT, object_item
    item = object_item(cls, label, path, module, hint, overrides)   # a network, an optimizer
    if item is NOT_AN_OBJECT and overrides is None:      # Sigmoid's __call__ and gradient
        item = method_pair_item(cls, label, path, module, hint) or NOT_AN_OBJECT
    if item is not NOT_AN_OBJECT:
        return item
    calls = any("__call__" in vars(k) for k in cls.__mro__[:-1])      # its own or a base's
    # Keras's style: __call__ builds the weights on the first call (build()), then runs the
    # pass, whatever that is named: forward() alone would run on weights never made
    keras = calls and _has(cls, "build", 1)
    forward = "__call__" if keras else next((m for m in FORWARD_NAMES if _has(cls, m, 1)),
                                             "__call__" if calls else None)
    if forward is None:
        if _has(cls, "backward", 1):        # nnfs's chapter-19 softmax-and-loss: its forward gone
            raise NothingToCheck(f"{cls.__name__} has a backward() but no forward(): what it "
                                 f"is the gradient of is computed elsewhere, so it is not checked")
        return None
    special = predictions_adapter(cls, forward) or fed_adapter(cls, forward, BACKWARD_NAMES)
    if special is not None:      # nnfs's backward(dvalues, y_true); initialize(optimizer)
        return _layer(cls, label, path, module, hint, special, overrides)
    for method in BACKWARD_NAMES:      # a loss's backward(self) takes no upstream gradient
        if not (_has(cls, method, 1) or method == "backward" and _has(cls, method)) or \
                method == "grad" and not _upstream_first(cls, method):
            continue        # (a grad(x) returning f'(x) is no backward)
        if takes_lr(cls, method) or (method != "backward" and reads_lr(cls, method)):
            return _layer(cls, label, path, module, hint,     # backward(d, lr): it updates itself
                          _self_updating(method, forward, _forward_args(hint, module)), overrides)
        return _layer(cls, label, path, module, hint, _else_self_updating(_protocol_or_attribute(
            *method_roles(cls, forward, method), forward=forward, backward=method,
            forward_args=_forward_args(hint, module)),
            method, forward, _forward_args(hint, module)), overrides)
    for method in UPDATING_NAMES:      # (update(episode, gamma): a learner's own, no backward)
        if _has(cls, method, 1) and not _episode_first(cls, method):
            if _has(cls, method, 2) or reads_lr(cls, method):
                return _layer(cls, label, path, module, hint,
                              _self_updating(method, forward, _forward_args(hint, module)),
                              overrides)
            return _layer(cls, label, path, module, hint, _else_self_updating(
                _renamed_backward(forward, method), method, forward, _forward_args(hint, module),
                renamed=True), overrides)
    raise NothingToCheck(f"{cls.__name__} has a {forward}() but no backward(), backprop() or "
                      f"update(): there is no gradient to check (on an autograd engine: through its ops)")


def _episode_first(cls, method):
    names = [n.lower() for n in inspect.signature(getattr(cls, method)).parameters if n != "self"]
    return bool(names) and names[0] in ("episode", "trajectory", "transitions", "rollout",
                                        "batch", "memory", "experience", "s", "state")


def _upstream_first(cls, method):
    """Whether ``method``'s first argument is named as an upstream gradient is (dout, delta,
    grad_output, error...), not as an input (x, z, inputs)."""
    names = [n.lower() for n in inspect.signature(getattr(cls, method)).parameters if n != "self"]
    name = names[0] if names else ""
    return name.startswith("d") or any(w in name for w in ("grad", "delta", "err", "upstream",
                                                             "out"))


def build_object(cls, module, hint, overrides=None):
    """A fresh user object, from the hint's expression or from the constructor's argument names
    (``overrides``: keyword arguments changed, a stride or padding ``user_variants`` tries),
    built under a seeded np.random: every build is the same object, a sublayer whose weights
    the constructor draws (``Residual(Linear(4, 4))``) included."""
    from properties.owncode_networks import seeded
    with seeded():
        return _build_object(cls, module, hint, overrides)


def _build_object(cls, module, hint, overrides):
    if hint is not None and hint.build:
        expr = with_keywords(hint.build, overrides) if overrides else hint.build
        try:
            return eval(expr, vars(module))   # the user's own expression, in their module
        except Exception as exc:
            raise CannotCheck(f"the hint on line {hint.line} ({expr}) raised "
                              f"{type(exc).__name__}: {exc}") from exc
    kwargs = {}
    try:
        kwargs = {**constructor_args(cls), **(overrides or {})}
        return cls(**kwargs)
    except CannotBuild as exc:
        raise CannotCheck(f"{exc}; add a hint: # gradcheck: {call_expression(cls, overrides)}") \
            from exc
    except Exception as exc:
        evened = {**constructor_args(cls, even=True), **(overrides or {})}
        if evened != kwargs:        # a constructor refusing odd sizes (assert dim % 2 == 0)
            with contextlib.suppress(Exception):
                return cls(**evened)
        raise CannotCheck(f"{cls.__name__}({shown_kwargs(kwargs)}) raised {type(exc).__name__}: "
                          f"{str(exc) or _raising_line(exc)}; add a hint with the arguments to build it "
                          f"with: # gradcheck: {call_expression(cls, overrides, failed=True)}") \
            from exc


def _raising_line(exc):
    """The source line that raised ``exc`` (an assert with no message: ``assert dim % 2 == 0``)."""
    frames = traceback.extract_tb(exc.__traceback__)
    return f"at `{frames[-1].line}`" if frames and frames[-1].line else "(no message)"


def _protocol_or_attribute(inputs, targets, outputs, forward="forward", backward="backward",
                           forward_args=lambda: ()):
    """The object itself when it keeps params / grads dicts (and names its methods forward and
    backward), else an AttributeLayer with the forward's inputs, targets and outputs
    (``method_roles``) calling the methods by their own names. ``forward_args``: a hint's
    ``args=(...)``, the forward's last arguments (its last targets: not drawn)."""
    given = len(forward_args())
    targets = targets[:max(0, len(targets) - given)]

    def adapt(obj, probe_inputs):
        dicts = all(isinstance(getattr(obj, a, None), dict) for a in ("params", "grads"))
        # a loss's backward(self) takes no dout: the adapter calls it so
        if (forward, backward) == ("forward", "backward") and dicts and \
                takes_upstream(obj.backward) and not given:
            return _protocol(obj, inputs, targets, outputs)
        adapter = PenalizedLayer if strengths(obj) else AttributeLayer   # nnfs's L1/L2 terms
        return adapter(obj, probe_inputs=probe_inputs, input_names=inputs, target_names=targets,
                       output_names=outputs, forward=forward, backward=backward,
                       forward_args=forward_args), "attribute"
    adapt.roles = (inputs, targets)
    return adapt


def _protocol(obj, inputs, targets, outputs):
    """The object itself, told its inputs, targets and outputs where it does not say them."""
    for attr, names in (("input_names", inputs), ("target_names", targets),
                        ("output_names", outputs)):
        if not hasattr(obj, attr):    # forward(x, h_prev): its inputs, as read off it
            try:
                setattr(obj, attr, tuple(names))
            except AttributeError:
                pass
    return obj, "protocol"


def _else_self_updating(adapt_plain, method, forward, forward_args, renamed=False):
    """``adapt_plain`` (the attribute adapter); when its probe finds the backward changing the
    layer's own arrays and writing no gradient (``backward(delta)`` stepping ``self.W`` with
    ``self.eta``, ``update(grad)`` with ``self.alpha``), the self-updating adapter: the probe
    says what the method does, whatever its learning rate is called."""
    updating = _self_updating(method, forward, forward_args)

    def adapt(obj, probe_inputs):
        try:
            return adapt_plain(obj, probe_inputs)
        except UpdatesItself:
            return updating(obj, probe_inputs)
    if hasattr(adapt_plain, "roles") or renamed:     # roles: the layer is probed for params
        adapt.roles = getattr(adapt_plain, "roles", (("x",), ()))
    return adapt


def _renamed_backward(forward, method):
    """A layer whose backward is called ``method``: its params found as any attribute layer's
    (a blog's Dense.backprop(delta) writing self.grad_w), or none (seed 003's MaxPool2)."""
    def adapt(obj, probe_inputs):
        try:
            return AttributeLayer(obj, probe_inputs=probe_inputs, forward=forward,
                                  backward=method), "attribute"
        except UpdatesItself:
            raise
        except (ValueError, TypeError, RuntimeError):   # no gradient of its arrays written, or
            # the probe's run raised: without params, whose checks then say what is wrong
            return AttributeLayer(obj, names=(), forward=forward, backward=method), "attribute"
    return adapt


def _forward_args(hint, module):
    """The extra forward arguments a hint gives (``args=(NetWork(),)``), evaluated per use."""
    if hint is None or not hint.args:
        return lambda: ()
    return lambda: tuple(eval(hint.args, vars(module)))   # the user's own expression


def _self_updating(method, forward, forward_args=lambda: ()):
    def adapt(obj, probe_inputs):
        return SelfUpdatingLayer(obj, method, forward=forward, forward_args=forward_args(),
                                 per_sample=adapt.per_sample), "self-updating"
    adapt.per_sample = False      # one sample at a time (seed 003) or a batch: found by probing
    return adapt


def _layer(cls, label, path, module, hint, adapt, overrides=None):
    obj = build_object(cls, module, hint, overrides)
    empty = empty_container(obj) if hint is None else ""     # Model() filled by add() after
    if empty:
        raise CannotCheck(empty)
    roles = getattr(adapt, "roles", (("x",), ()))
    # (a params dict is the layer's own, unless backward makes the gradients dict beside it)
    made = grads_dict_made(obj, getattr(adapt, "backward", "backward"))
    needs_probe = getattr(adapt, "probes", False) or hasattr(adapt, "roles") and (made or not (
        isinstance(getattr(obj, "params", None), dict) or find_param_names(obj)) and any((
            float_array_attributes(obj), callable(getattr(obj, "build", None)),  # Keras's build()
            has_nested_arrays(obj), written_scalars(obj), lazy_dicts(obj))))
    doc = inspect.getdoc(getattr(cls, "forward", None)) or inspect.getdoc(cls) or ""
    arrays = {k: v for k, v in vars(obj).items() if isinstance(v, np.ndarray) and v.dtype.kind == "f"}
    spec = hinted_spec(hint, (*roles[0], *roles[1]), targets=roles[1], params=arrays,
                       label=cls.__name__)
    layer, style, spec = _adapted(obj, adapt, cls.__name__, doc, spec, needs_probe, roles,
                                  call=hint.build if hint is not None and hint.build else
                                  call_expression(cls, overrides))
    item = layer_entry(label, path, style, cls.__name__,
                       lambda: build_object(cls, module, hint, overrides), adapt, layer, spec,
                       needs_probe)
    # (a float that is a param, a Swish's learnable beta, is drawn afresh: no setting to vary)
    learned = set(getattr(layer, "params", None) or ())
    item.variants = [] if overrides else [
        v for v in ({k: x for k, x in v.items() if k not in learned}
                    for v in hyper_variants(cls, hint, obj)) if v]
    also = [] if overrides or hint is not None and hint.arrays else also_specs(layer, spec)
    item.also = [layer_entry(also_label(label, image), path, style,
                             cls.__name__, lambda: build_object(cls, module, hint), adapt,
                             layer, image, needs_probe) for image in also]
    return item


def _adapted(obj, adapt, name, doc, hinted, needs_probe, roles=(("x",), ()), call=""):
    """(adapter, style, InputSpec) for one user object (``hinted``: the hint's InputSpec or
    None; ``call``: how it was built, for the hint a skip suggests); raises CannotCheck."""
    rng = np.random.default_rng(0)
    tried, paramless, raised = [], None, None
    # a self-updating layer: a batch, one sample with no batch axis, one sample as a row
    modes = (False, True, "row") if hasattr(adapt, "per_sample") else (None,)
    # a probe on which the gradients did not come out in their params' shapes finds no params
    # (a layer norm for (N, T, D) summing dgamma over two axes, probed with (N, D)): the
    # other probes go first, so its input is sized from its params
    arrays = needs_probe and hinted is None and bool(arrays_within(obj))
    for probe in probe_inputs(obj, hinted, needs_probe, roles[0], roles[1], doc):
        for per_sample in modes:
            try:
                if per_sample is not None:
                    adapt.per_sample = per_sample
                layer, style = adapt(copy.deepcopy(obj), probe)
            except (ValueError, TypeError, RuntimeError) as exc:
                tried.append(str(exc))
                continue
            spec = hinted or infer_input_shapes(layer, name=name, doc=doc, rng=rng)
            if spec is not None and arrays and not getattr(layer, "params", None):
                paramless = paramless or (layer, style, spec, per_sample)
            elif spec is not None and per_sample is not None and BACKWARD_RAISED in spec.how:
                raised = raised or (layer, style, spec, per_sample)   # another mode may run it
            elif spec is not None:
                return layer, style, spec if per_sample != "row" else replace(spec, how=(
                    f"{spec.how}; one sample at a time, as a row x[i:i + 1] (on a batch, its "
                    f"backward raised)"))
    if paramless is not None or raised is not None:
        *found, mode = paramless or raised
        if mode is not None:
            adapt.per_sample = mode        # (the adapter builds every case in the mode found)
        return tuple(found)
    if not PROBES.ran and PROBES.raised and isinstance(PROBES.raised[0], NotImplementedError):
        raise NothingToCheck(f"{name}.forward raises NotImplementedError: a base class")
    # the furthest any probe got: a backward that raised says more than a forward fed a guess
    reason = next((t for t in tried if ".backward raised" in t), tried[-1] if tried else
                  PROBES.why() or "no input shape made forward and backward run")
    indices = "used as indices must be of integer" in reason or "only integers" in reason
    raise CannotCheck(f"{name}: {reason}; add a hint with its input shape: "
                      f"# gradcheck: {call or name + '()'}; "
                      f"{example((*roles[0], *roles[1]), indices=indices)}"
                      + (" (V: the rows of the table they index)" if indices else ""))
