"""A user's whole network (``loss``/``gradient``) or optimizer (``update(params, grads)``) found
in their file, as an item to check (``properties.discover`` finds them)."""
import inspect
import re

import numpy as np

from properties.discover import _has, build_object
from properties.user_build import call_expression, shown_kwargs
from properties.user_entry import CannotCheck, Found, NothingToCheck
from properties.user_network_batch import network_batch
from properties.user_variants import hint_keywords, optimizer_variants


NOT_AN_OBJECT = object()     # (None is an answer: found, and nothing to check)


def object_item(cls, label, path, module, hint, overrides=None):
    """A whole network, or an optimizer (on dicts, PyTorch's ``step()``, nnfs's
    ``update_params(layer)``): its item, None (nothing to check), or NOT_AN_OBJECT (a layer,
    perhaps: ``discover`` goes on)."""
    from properties.user_function_ctx import ctx_function_item, is_ctx_function
    if is_ctx_function(cls):           # torch.autograd.Function: forward(ctx, ...), backward(ctx, g)
        return ctx_function_item(cls, label, path, hint)
    from properties.user_autograd import autograd_item, is_autograd_class, is_functional_engine
    from properties.user_nielsen import backprop_network_item, is_backprop_network
    if is_autograd_class(cls):         # micrograd's Value, a Tensor with its own backward
        return autograd_item(cls, label, path)
    if is_functional_engine(cls, module):      # a Var whose ops are add(a, b), relu(a)...
        return autograd_item(cls, label, path, module)
    from properties.user_autograd_models import engine_model_item, is_engine_model
    if is_engine_model(cls):           # micrograd's MLP on Values: checked whole, where it is
        item = engine_model_item(cls, label, path, module, hint)
        if item is not None:
            return item
    from properties.user_bptt import bptt_item, is_bptt_model
    if is_bptt_model(cls):             # WildML's RNN: bptt(x, y) -> [dLdU, dLdV, dLdW]
        return bptt_item(cls, label, path, module, hint)
    from properties.user_cost_grad_class import cost_class_item, cost_methods
    if _has(cls, "fit", 2) and cost_methods(cls) is not None:     # an estimator: fit(X, y) makes
        item = cost_class_item(cls, label, path, hint, module)   # its weights, then its cost
        if item is not None:
            return item
    if _has(cls, "loss", 2) and (_has(cls, "gradient", 2) or returns_grads(cls)) and \
            not _targets_first(cls):       # (ML-From-Scratch's loss(y, p): a cost, no network)
        return network_item(cls, label, path, module, hint, overrides)
    if is_backprop_network(cls, _has):       # Nielsen's backprop(x, y) -> (nabla_b, nabla_w)
        return backprop_network_item(cls, label, path, module, hint, overrides)
    if cost_methods(cls) is not None and not _has(cls, "backward"):
        item = cost_class_item(cls, label, path, hint, module)   # fm.loss_and_grad(X, y); f.cost
        if item is not None:
            return item
    if _has(cls, "forward") or _has(cls, "backward"):
        return NOT_AN_OBJECT
    from properties.user_learner import learner_item, learner_method
    if learner_method(cls) is not None:     # back_propagate(case, label, learn, correct)
        return learner_item(cls, label, path, module, hint)
    if _has(cls, "update", 2):
        _updates_params(cls)
        return optimizer_item(cls, label, path, module, hint, overrides)
    if _has(cls, "update_params", 1) and not _has(cls, "update_params", 2):
        return layer_update_item(cls, label, path, module, hint, overrides)
    if _has(cls, "step") and not _has(cls, "step", 1):      # PyTorch's: params given, then step()
        return step_optimizer_item(cls, label, path, module, hint, overrides)
    if _has(cls, "add", 1) and not any(_has(cls, m) for m in ("forward_pass", "__call__", "fprop")):
        raise NothingToCheck(f"{cls.__name__} is a network its user fills with add(layer) and "
                             f"trains with its own passes: its layers, loss and optimizer are "
                             f"checked one by one, the network as a whole is not")
    return NOT_AN_OBJECT


def _targets_first(cls):
    """``loss(y, y_pred)``: its first argument named as targets are."""
    from properties.user_targets import is_target_name
    try:
        names = [n for n in inspect.signature(cls.loss).parameters if n != "self"]
    except (TypeError, ValueError):
        return False
    return bool(names) and is_target_name(names[0])


