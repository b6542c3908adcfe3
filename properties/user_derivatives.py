"""A function and its derivative written beside it: ``sigmoid`` / ``sigmoid_prime``,
``tanh`` / ``tanh_derivative``, ``mse`` / ``mse_grad``, ``relu`` / ``d_relu``; or two methods of a
class with no backward: ``__call__(x)`` / ``gradient(x)`` (ML-From-Scratch's activations),
``fn(z)`` / ``grad(x)`` (numpy-ml's), ``loss(y, p)`` / ``gradient(y, p)`` (a cost per element).

Tutorials keep activations and costs as module functions, the derivative a second function
(Nielsen's ``sigmoid_prime(z)``, "Neural Network from scratch"'s ``mse_prime(y_true,
y_pred)``): a slip there (a missing 2 / N, a derivative written for the output on the input)
went unseen, the pair being "not found". Now:

* a cost ``f(pred, target)`` returning one number: ``grad(pred, target)`` against finite
  differences of ``f`` with respect to the prediction (the argument not named as targets are,
  ``y_true``, ``y``, ``t``...), on float targets like the prediction, else one-hot rows, else
  integer labels; predictions drawn on the whole line, else in (0, 1) where ``f`` is finite
  only there (a cross-entropy on probabilities);
* an elementwise ``f(z)``: ``grad(z) * dout`` against the finite-difference VJP of ``f`` for
  a random ``dout``. A derivative written in terms of the output (``sigmoid_derivative(a)``
  = a (1 - a), called on ``sigmoid(z)``) is right too, and is said to be read so.

Anything else (a Jacobian matrix, arguments not drawable) is listed as not checked.
"""
import functools
import inspect
import re
from dataclasses import replace

import numpy as np

from oracle.compare import compare
from oracle.finite_diff import fd_vjp
from oracle.result import join_notes
from properties.user_entry import CannotCheck, Found, NothingToCheck
from properties.user_targets import _positional as _required
from properties.user_targets import is_target_name
from properties.user_variants import changed_floats
from properties.values import domain_text, into_domain

SUFFIXES = ("_prime", "_derivative", "_deriv", "_grad", "_gradient", "_der", "Prime", "Derivative",
            "Deriv", "Gradient", "Grad")   # (Ng's sigmoidGradient)
PREFIXES = ("d_", "grad_", "d")
SHAPE = (4, 3)
OUTPUT_READING = ("the derivative is written in terms of the function's output, as "
                  "sigmoid_derivative(a) = a * (1 - a) is: right where it is called on a = f(z), "
                  "wrong where it is called on z (a call site this check does not see)")


def derivative_partner(name, names):
    """The name of ``name``'s derivative function among ``names``, or None."""
    base = re.sub(r"_(fn|func|function|value|val)$", "", name)     # loss_fn beside loss_grad
    for other in [name + s for s in SUFFIXES] + [p + name for p in PREFIXES] + \
            ([base + s for s in SUFFIXES] if base != name else []):
        if other in names and inspect.isfunction(names[other]):
            return other
    return None


def derivative_item(name, fn, dname, dfn, label, path):
    args = _required(fn)
    through = _through_activation(name, fn, dname, dfn, label, path, args)
    if through is not None:        # numpy-ml's grad(y, y_pred, z, act_fn)
        return through
    if not args or len(_required(dfn)) != len(args):
        raise NothingToCheck(f"{dname}{inspect.signature(dfn)} does not take {name}'s "
                             f"arguments {tuple(args)}: not read as its derivative")
    found = _derivative_found(name, fn, dname, dfn, label, path, args)
    if found is not None:
        changed = _float_variants(fn, dfn)      # huber(..., delta=1.0): also at delta=0.7
        if changed:
            shown = ", ".join(f"{k}={v}" for k, v in changed.items())
            try:
                found.also.append(_derivative_found(
                    name, functools.partial(fn, **changed), dname,
                    functools.partial(dfn, **changed), f"{label}({shown})", path, args))
            except CannotCheck:
                pass            # checked at its defaults all the same
    return found


