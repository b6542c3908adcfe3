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
COSTS = ("loss", "cost", "compute_loss", "compute_cost", "objective", "cost_function", "value",
         "fun", "func", "evaluate", "energy", "potential", "potential_energy",
         "loss_function", "f", "_loss", "_cost", "_objective", "hinge_loss", "nll",
         "negative_log_likelihood", "_compute_loss", "_compute_cost", "log_prob", "log_pi",
         "log_likelihood", "loglik", "log_policy", "logp")
GRADIENTS = ("gradient", "gradients", "grad", "grads", "jac", "compute_gradient",
             "compute_gradients", "compute_grads", "fprime", "gradient_function", "grad_function", "_gradient",
             "_gradients", "_grad", "_grads", "_compute_gradient", "_compute_gradients",
             "grad_log_prob", "grad_log_pi", "grad_log_likelihood", "grad_loglik",
             "grad_log_policy", "score", "grad_logp", "forces", "force", "compute_forces")
# named for forces (a word of the name: not reinforce): minus the energy's gradient
FORCES = re.compile(r"(?<![a-zA-Z])[Ff]orces?|(?<=[a-z])Forces?")
# a policy's score function beside only its probabilities: the cost is log forward(s)[a]
SCORES = ("grad_log_prob", "grad_log_pi", "grad_log_policy", "grad_logp")
# a float an estimator or a cost class keeps that is a setting, not a param to differentiate
SETTINGS = {"lr", "learning_rate", "eta", "alpha", "lambda_", "lambd", "lam", "lmbda", "reg",
            "c", "eps", "epsilon", "tol", "momentum", "x_max", "mu", "decay", "l1", "l2",
            "threshold", "reg_strength", "l1_ratio", "rho", "beta", "gamma", "delta", "margin",
            "dt", "time_step", "step_size"}      # (a simulation's step: a setting, not fitted)
BUILDS = 20           # constructor argument sets tried, each with a share of the call budget


def cost_methods(cls):
    """(method, its gradient method or None) when ``cls`` has a method returning a cost with its
    gradients, or a cost method beside a gradient method taking the same arguments; else None."""
    own = {n for k in cls.__mro__[:-1] for n, v in vars(k).items() if inspect.isfunction(v)}
    combined = sorted(n for n in own if COMBINED.search(n))
    if combined:
        return combined[0], None
    for cost in COSTS:
        for grad in GRADIENTS:
            if cost in own and grad in own and \
                    _arguments(getattr(cls, cost)) == _arguments(getattr(cls, grad)) and \
                    _arguments(getattr(cls, cost)):
                return cost, grad
    for cost in sorted(own):        # U / grad_U, log_posterior / grad_log_posterior
        for grad in (f"grad_{cost}", f"{cost}_grad", f"d{cost}", f"grad{cost}"):
            if grad in own and not cost.startswith("_") and \
                    _arguments(getattr(cls, cost)) == _arguments(getattr(cls, grad)) and \
                    _arguments(getattr(cls, cost)):
                return cost, grad
    score = next((g for g in SCORES if g in own and len(_arguments(getattr(cls, g))) == 2), None)
    if score is not None and "forward" in own:      # grad_log_prob(s, a) beside forward(s) -> pi
        return "forward", score
    from properties.user_cost_grad import COST_NAME, _names_gradients
    # a method named as a cost returning its gradients by name (a GP's
    # neg_log_marginal_likelihood(theta) -> (nlml, dtheta))
    return next(((n, None) for n in sorted(own) if not n.startswith("_") and
                 COST_NAME.search(n) and _arguments(getattr(cls, n)) and
                 _names_gradients(getattr(cls, n))), None)


def _arguments(fn):
    return list(inspect.signature(fn).parameters)[1:]


def _learnable_floats(obj):
    """A learnable scalar kept as a Python float (``self.w0 = 0.0``, a bias ``fit`` made) becomes
    a 0-d array; a setting (``self.lr``, ``self.lambda_``) stays as it is."""
    for name, value in list(vars(obj).items()):
        if isinstance(value, (float, np.floating)) and name.lower() not in SETTINGS:
            setattr(obj, name, np.asarray(value, dtype=np.float64))


def _fitted(obj):
    """An estimator whose weights ``fit(X, y)`` makes (``self.w = None`` until then, or not
    there at all): fitted on a small batch, as its user would, so they exist (with y as 0/1
    labels, class indices or numbers, the first it takes); the object itself when it has no
    fit, or none of those fits it."""
    fit = getattr(obj, "fit", None)
    if not callable(fit):
        return obj
    rng = np.random.default_rng(5)
    X = rng.standard_normal((8, 3))
    for y in (np.arange(8) % 2, np.arange(8) % 3, rng.standard_normal(8)):
        fitted = copy.deepcopy(obj)
        try:
            with np.errstate(all="ignore"):
                fitted.fit(X, y)
        except Exception:
            continue
        if not any(v is None for v in vars(fitted).values()):
            # what fit made is redrawn at a scale where scores spread (a few iterations leave
            # weights near 0, where every sample is inside a hinge's margin and a mask on
            # the violators shows nowhere): any point is one to check a gradient at
            for name, value in vars(fitted).items():
                if vars(obj).get(name) is None and isinstance(value, (np.ndarray, float)) \
                        and np.asarray(value).dtype.kind == "f":
                    setattr(fitted, name, rng.standard_normal(np.shape(value)))
            return fitted
    return obj


