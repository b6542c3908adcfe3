"""The other strides, paddings and hyperparameters a user's layer is checked at, beside its
constructor's own.

A convolution or pooling layer built with its defaults (stride 1, no padding) hides the
classic bugs of the strided and padded paths: a backward that ignores the stride, a
padding cropped wrongly. A layer whose constructor takes a stride or a padding is
therefore also checked with the stride and the padding changed (one, the other, and both),
as separate entries labelled with what changed (``conv.Conv2D(stride=2)``); so is a
dilation of 1. A float hyperparameter at its default hides a backward that leaves it out
(an ELU's ``alpha=1.0``, a label smoothing of 0.0) or hard-codes it (an LRN's ``beta=0.75``):
such a layer is also checked with every one of them changed at once (``elu.ELU(alpha=0.7)``,
``changed_float``); a bool option is checked flipped, one entry each. A setting the layer
cannot be built or run with is listed as skipped with the reason, never dropped.
"""
import ast
import functools
import inspect
import math
import re

from layers.penalized import read_by

STRIDES = ("stride", "strides")
PADDINGS = ("pad", "padding")
DILATIONS = ("dilation", "dilation_rate")
# a factor of 1 or a term of 0 drops out of the arithmetic: values that do not (0.7, not 0.5:
# 1 - 0.5 == 0.5 would hide a backward swapping a and 1 - a)
FLOATS_CHANGED = {1.0: 0.7, 0.0: 0.1}
# a dropout probability of 0.5 is its keep and its drop probability at once: at 0.8 a backward
# reading it the other way than its forward fails
DROP_NAMES = ("p", "rate", "drop_rate", "dropout", "dropout_ratio", "drop_prob", "keep_prob",
              "keep_rate", "p_keep", "p_drop")
HALF_CHANGED = 0.8


def _other(value, usual, changed):
    """``changed`` where the layer uses ``usual`` (an int, or a tuple of them), else ``usual``."""
    if isinstance(value, tuple) and value and all(isinstance(v, int) for v in value):
        return tuple(changed if v == usual else usual for v in value)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return changed if value == usual else usual


def hyper_variants(cls, hint, built):
    """[{argument: value}]: the stride and padding settings to check besides the constructor's
    own (``built``: the object as built, whose attributes tell the values in use)."""
    try:
        names = list(inspect.signature(cls).parameters)
    except (TypeError, ValueError):
        return []
    given = _hint_keywords(hint)
    picked = {}
    for group, usual, changed in ((STRIDES, 1, 2), (PADDINGS, 0, 1)):
        name = next((n for n in names if n.lower() in group and n not in given), None)
        if name is None:
            continue
        value = _other(getattr(built, name, usual), usual, changed)
        if value is not None:
            picked[name] = value
    out = [{k: v} for k, v in picked.items()]
    out += [picked] if len(picked) > 1 else []
    dilation = next((n for n in names if n.lower() in DILATIONS and n not in given), None)
    if dilation is not None and getattr(built, dilation, 1) == 1 and \
            not isinstance(getattr(built, dilation, 1), bool):
        out.append({dilation: 2})
    floats = _float_defaults(inspect.signature(cls).parameters, given, built)
    flips = [{n: v} for n, v in flipped_bools(cls, given, built).items()]
    return out + ([floats] if floats else []) + flips


# flags that say how to run, not what to compute (or that another check covers: training)
NOT_OPTIONS = re.compile(r"train|verbose|debug|in_?place|^copy$|seed|^return_|cache|print|plot|"
                         r"check|validat|strict|warn|^jit$|^fast$|^eval", re.I)
MAX_FLIPS = 3