def _float_variants(fn, dfn):
    """{argument: value}: ``fn``'s float arguments defaulting to 1.0 or 0.0 that ``dfn`` takes
    too, changed (a slip that drops one is right at its default)."""
    try:
        theirs = inspect.signature(dfn).parameters
    except (TypeError, ValueError):
        return {}
    return {n: v for n, v in changed_floats(fn).items() if n in theirs}


def _on_numbers(fn, dfn):
    """(fn, dfn, how) over arrays: themselves, or, for functions of one number that refuse an
    array (``math.exp``: the classic blog sigmoid), applied to each element."""
    try:
        with np.errstate(all="ignore"):
            fn(np.full(SHAPE, 0.3))
        return fn, dfn, ""
    except TypeError:
        try:
            float(fn(0.3)), float(dfn(0.3))
        except Exception:
            return fn, dfn, ""
    except Exception:         # (a function of a vector, U(q) = q @ q: the checks below say)
        return fn, dfn, ""
    return np.vectorize(fn, otypes=[float]), np.vectorize(dfn, otypes=[float]), \
        " (functions of one number, applied to each element)"


def _derivative_found(name, fn, dname, dfn, label, path, args):
    if len(args) == 1:
        fn, dfn, each = _on_numbers(fn, dfn)
        try:
            _elementwise_shapes(fn, dfn, name, dname)
        except CannotCheck:       # a scalar function of a vector beside its gradient
            if not _scalar_valued(fn):
                raise
            from properties.user_cost_grad import gradient_pair_item
            found = gradient_pair_item(name, fn, dname, dfn, label, path)
            if found is None:
                raise
            return found
        return Found(label, path, "derivative", f"{dname}(z) as the elementwise derivative of "
                     f"{name}(z), against finite differences; z {SHAPE}{each}",
                     check=lambda: check_elementwise(fn, dfn, label, name, dname))
    if not any(is_target_name(a) for a in args):
        # f(x, w) and f_grad(x, w): the argument meant is the one of the gradient's shape
        from properties.user_cost_grad import pair_item
        return pair_item(name, fn, dname, dfn, label, path)
    at = next((i for i, a in enumerate(args) if not is_target_name(a)), 0)
    setup = _cost_setup(fn, dfn, args, at)
    if setup is None:
        from properties.user_cost_grad import pair_item      # the cost search's shapes
        found = pair_item(name, fn, dname, dfn, label, path)
        if found is not None:
            return found
        raise CannotCheck(f"{name}({', '.join(args)}): no drawn {args[at]} and targets made both "
                          f"{name} give one finite number (or one per element) and {dname} an "
                          f"array of {args[at]}'s shape")
    shown = ", ".join(args)
    return Found(label, path, "derivative", f"{dname}({shown}) as the gradient of the cost "
                 f"{name}({shown}) with respect to {args[at]}, against finite differences; "
                 f"{setup[2]}", check=lambda: check_cost(fn, dfn, label, dname, args, at, setup))


def _scalar_valued(fn):
    """Whether ``fn`` gives one number for a vector or a matrix (a cost, a potential energy)."""
    for shape in ((5,), (2,), (3,), SHAPE):      # (himmelblau's x, y = z: two entries)
        try:
            with np.errstate(all="ignore"):
                value = fn(np.random.default_rng(0).uniform(0.1, 0.9, shape))
            if np.size(value) == 1 or len(shape) == 2 and np.shape(value) == shape[:1]:
                return True      # (or one per row of a batch of points: a log-density's)
        except Exception:
            continue
    return False


def _elementwise_shapes(fn, dfn, name, dname):
    """Raises CannotCheck unless ``fn`` and ``dfn`` both keep a drawn z's shape."""
    z = np.random.default_rng(0).uniform(0.1, 0.9, SHAPE)
    try:
        with np.errstate(all="ignore"):
            shapes = np.shape(fn(z.copy())), np.shape(dfn(z.copy()))
    except Exception as exc:
        raise CannotCheck(f"{name}(z) or {dname}(z) raised {type(exc).__name__}: {exc} on z of "
                          f"shape {SHAPE}") from exc
    if shapes != (SHAPE, SHAPE):
        raise CannotCheck(f"{name}(z) and {dname}(z) give shapes {shapes[0]} and {shapes[1]} "
                          f"for z {SHAPE}: not a function and its elementwise derivative "
                          f"(a Jacobian is not checked here)")