def cost_class_item(cls, label, path, hint, module=None):
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
    for obj, shown in _built(cls, ctor, hint, module):
        held = getattr(obj, "params", None)      # (or the entries of a params dict it keeps)
        attrs = {n: v for n, v in {**vars(obj), **(held if isinstance(held, dict) else {})}.items()
                 if isinstance(v, np.ndarray) and v.dtype.kind == "f"}
        args = _roles(getattr(obj, partner if method == "forward" else method))
        if not attrs and not built and not any(r in ("flat", "data", "vector") for _, r in args):
            # holding no arrays, taking no data nor a parameter vector: a loss class's loss(y,
            # p) / gradient(y, p) is a derivative pair (user_derivatives.method_pair_item)
            return None
        built = True
        roles = [*args, *[(a, "attr") for a in attrs]]
        fn = _calling(obj, method, partner, len(args), list(attrs))
        fn.__name__ = f"{cls.__name__}.{method}"
        fn.__doc__, fn.owner = getattr(cls, method).__doc__, obj   # (the docstring's shapes)
        search = _Search(fn, roles, hint, given={a: v.copy() for a, v in attrs.items()},
                         source=_class_source(cls),
                         budget=max(1000, 30000 // BUILDS))
        if search.run() is None:
            last = search.last_error
            continue
        calls = (("-" if FORCES.search(partner or "") else "") +
                 f"{cls.__name__}({shown}).{partner or method}(...)",
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
        f"{cls.__name__}(...); " + "; ".join(     # (its first argument: the vector optimised)
            f"{n}=(3,)" if r in ("flat", "vector") or i == 0 and r == "array" else
            f"{n}=int(N)<2" if r == "labels" else f"{n}=(N, 3)"
            for i, (n, r) in enumerate(_roles(getattr(cls, method))[1:])))


def _built(cls, ctor, hint, module):
    """(object, its constructor arguments shown) for up to BUILDS argument sets that build."""
    if hint is not None and hint.build:
        try:
            obj = eval(hint.build, dict(vars(module)) if module is not None else {})   # theirs
        except Exception as exc:
            raise CannotCheck(f"the hint on line {hint.line}: {hint.build} raised "
                              f"{type(exc).__name__}: {exc}") from None
        obj = _fitted(obj)
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
            obj = _fitted(obj)
            _learnable_floats(obj)
            made += 1
            yield obj, ", ".join(f"{n}={_short(v)}" for n, v in kwargs.items())
            if made >= BUILDS:
                return


def _class_source(cls):
    """The source of the class's functions and docstring (its module may be gone from
    sys.modules, where ``inspect.getsource(cls)`` looks)."""
    parts = [inspect.getdoc(cls) or ""]
    for value in vars(cls).values():
        fn = getattr(value, "__func__", value)
        if inspect.isfunction(fn):
            try:
                parts.append(inspect.getsource(fn))
            except (OSError, TypeError):
                pass
    return "\n".join(parts)


def _short(value):
    return f"<{np.shape(value)} array>" if isinstance(value, np.ndarray) else repr(value)


def _calling(obj, method, partner, n_args, attrs):
    """fn(*method arguments, *attributes) -> (cost, *gradients) on a copy of ``obj`` holding
    those attributes."""
    held = getattr(obj, "params", None)
    entries = set(held) - set(vars(obj)) if isinstance(held, dict) else set()

    def fn(*values):
        o = copy.copy(obj)
        if entries:
            o.params = dict(o.params)
        for a, v in zip(attrs, values[n_args:]):
            if a in entries:
                o.params[a] = v
            else:
                setattr(o, a, v)
        if method == "forward" and partner in SCORES:    # log pi(a | s) from the probabilities
            got = float(np.log(np.ravel(o.forward(values[0]))[int(values[1])]))
        else:
            got = getattr(o, method)(*values[:n_args])
        if partner is not None:
            grad = getattr(o, partner)(*values[:n_args])
            got = (got, -np.asarray(grad) if FORCES.search(partner) else grad)
        if isinstance(got, tuple) and len(got) == 2 and isinstance(got[1], (tuple, list)):
            got = (got[0], *got[1])          # loss, (dw0, dw, dV)
        return got
    return fn
