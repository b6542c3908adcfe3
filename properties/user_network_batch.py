"""The batch (x, t) a user's whole network (``loss(x, t)`` and ``gradient(x, t)``) is checked on.

A hint's ``x=(N, 1, 6, 6); t=int(N)<4`` (or ``t=(N, 1)`` for real targets) is used as
given. Otherwise x is sized from the first weight: a dense ``(D, M)`` takes ``(N, D)`` or a
sequence ``(N, T, D)``, a conv kernel ``(F, C, KH, KW)`` images ``(N, C, s, s)`` of the first
side its layers accept, a 1-D kernel ``(F, C, K)`` sequences ``(N, C, L)``. The targets follow
the output's width (``predict(x)``'s last axis, else the last dense weight's): one-hot rows,
integer labels, then real targets (first, for one output: a regression). The first batch on
which ``loss`` gives one finite number, at two batch sizes, is taken.
"""
import copy
import inspect

import numpy as np

from properties.owncode_networks import seeded, training_flag
from properties.user_entry import CannotCheck
from properties.user_targets import is_index_name
from properties.values import into_domain

N = 3              # samples in the batch (and 2: a batch axis must follow the batch size)
STEPS = 4          # a sequence's length
SIDES = (6, 8, 10, 12, 5, 7, 9, 14, 16, 28, 32)


def network_batch(net, name, hint=None, call=""):
    """(x, t, how) for ``net``; raises CannotCheck naming what was tried and the hint to add.
    A hint names x and t so, or as ``loss`` names its arguments (``loss(idx, targets)``)."""
    own = _loss_arguments(net)
    given_x = next((hint.array(k) for k in ("x", *own[:1])
                    if hint is not None and hint.array(k) is not None), None)
    given_t = next((hint.array(k) for k in ("t", "y", "target", "targets", "labels", *own[1:2])
                    if hint is not None and hint.array(k) is not None), None)
    shapes = [(given_x.shape, "from the hint")] if given_x is not None else list(_inputs(net))
    tried = []
    LAST.clear()
    for template, source in shapes:
        tried.append(_show(template))
        kind = "int" if source.startswith(TOKENS) else "float"
        x_of = _drawer(given_x.kind, template, given_x.domain, given_x.bound) \
            if given_x is not None else _drawer(kind, template, bound=_vocabulary(net))
        x = x_of(N, 0)
        targets = [(_drawer(given_t.kind, given_t.shape, given_t.domain, given_t.bound),
                    "from the hint")] if given_t is not None else list(_targets(net, x))
        for t_of, kind in targets:
            if all(_loss_runs(net, x_of(n, 0), t_of(n, 1)) for n in (N, 2)):
                t = t_of(N, 1)
                return x, t, f"x{x.shape} {source}, t{t.shape} {kind}"
    last = f"; the last, on x {LAST[1]}, {LAST[0]}" if LAST else ""
    xn, tn = (own + ("x", "t")[len(own):])[:2] if len(own) <= 2 else own[:2]   # (as loss names them)
    what = (f"loss(x, t) gave no finite number for any batch tried (x {', '.join(tried)}, with "
            f"one-hot, integer and real targets, at two batch sizes{last})" if tried else
            "no shape of x to try: none of its params is a weight of two axes or more, nor a "
            "vector first, to size x from")
    raise CannotCheck(
        f"{name}: {what}; add a hint with its "
        f"input and targets: # gradcheck: {call or name + '()'}; {xn}=(N, ...); {tn}=int(N)<K "
        f"(or {tn}=(N, K) for real targets)")


def _show(template):
    return "(" + ", ".join(str(d) for d in template) + ")"


def _drawer(kind, template, domain=(), bound=2):
    """n, stream -> an array of ``template`` with N samples: floats (in ``domain``) or ints."""
    def draw(n, stream):
        rng = np.random.default_rng([n, stream])
        shape = tuple(n if d == "N" else d for d in template)
        if kind == "int":
            return rng.integers(0, bound or 2, shape)
        if kind == "one_hot":
            return np.eye(template[1])[rng.integers(0, template[1], shape[0])]
        return into_domain(rng.standard_normal(shape), domain or None)
    return draw