def _fd(fn, point, dout):
    with np.errstate(all="ignore"):
        return fd_vjp(lambda arrays: np.asarray(fn(arrays["z"]), np.float64),
                      {"z": point}, dout, rng=np.random.default_rng(3))["z"]


def _result(got, fdg, label, dname, config, note=""):
    mine, theirs, excused = fdg.against(got)
    return compare(mine, theirs, layer=label, prop="derivative_fd", tensor=dname, oracle="fd",
                   dtype="float64", config=config, excused=excused, mode=fdg.mode,
                   note=note, verdict="layer bug",
                   explanation=f"{dname} is not the derivative of the function beside it.",
                   diagnosed=False)


def check_elementwise(fn, dfn, label, name, dname):
    rng = np.random.default_rng(0)
    z = rng.standard_normal(SHAPE)
    dout = rng.standard_normal(SHAPE)
    config = {"z": list(SHAPE), "dout": "random normal"}
    with np.errstate(all="ignore"):
        out = np.asarray(fn(z.copy()), np.float64)
        if out.shape != z.shape or not np.all(np.isfinite(out)):
            z = into_domain(z, (0.0, 1.0))            # a log's or a root's function
            config["z"] = f"{list(SHAPE)} in (0, 1)"
            out = np.asarray(fn(z.copy()), np.float64)
        fdg = _fd(fn, z, dout)
        on_input = np.asarray(dfn(z.copy()), np.float64) * dout
        first = _result(on_input, fdg, label, dname, config)
        if first.passed:
            return [first]
        on_output = np.asarray(dfn(out.copy()), np.float64) * dout
        second = _result(on_output, fdg, label, dname, config, note=OUTPUT_READING)
        if second.passed:       # right only where it is called on the output: shown, as a WARN
            return [replace(second, warning=True, verdict="convention", explanation=(
                f"{dname} is {name}'s derivative read in terms of its output: "
                f"{OUTPUT_READING}"))]
        moved = z.copy()
        moved[0, 0] += 1e-3
        spread = np.asarray(fn(moved), np.float64) != out
    spread[0, 0] = False
    return [replace(first, note=join_notes(first.note, (
        f"{name} is not elementwise: moving z[0, 0] moves other outputs too, so no elementwise "
        f"function is its derivative (a softmax's s * (1 - s) is only its Jacobian's "
        f"diagonal); its backward is the Jacobian-vector product") if spread.any() else ""))]


def _targets(pred, rng):
    """Target candidates for a cost of ``pred``: floats like it, one-hot rows, integer labels."""
    labels = rng.integers(0, pred.shape[-1], pred.shape[:-1])
    yield "float targets like the prediction", rng.standard_normal(pred.shape)
    yield "one-hot targets", np.eye(pred.shape[-1])[labels]
    yield "integer labels", labels


def _cost_setup(fn, dfn, args, at):
    """(prediction, targets, how they were drawn) on which the cost gives one finite number and
    its derivative an array of the prediction's shape, or None."""
    from properties.user_predictions import clipped_to
    rng = np.random.default_rng(0)
    clip = clipped_to(fn, args[at])         # np.clip(p, 1e-15, 1 - 1e-15): flat outside
    for domain in ((clip,) if clip else (None, (0.0, 1.0))):
        pred = rng.standard_normal(SHAPE)
        pred = into_domain(pred, domain) if domain else pred
        for how, target in _targets(pred, rng):
            target = into_domain(target, domain) if domain and target.dtype.kind == "f" else target
            call = _caller(args, at, target)
            try:
                with np.errstate(all="ignore"):
                    value = np.asarray(call(fn, pred), np.float64)
                    grad = np.asarray(call(dfn, pred), np.float64)
            except Exception:
                continue
            if (value.size == 1 or value.shape == pred.shape) and np.isfinite(value).all() \
                    and grad.shape == pred.shape and np.isfinite(grad).all():
                return pred, target, how + (f" and predictions in {domain_text(domain)}"
                                            if domain else "") + (
                    "; the cost is one per element, summed" if value.size > 1 else "")
    return None