def network_item(cls, label, path, module, hint, overrides=None):
    from properties.owncode_networks import check_network
    from properties.user_variants import hyper_variants
    both = returns_grads(cls)
    make = (lambda: LossReturnsGrads(build_object(cls, module, hint, overrides))) if both else \
        (lambda: _params_named(build_object(cls, module, hint, overrides)))
    net = make()
    x, t, how = network_batch(net, cls.__name__, hint,
                              hint.build if hint is not None and hint.build else call_expression(cls))

    def check():
        return check_network(make, x, t, label=label)
    style = "network whose loss(X, y) returns (loss, grads)" if both else \
        "network with loss/gradient"
    found = Found(label, path, "network", f"{style}; {how}", check=check)
    # (a regularisation strength of 0.0 hides a gradient that leaves its term out: reg=0.1)
    found.variants = [] if overrides else hyper_variants(cls, hint, getattr(net, "model", net))
    return found


def _params_named(net):
    """``net`` with ``params``: its one dict of float arrays under whatever name it keeps it
    (``self.quanzhong``, pinyin for weights), the very dict (a step moving it is seen)."""
    if not hasattr(net, "params"):
        held = [v for v in vars(net).values() if isinstance(v, dict) and v and all(
            isinstance(a, np.ndarray) and a.dtype.kind == "f" for a in v.values())]
        if len(held) == 1:
            net.params = held[0]
    return net


def returns_grads(cls):
    """Is ``cls`` a model whose ``loss(X, y=None)`` returns the scores without labels and
    ``(loss, grads)`` with them (CS231n's), with no gradient() of its own?"""
    if any(callable(getattr(cls, m, None)) for m in ("gradient", "backward", "forward")):
        return False        # (a layer with a loss() helper is a layer)
    try:
        params = list(inspect.signature(cls.loss).parameters.values())[1:]
    except (AttributeError, TypeError, ValueError):
        return False
    return len(params) >= 2 and params[1].default is None


class LossReturnsGrads:
    """A model whose ``loss(X, y)`` returns ``(loss, grads)``, as a network with ``loss(x, t)``
    and ``gradient(x, t)``: each the half of that one call it names."""

    calls = ("loss(X, y)[1]", "loss(X, y)[0]")     # what the results call the two halves

    def __init__(self, model):
        self.model, self.params = model, model.params

    def loss(self, x, t):
        return self.model.loss(x, t)[0]

    def gradient(self, x, t):
        return self.model.loss(x, t)[1]


def optimizer_item(cls, label, path, module, hint, overrides=None):
    from properties.owncode_optimizers import check_dict_optimizer, optimizer_kind, readable
    from properties.owncode_step_optimizers import (ListOptimizer, PerArrayOptimizer,
                                                     returns_new_array, takes_a_name, takes_lists)
    _no_gradient_function(cls)
    built = build_object(cls, module, hint, overrides)
    per_array = returns_new_array(built)
    lists = not per_array and takes_lists(built)

    def make():
        opt = build_object(cls, module, hint, overrides)
        return PerArrayOptimizer(opt) if per_array else ListOptimizer(opt) if lists else opt
    try:
        opt = make()
        kind = optimizer_kind(opt)
        readable(opt)      # every hyperparameter it needs, read now: a skip saying which, not a crash
    except ValueError as exc:
        raise CannotCheck(str(exc)) from exc     # each message says what would make it checkable
    how = "on lists of arrays" if lists else "on dicts" if not per_array else \
        "update(w, grad, name) returning the new w, its state kept by name (numpy-ml's)" \
        if takes_a_name(opt.optimizer) else \
        "update(w, grad) returning the new w, a fresh copy for each param"
    found = Found(label, path, "optimizer", f"{kind} optimizer {how}, against tf.keras",
                  check=lambda: check_dict_optimizer(make, label=label))
    found.variants = [] if overrides else optimizer_variants(cls, hint)
    return found



OPTIMIZER_ARGS = re.compile(r"grad|param|weight|^w$|^ws$|^d[a-z]?$|^d[A-Z_]|^dw|^db|^g$|^gs$|"
                            r"layer|net|model|theta|^p$|^ps$|key|name|^x$|tensor|var")