def flipped_bools(fn, given=(), built=None):
    """{argument: not its default}: ``fn``'s options defaulting to True or False (a log
    compression's ``to_db=False``, an autocorrelation's ``biased=False``), at most
    ``MAX_FLIPS`` of them, each to be checked flipped as an entry of its own: a branch its
    default never takes is checked nowhere else. Flags that say how to run (``verbose``,
    ``training``, ``inplace``) are left; so are those ``given`` (a hint's) or ``built`` at
    another value than their default."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return {}
    out = {}
    for name, p in params.items():
        if type(p.default) is not bool or name in given or NOT_OPTIONS.search(name):
            continue
        if built is not None and getattr(built, name, p.default) is not p.default:
            continue
        out[name] = not p.default
    return dict(list(out.items())[:MAX_FLIPS])


def changed_floats(fn):
    """{argument: value}: ``fn``'s float arguments, each at the value ``changed_float`` gives
    (a slip that drops one, or hard-codes it, is right at its default)."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return {}
    return _changed_all((n, p.default) for n, p in params.items() if type(p.default) is float)


# a rate the harness sets itself (a self-updating layer's), and a guard too small to matter
# (and an init's scale: the params are drawn afresh whatever it is)
NOT_CHANGED = re.compile(r"^(lr|learning_rate|learn_rate|eta|step_size|stepsize|l_rate|lrate)$|"
                         r"init|weight_scale|^w_scale$|^std$|_std$", re.I)
# any other float default, the k-th times the k-th of these: unlike factors, so options the
# default makes alike or opposite (a hardtanh's min_val=-2.0, max_val=2.0) do not stay so
OTHER_SCALES = (0.6, 0.8, 0.55, 0.85, 0.65)


def changed_float(name, value, k=0):
    """The value a float option at ``value`` is also checked at: 1.0 and 0.0 by
    ``FLOATS_CHANGED``, the ``k``-th other one times ``OTHER_SCALES[k]`` (a backward hard-coding
    an LRN's beta=0.75, or reading l1_ratio where 1 - l1_ratio belongs, is right at the
    default); None for a learning rate, an init's scale or a guard below 1e-3 (an eps)."""
    if value in FLOATS_CHANGED:
        return FLOATS_CHANGED[value]
    if NOT_CHANGED.search(name) or abs(value) < 1e-3 or not math.isfinite(value):
        return None
    return float(f"{value * OTHER_SCALES[k % len(OTHER_SCALES)]:.6g}")


def _changed_all(items):
    """{name: changed} for (name, value) pairs in order, the others counted apart."""
    out, k = {}, 0
    for name, value in items:
        changed = changed_float(name, value, k)
        if changed is not None:
            k += value not in FLOATS_CHANGED
            out[name] = changed
    return out


def at_changed(fn, options):
    """``fn`` with its float arguments at ``options`` ({name: value}, from ``changed_floats``),
    its signature saying so: a cost's ``bandwidth=1.0`` at 0.7, where a gradient dividing by h
    where h**2 belongs is no longer right."""
    sig = inspect.signature(fn)

    @functools.wraps(fn)
    def changed(*args, **kwargs):
        try:        # (an option its caller passes by position is the caller's: not twice)
            given = sig.bind_partial(*args, **kwargs).arguments
        except TypeError:
            given = kwargs
        return fn(*args, **{**{k: v for k, v in options.items() if k not in given}, **kwargs})
    changed.__signature__ = sig.replace(parameters=[
        p.replace(default=options.get(n, p.default)) for n, p in sig.parameters.items()])
    return changed


# an int 0 default that is a regularisation strength (nnfs's weight_regularizer_l2=0, Deep
# Learning from Scratch's weight_decay_lambda=0): at 0 a gradient leaving its term out is right
DECAY = re.compile(r"regulariz|decay|^reg$|^reg_|lambda|^l2$|^l1$", re.I)
READERS = ("backward", "loss", "gradient")     # a layer's term, or a network's


def _float_defaults(params, given, built):
    """{argument: value}: the float hyperparameters (of the constructor's ``params``) built at
    their defaults (the hint leaving them), each at the value ``changed_float`` gives; a
    dropout probability of 0.5 at ``HALF_CHANGED``; a decay strength defaulting to int 0 at 0.1."""
    out, others = {}, []
    for name, p in params.items():
        if name in given:
            continue
        if DECAY.search(name) and type(p.default) is int and p.default == 0 and \
                getattr(built, name, 0) == 0 and any(read_by(built, name, m) for m in READERS):
            out[name] = FLOATS_CHANGED[0.0]
            continue
        if type(p.default) is not float:
            continue
        value = getattr(built, name, p.default)
        if type(value) is float and value == 0.5 and name.lower() in DROP_NAMES:
            out[name] = HALF_CHANGED
        elif type(value) is float and value == p.default:
            others.append((name, value))
    return {**out, **_changed_all(others)}


