"""Classes whose method returns a cost with its gradients, or that have a cost method beside
a gradient method (``properties.user_cost_grad`` for functions).

Two forms::

    fm = FactorizationMachine(n_features, k=4)     # the params are its attributes
    loss, (dw0, dw, dV) = fm.loss_and_grad(X, y)    # or {"P": dP, "Q": dQ}, or a tuple
    J = f.cost(theta); g = f.gradient(theta)        # f = LogisticCost(X, y, lambda_): the data
                                                    # are its attributes, theta the argument

The object is built by its constructor's argument names (sizes, a regularisation strength,
data and labels, as a cost function's arguments are made); its float array attributes
(a learnable scalar kept as a float, ``self.w0 = 0.0``, made a 0-d array) and the method's
array arguments are what the returned gradients may be of, matched by key or by shape. The
check is the cost function's: each gradient against finite differences of the cost.
"""
import copy
import inspect
import itertools
import re

import numpy as np

from properties.user_cost_args import SIZES, _roles, _Search
from properties.user_entry import CannotCheck

COMBINED = re.compile(r"(loss|cost|objective).*grad", re.I)       # loss_and_grad(s), costAndGrad
COSTS = ("loss", "cost", "compute_loss", "compute_cost", "objective", "cost_function",
         "loss_function", "f")
GRADIENTS = ("gradient", "gradients", "grad", "grads", "compute_gradient", "compute_gradients",
             "compute_grads", "fprime", "gradient_function", "grad_function")
BUILDS = 20           # constructor argument sets tried, each with a share of the call budget


def cost_methods(cls):
    """(method, its gradient method or None) when ``cls`` has a method returning a cost with its
    gradients, or a cost method beside a gradient method taking the same arguments; else None."""
    own = {n for k in cls.__mro__[:-1] for n, v in vars(k).items() if inspect.isfunction(v)}
    combined = sorted(n for n in own if COMBINED.search(n) and not n.startswith("_"))
    if combined:
        return combined[0], None
    for cost in COSTS:
        for grad in GRADIENTS:
            if cost in own and grad in own and \
                    _arguments(getattr(cls, cost)) == _arguments(getattr(cls, grad)) and \
                    _arguments(getattr(cls, cost)):
                return cost, grad
    return None


def _arguments(fn):
    return [p for p in list(inspect.signature(fn).parameters)[1:]]


def _learnable_floats(obj):
    """A learnable scalar kept as a Python float (``self.w0 = 0.0``) becomes a 0-d array."""
    for name, value in list(vars(obj).items()):
        if isinstance(value, float):
            setattr(obj, name, np.asarray(value))


def cost_class_item(cls, label, path, hint):
    """The Found of such a class (see the module's doc), or None when it is not one (it holds
    no arrays, or none of its constructor's argument sets tried builds it)."""
    from properties.user_cost_grad import found_for
    methods = cost_methods(cls)
    if methods is None:
        return None
    method, partner = methods
    try:
        ctor = _roles(cls)
    except (TypeError, ValueError):
        return None
    last, built = None, False
    for obj, shown in _built(cls, ctor, hint):
        attrs = {n: v for n, v in vars(obj).items()
                 if isinstance(v, np.ndarray) and v.dtype.kind == "f"}
        if not attrs and not built:
            # holding no arrays (no params, no data): a loss class's loss(y, p) / gradient(y,
            # p) is a derivative pair, checked as one (user_derivatives.method_pair_item)
            return None
        built = True
        args = _roles(getattr(obj, method))
        roles = [*args, *[(a, "attr") for a in attrs]]
        fn = _calling(obj, method, partner, len(args), list(attrs))
        fn.__name__ = f"{cls.__name__}.{method}"
        search = _Search(fn, roles, hint, given={a: v.copy() for a, v in attrs.items()},
                         budget=max(1000, 30000 // BUILDS))
        if search.run() is None:
            last = search.last_error
            continue
        calls = (f"{cls.__name__}({shown}).{partner or method}(...)",
                 f"{cls.__name__}({shown}).{method}(...)" + ("" if partner else "[0]"))
        found = found_for(f"{cls.__name__}.{method}", fn, label, path, hint, calls,
                          pair=partner is not None, roles=roles, search=search)
        if found is not None:
            return found
    if not built:
        return None
    raise CannotCheck(
        f"{cls.__name__}: {method}()" + (f" and {partner}()" if partner else "") + " look like a "
        f"cost and its gradient, but no constructor and argument shapes tried made "
        f"{'them' if partner else 'it'} return gradients in the shapes of its arrays" +
        (f" (the last try raised {type(last).__name__}: {str(last)[:160]})" if last else "") +
        f"; give its constructor and the arguments' shapes in a hint, as in # gradcheck: "
        f"{cls.__name__}(...); " + "; ".join(f"{n}=(N, 3)" for n, _ in
                                              _roles(getattr(cls, method))[1:]))


def _built(cls, ctor, hint):
    """(object, its constructor arguments shown) for up to BUILDS argument sets that build."""
    if hint is not None and hint.build:
        obj = eval(hint.build, vars(inspect.getmodule(cls)))      # the user's own expression
        _learnable_floats(obj)
        yield obj, hint.build[hint.build.index("(") + 1:-1]
        return
    probe = _Search(None, ctor, None)
    fixed, free = probe.fixed_and_free()
    made = 0
    for width in SIZES:
        options = [probe.options(n, r, width) for n, r in free]
        for combo in itertools.product(*options):
            kwargs = {**fixed, **dict(zip([n for n, _ in free], combo))}
            kwargs = probe.masks_like_labels(kwargs)
            try:
                with np.errstate(all="ignore"):
                    obj = cls(**{n: copy.deepcopy(v) for n, v in kwargs.items()})
            except Exception:
                continue
            _learnable_floats(obj)
            made += 1
            yield obj, ", ".join(f"{n}={_short(v)}" for n, v in kwargs.items())
            if made >= BUILDS:
                return


def _short(value):
    return f"<{np.shape(value)} array>" if isinstance(value, np.ndarray) else repr(value)


def _calling(obj, method, partner, n_args, attrs):
    """fn(*method arguments, *attributes) -> (cost, *gradients) on a copy of ``obj`` holding
    those attributes."""
    def fn(*values):
        o = copy.copy(obj)
        for a, v in zip(attrs, values[n_args:]):
            setattr(o, a, v)
        got = getattr(o, method)(*values[:n_args])
        if partner is not None:
            got = (got, getattr(o, partner)(*values[:n_args]))
        if isinstance(got, tuple) and len(got) == 2 and isinstance(got[1], (tuple, list)):
            got = (got[0], *got[1])          # loss, (dw0, dw, dV)
        return got
    return fn