def _updates_params(cls):
    """An optimizer's ``update`` takes params and gradients (``update(params, grads)``, ``update(w,
    dw)``, ``update(layer)``): a TD learner's ``update(s, r, s_next, done)`` is no optimizer."""
    args = [a for a in inspect.signature(cls.update).parameters if a != "self"]
    if args and not any(OPTIMIZER_ARGS.search(a) for a in args):
        raise CannotCheck(f"{cls.__name__}.update{tuple(args)} takes no params nor gradients: "
                          f"it is not an optimizer's update(params, grads), and its gradient is "
                          f"computed inside it; not checked")


def _no_gradient_function(cls):
    """``update(w, grad_func)`` (ML-From-Scratch's Nesterov: the gradient at a look-ahead point,
    from a function it is handed): no drawn gradient sequence can drive it; said so."""
    try:
        second = list(inspect.signature(cls.update).parameters)[2]
    except (TypeError, ValueError, IndexError):
        return
    if "func" in second.lower() or second.lower().endswith("_fn"):
        raise CannotCheck(f"{cls.__name__}.update(w, {second}) takes a function computing the "
                          f"gradient at a point it chooses (a look-ahead): the trajectory check "
                          f"hands an optimizer gradients, not a function, so it is not checked")


def layer_update_item(cls, label, path, module, hint, overrides=None):
    """nnfs's optimizer: ``update_params(layer)`` between ``pre_update_params()`` and
    ``post_update_params()``, checked as the dict style through
    ``owncode_step_optimizers.LayerUpdateOptimizer``."""
    from properties.owncode_optimizers import check_dict_optimizer, optimizer_kind, readable
    from properties.owncode_step_optimizers import LayerUpdateOptimizer

    def make():
        return LayerUpdateOptimizer(build_object(cls, module, hint, overrides))
    try:
        probe = make()
        kind = optimizer_kind(probe)
        readable(probe)
    except ValueError as exc:
        raise CannotCheck(str(exc)) from exc
    found = Found(label, path, "optimizer", f"{kind} optimizer with update_params(layer) on a "
                  f"layer's weights and dweights (nnfs), against tf.keras",
                  check=lambda: check_dict_optimizer(make, label=label))
    found.variants = [] if overrides else optimizer_variants(cls, hint)
    return found


STEP_STYLES = {"objects": "params with .data and .grad", "pairs": "(param, grad) pairs",
               "lists": "a list of params and one of grads"}


def step_optimizer_item(cls, label, path, module, hint, overrides=None):
    """A PyTorch-style optimizer (params given to its constructor, moved by ``step()``),
    checked as the dict style through ``owncode_step_optimizers.StepOptimizer``; the hint's
    keywords (``# gradcheck: SGD(lr=0.1, momentum=0.9)``) and ``overrides`` set its others."""
    from properties.owncode_optimizers import SHAPES, check_dict_optimizer, optimizer_kind, readable
    from properties.owncode_step_optimizers import AbstractStep, StepOptimizer, step_style
    if not _given_params(cls):
        return _scheduler_item(cls, label, path, hint) if _given_optimizer(cls) else None
    try:
        build = _step_builder(cls, {**hint_keywords(hint), **(overrides or {})})
        style = step_style(build, SHAPES, cls.__name__)
        probe = StepOptimizer(build, SHAPES, style, cls.__name__)
        kind = optimizer_kind(probe)
        readable(probe)
    except AbstractStep as exc:
        raise NothingToCheck(str(exc)) from exc
    except ValueError as exc:
        raise CannotCheck(str(exc)) from exc

    def check():
        return check_dict_optimizer(lambda: StepOptimizer(build, SHAPES, style, cls.__name__),
                                    label=label)
    found = Found(label, path, "optimizer", f"{kind} optimizer with step() on "
                  f"{STEP_STYLES[style]}, against tf.keras", check=check)
    found.variants = [] if overrides else optimizer_variants(cls, hint)
    return found