def _caller(args, at, target):
    """f(pred) with the targets in every other argument's place."""
    def call(f, pred):
        given = [target] * len(args)
        given[at] = pred
        return f(*[np.array(g, copy=True) for g in given])
    return call


def check_cost(fn, dfn, label, dname, args, at, setup):
    """``setup``: the prediction, targets and their description ``_cost_setup`` found."""
    pred, target, how = setup
    call = _caller(args, at, target)
    config = {args[at]: list(pred.shape), "targets": how}
    with np.errstate(all="ignore"):
        got = np.asarray(call(dfn, pred), np.float64)
        fdg = _fd(lambda p: np.asarray(call(fn, p), np.float64).sum(), pred, np.float64(1.0))
    first = _result(got, fdg, label, dname, config)
    return [first if first.passed else _through_link(fn, dfn, args, at, label, dname) or first]


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# A cost's gradient taken with respect to the logits its predictions came from: numpy-ml's
# CrossEntropy.grad(y, y_pred) = y_pred - y is d/dz of the loss at y_pred = softmax(z)
# (one-hot targets), a sigmoid's BCE likewise at y_pred = sigmoid(z).
def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(np.asarray(z, np.float64) / 2.0))      # (no overflow)


LINKS = (("softmax", _softmax, True), ("sigmoid", _sigmoid, False))


def _through_link(fn, dfn, args, at, label, dname):
    """A ``convention`` warning when ``dfn`` is the cost's gradient with respect to the input
    of a softmax (or a sigmoid) that made the predictions; else None."""
    rng = np.random.default_rng(1)
    z = rng.standard_normal(SHAPE)
    for link_name, link, one_hot in LINKS:
        target = np.eye(SHAPE[-1])[rng.integers(0, SHAPE[-1], SHAPE[0])] if one_hot else \
            rng.uniform(0.1, 0.9, SHAPE)
        call = _caller(args, at, target)
        with np.errstate(all="ignore"):
            got = np.asarray(call(dfn, link(z)), np.float64)
            if got.shape != z.shape or not np.all(np.isfinite(got)):
                continue
            fdg = _fd(lambda zz: np.asarray(call(fn, link(zz)), np.float64).sum(), z,
                      np.float64(1.0))
        config = {"z": list(SHAPE), args[at]: f"{link_name}(z)",
                  "targets": "one-hot rows" if one_hot else "in (0.1, 0.9)"}
        r = _result(got, fdg, label, dname, config)
        if r.passed:
            return replace(r, warning=True, verdict="convention", explanation=(
                f"{dname}({', '.join(args)}) is the gradient with respect to the logits z "
                f"where {args[at]} = {link_name}(z), not with respect to {args[at]}: right where "
                f"its caller skips the {link_name}'s own backward (numpy-ml's CrossEntropy.grad "
                f"is written so), wrong where the {link_name}'s backward is applied after it"))
    return None


# A class with no backward whose value and derivative are two methods: the first of each found.
VALUE_METHODS = ("fn", "function", "func", "loss", "__call__", "activation", "forward", "f")
DERIVATIVE_METHODS = ("gradient", "grad", "derivative", "deriv", "prime", "df", "dfn")
BACKWARDS = ("backward", "backward_pass", "bprop", "bwd", "backward_propagation", "backprop")