def _hint_keywords(hint):
    """The keyword arguments a hint's build expression sets itself (those are the user's)."""
    if hint is None or not hint.build:
        return set()
    node = ast.parse(hint.build, mode="eval").body
    return {k.arg for k in getattr(node, "keywords", []) if k.arg}


def with_keywords(expr, overrides):
    """The build expression ``expr`` (``Conv(3, 4)``) with ``overrides`` as keyword arguments."""
    node = ast.parse(expr, mode="eval")
    call = node.body
    call.keywords = [k for k in call.keywords if k.arg not in overrides] + [
        ast.keyword(arg=k, value=ast.parse(repr(v), mode="eval").body) for k, v in overrides.items()]
    return ast.unparse(ast.fix_missing_locations(node))


def suffix(overrides):
    return "(" + ", ".join(f"{k}={v}" for k, v in overrides.items()) + ")"


# An optimizer built with its defaults may leave a path off (PyTorch's SGD: momentum=0): the
# settings that turn each on, checked as entries of their own (``opt.SGD(momentum=0.9)``).
OPTIMIZER_SWITCHES = ((("momentum",), 0.0, 0.9), (("nesterov",), False, True),
                      (("amsgrad",), False, True))


def optimizer_variants(cls, hint):
    """[{argument: value}]: the optimizer's paths its defaults leave off (a momentum of 0, no
    Nesterov, no AMSGrad), each turned on (Nesterov with momentum); none the hint sets itself."""
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return []
    given = _hint_keywords(hint)
    decays = any(n.lower() in ("weight_decay", "wd") and isinstance(p.default, (int, float))
                 and p.default != 0 for n, p in params.items())
    out = []
    for names, off, on in OPTIMIZER_SWITCHES:
        if names == ("amsgrad",) and decays:     # AMSGrad with weight decay: unmatched in Keras
            continue
        name = next((n for n in params if n.lower() in names and n not in given), None)
        if name is None or params[name].default is inspect.Parameter.empty or \
                params[name].default != off or type(params[name].default) is not type(off):
            continue
        momentum = next((n for n in params if n.lower() == "momentum"), None)
        if on is True and name.lower() == "nesterov" and momentum is not None:
            out.append({momentum: 0.9, name: True} if momentum not in given else {name: True})
        else:
            out.append({name: on})
    return out


def hint_keywords(hint):
    """{argument: value} of the hint's build expression's keywords whose values are literals
    (``SGD(lr=0.1, momentum=0.9)``); raises ValueError naming one that is not."""
    if hint is None or not hint.build:
        return {}
    out = {}
    for k in getattr(ast.parse(hint.build, mode="eval").body, "keywords", []):
        try:
            out[k.arg] = ast.literal_eval(k.value)
        except ValueError as exc:
            raise ValueError(f"the hint on line {hint.line} gives {k.arg}={ast.unparse(k.value)}, "
                             f"which is not a number or a literal: an optimizer's hint gives "
                             f"its hyperparameters, as SGD(lr=0.1, momentum=0.9)") from exc
    return out


def default_options(base, options):
    """The options dict a functional pair of ``base`` is checked with (its ``*_param``)."""
    if options is None:
        return None
    if "conv" in base:
        return {"stride": 2, "pad": 1}      # a stride and a padding, where backward bugs hide
    if "pool" in base:
        return {"pool_height": 2, "pool_width": 2, "stride": 2}
    if "norm" in base:
        return {"mode": "train", "eps": 1e-5, "momentum": 0.9}
    if "dropout" in base:
        return {"mode": "train", "p": 0.5, "seed": 0}
    return {}