def _step_builder(cls, given=None):
    """``build(*containers)``: ``cls`` given its params (one or two containers), ``given``
    keywords, every other argument it requires a hyperparameter by its name
    (``user_build.HYPER``), else its default."""
    from properties.user_build import HYPER
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{cls.__name__}: cannot read its constructor's arguments ({exc})") from exc
    required = [n for n, p in signature.parameters.items()
                if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]

    def build(*containers):
        rest = required[len(containers):]
        missing = [n for n in rest if n.lower() not in HYPER and n.lower() not in ("lr", "learning_rate")]
        if missing:
            raise ValueError(f"{cls.__name__} requires {', '.join(missing)} besides its params")
        extra = {n: HYPER.get(n.lower(), 0.01) for n in rest if n not in (given or {})}
        try:
            return cls(*containers, **extra, **(given or {}))
        except TypeError as exc:
            if given:          # a keyword the constructor does not take: the user's to fix
                raise ValueError(f"{cls.__name__}(params, {shown_kwargs(given)}) raised TypeError: "
                                 f"{exc}") from exc
            raise
    return build


def _scheduler_item(cls, label, path, hint):
    """A PyTorch-style learning-rate scheduler (``owncode_schedulers``), or a listed skip."""
    from properties.owncode_schedulers import (BASE_LR, build_scheduler, check_scheduler,
                                               schedule_hypers, scheduler_kind)
    kind = scheduler_kind(cls)
    if kind is None:    # code found and not checked: not a pass (exit 3)
        raise CannotCheck(f"{cls.__name__} takes an optimizer and steps it: a learning-rate "
                          f"scheduler, of no kind checked here (step, multi-step, exponential, "
                          f"cosine annealing, as its name says)")
    given = hint_keywords(hint)
    try:
        schedule_hypers(kind, build_scheduler(cls, given)[0])   # each one it needs, read now
    except ValueError as exc:          # its message names the class
        raise CannotCheck(str(exc)) from exc
    except Exception as exc:
        raise CannotCheck(f"{cls.__name__}: {type(exc).__name__}: {exc}") from exc
    found = Found(label, path, "scheduler", f"{kind} learning-rate scheduler on an optimizer's "
                  f"lr (and param_groups), against Keras's schedule",
                  check=lambda: check_scheduler(cls, kind, label, given))
    # a floor defaulting to 0 (a cosine's eta_min): a rate leaving it out, or adding it where
    # it belongs scaled, is right there; also at a tenth of the stand-in's rate
    floors = {n: BASE_LR / 10 for n, p in inspect.signature(cls).parameters.items()
              if type(p.default) is float and p.default == 0.0 and n not in given}
    if floors:
        shown = ", ".join(f"{k}={v:g}" for k, v in floors.items())
        more = {**given, **floors}
        found.also.append(Found(f"{label}({shown})", path, "scheduler", f"{found.how}, {shown}",
                                check=lambda: check_scheduler(cls, kind, f"{label}({shown})", more)))
    return found


def _given_optimizer(cls):
    """Whether the constructor's first argument is an optimizer (PyTorch's schedulers')."""
    try:
        first = next(iter(list(inspect.signature(cls).parameters)), "")
    except (TypeError, ValueError):
        return False
    return first.lower() in ("optimizer", "optim", "opt", "optimiser")


def _given_params(cls):
    """Whether the constructor's first argument is params (params, parameters, params_and_grads,
    param_pairs, weights): a scheduler given an optimizer has a step() too, and is no optimizer."""
    try:
        first = next(iter(list(inspect.signature(cls).parameters)), "")
    except (TypeError, ValueError):
        return False
    return "param" in first.lower() or "pair" in first.lower() or first.lower() == "weights"


def config_rule(name, fn):
    """An update rule ``name(w, dw, config=None) -> (next_w, config)`` (CS231n's optim.py) as
    an optimizer class of that name, or None: its hyperparameters are the scalars it puts in
    the config it is given None for (its defaults), read once."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return None
    if len(params) != 3 or params[2].default is not None or "config" not in params[2].name:
        return None
    try:
        with np.errstate(all="ignore"):
            _, defaults = fn(np.ones(2), np.ones(2), None)
    except Exception:
        return None
    if not isinstance(defaults, dict):
        return None
    hyper = {k: float(v) for k, v in defaults.items() if isinstance(v, float)}
    return type(name, (ConfigRule,), {"rule": staticmethod(fn), **hyper})


class ConfigRule:
    """A params dict stepped by ``rule(w, dw, config)``, one config per param as a solver
    keeps them (each starts as the rule makes it from None)."""

    def __init__(self):
        self.configs = {}

    def update(self, params, grads):
        for k in params:
            params[k], self.configs[k] = self.rule(params[k], grads[k], self.configs.get(k))