def method_pair_item(cls, label, path, module, hint):
    """The derivative-pair item of a class with no backward whose value and derivative are
    methods (``Sigmoid.__call__`` / ``Sigmoid.gradient``), checked on an instance built as any
    class is; None when it has no such pair (or has a backward: a layer). An abstract class is
    nothing to check."""
    from properties.discover import _upstream_first, build_object
    from properties.user_entry import NothingToCheck
    if inspect.isabstract(cls):
        raise NothingToCheck(f"{cls.__name__} is an abstract base class (abc): its subclasses "
                             f"are checked")
    abstract = next((m for m in BACKWARDS if callable(getattr(cls, m, None)) and
                     _not_implemented(getattr(cls, m))), None)
    if abstract:        # a Keras-like base Layer: its backward only raises NotImplementedError
        raise NothingToCheck(f"{cls.__name__}.{abstract} raises NotImplementedError: a base "
                             f"class (its subclasses are checked)")
    if any(callable(getattr(cls, m, None)) for m in BACKWARDS):
        return None
    own = lambda m: any(m in vars(k) for k in cls.__mro__[:-1])     # noqa: E731 (not object's)
    value = next((m for m in VALUE_METHODS if own(m) and callable(getattr(cls, m))), None)
    deriv = next((m for m in DERIVATIVE_METHODS if own(m) and callable(getattr(cls, m))), None)
    if value is None or deriv is None or _upstream_first(cls, deriv):
        return None        # (a grad(dout) is a backward: a layer)
    if any(_not_implemented(getattr(cls, m)) for m in (value, deriv)):
        raise NothingToCheck(f"{cls.__name__}.{value} or .{deriv} is NotImplementedError: a "
                             f"base class (its subclasses are checked)")
    obj = build_object(cls, module, hint)
    name = cls.__name__ + ("" if value == "__call__" else f".{value}")
    return derivative_item(name, getattr(obj, value), f"{cls.__name__}.{deriv}",
                           getattr(obj, deriv), label, path)


def _not_implemented(method):
    """A method whose body is only ``raise NotImplementedError`` (or ``return
    NotImplementedError()``, as some base classes write it), a docstring aside."""
    import ast
    import textwrap
    try:
        body = ast.parse(textwrap.dedent(inspect.getsource(method))).body[0].body
    except (OSError, TypeError, SyntaxError, IndentationError, IndexError, AttributeError):
        return False
    body = [n for n in body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
    return len(body) == 1 and isinstance(body[0], (ast.Raise, ast.Return)) and \
        "NotImplementedError" in ast.dump(body[0])


class _Sigmoid:
    """The activation handed to a cost's ``grad(y, y_pred, z, act_fn)``: ``fn`` and ``grad``."""

    fn = __call__ = staticmethod(_sigmoid)

    def grad(self, x):
        s = _sigmoid(x)
        return s * (1 - s)


def _through_activation(name, fn, dname, dfn, label, path, args):
    """numpy-ml's ``grad(y, y_pred, z, act_fn)``: the cost's gradient with respect to the
    pre-activation z where y_pred = act_fn(z) (handed a sigmoid with ``fn`` and ``grad``),
    against finite differences of z -> cost(y, act_fn(z)); None for another signature."""
    d_args = _required(dfn)
    if len(args) != 2 or len(d_args) != 4 or list(d_args[:2]) != list(args) or \
            "act" not in d_args[3].lower():
        return None
    act = _Sigmoid()

    def check():
        rng = np.random.default_rng(0)
        z, y = rng.standard_normal(SHAPE), rng.uniform(0.1, 0.9, SHAPE)
        with np.errstate(all="ignore"):
            got = np.asarray(dfn(y.copy(), act.fn(z), z.copy(), act), np.float64)
            fdg = _fd(lambda zz: np.asarray(fn(y.copy(), act.fn(zz)), np.float64).sum(), z,
                      np.float64(1.0))
        return [_result(got, fdg, label, dname, {"z": list(SHAPE), args[1]: "sigmoid(z)",
                                                 args[0]: "in (0.1, 0.9)"})]
    return Found(label, path, "derivative", (
        f"{dname}({', '.join(d_args)}) as the gradient of {name}({', '.join(args)}) with respect "
        f"to z where {args[1]} = {d_args[3]}(z), handed a sigmoid with fn and grad, against "
        f"finite differences; z {SHAPE}"), check=check)