TOKENS = "token ids"


def _loss_arguments(net):
    """The names of ``net.loss``'s positional arguments (``("idx", "targets")``)."""
    try:
        return tuple(p.name for p in inspect.signature(net.loss).parameters.values()
                     if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))
    except (TypeError, ValueError, AttributeError):
        return ()


def _vocabulary(net):
    """The rows of the first 2-D weight: the token ids a language model's table looks up."""
    first = next((np.asarray(v) for v in getattr(net, "params", {}).values()
                  if np.ndim(v) == 2), None)
    return int(first.shape[0]) if first is not None else 2


def _inputs(net):
    params = [np.asarray(v) for v in getattr(net, "params", {}).values()]
    if params and params[0].ndim == 1 and params[0].size >= 2:    # a window, a scale: x * win
        yield ("N", params[0].size), f"from the first param {params[0].shape}, applied elementwise"
    first = next((p for p in params if p.ndim >= 2), None)
    if first is None:
        return
    if first.ndim == 2 and is_index_name((_loss_arguments(net) or ("x",))[0]):
        # loss(idx, targets): token ids into the table (N, T), before anything else
        yield ("N", STEPS), f"{TOKENS} below {first.shape[0]}, the rows of the first weight"
    if first.ndim == 2:
        yield ("N", first.shape[0]), f"from the first weight {first.shape}"
        yield ("N", STEPS, first.shape[0]), f"a sequence, from the first weight {first.shape}"
    elif first.ndim == 4:
        _, c, kh, kw = first.shape
        for side in [s for s in SIDES if s >= max(kh, kw)]:
            yield ("N", c, side, side), f"images, from the kernel {first.shape}"
    elif first.ndim == 3:
        _, c, k = first.shape
        for length in (8, 10, 12, 16, k + 4):
            yield ("N", c, length), f"sequences, from the kernel {first.shape}"


def _width(net, x):
    """The output's width: predict(x)'s last axis, else the last dense weight's."""
    predict = getattr(net, "predict", None)
    if callable(predict):
        try:
            with np.errstate(all="ignore"):
                out = np.asarray(copy.deepcopy(net).predict(x))
            if out.ndim >= 1 and out.shape[0] == len(x):
                return int(out.shape[-1]) if out.ndim > 1 else 1
        except Exception:
            pass
    params = [np.asarray(v) for v in getattr(net, "params", {}).values()]
    last = next((p for p in reversed(params) if p.ndim == 2), None)
    return int(last.shape[1]) if last is not None else 1


def _targets(net, x):
    k = _width(net, x)
    real = (_drawer("float", ("N", k)), "real targets, one per output")
    classes = [(_drawer("one_hot", ("N", k)), f"one-hot over {k} outputs"),
               (_drawer("int", ("N",), bound=k), f"integer labels over {k} outputs")]
    steps = [(_drawer("float", ("N", x.shape[1], k)), "real targets at every step"),
             (_drawer("int", ("N", x.shape[1]), bound=k), "integer labels at every step")] \
        if x.ndim == 3 or x.ndim == 2 and x.dtype.kind == "i" else []  # a sequence (of ids)
    return [real, *classes, *steps] if k == 1 else [*classes, real, *steps]


def _loss_runs(net, x, t):
    """loss(x, t) is one finite number, in training mode when loss takes a flag (a batch
    norm's inference loss on a fresh network divides by a running variance of 0)."""
    flag = training_flag(net)
    try:
        with np.errstate(all="ignore"), seeded():   # a dropout's mask: the user's np.random kept
            value = np.asarray(copy.deepcopy(net).loss(x, t, **({flag: True} if flag else {})),
                               dtype=np.float64)
    except Exception as exc:
        LAST[:] = [f"raised {type(exc).__name__}: {str(exc)[:120]}", x.shape]
        return False
    if value.size == 1 and bool(np.isfinite(value).all()):
        return True
    LAST[:] = [f"gave {value.reshape(-1)[:3]}" if value.size != 1 else f"gave {float(value)}",
               x.shape]
    return False


LAST = []     # what the last loss(x, t) tried did instead of giving one finite number, and x's shape
