"""A function and its derivative written beside it: ``sigmoid`` / ``sigmoid_prime``,
``tanh`` / ``tanh_derivative``, ``mse`` / ``mse_grad``, ``relu`` / ``d_relu``.

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
from dataclasses import replace

import numpy as np

from oracle.compare import compare
from oracle.finite_diff import fd_vjp
from oracle.result import join_notes
from properties.user_entry import CannotCheck, Found
from properties.user_targets import _positional as _required
from properties.user_targets import is_target_name
from properties.user_variants import FLOATS_CHANGED
from properties.values import into_domain

SUFFIXES = ("_prime", "_derivative", "_deriv", "_grad", "_gradient", "_der")
PREFIXES = ("d_", "grad_", "d")
SHAPE = (4, 3)
OUTPUT_READING = ("the derivative is written in terms of the function's output, as "
                  "sigmoid_derivative(a) = a * (1 - a) is: right where it is called on a = f(z), "
                  "wrong where it is called on z (a call site this check does not see)")


def derivative_partner(name, names):
    """The name of ``name``'s derivative function among ``names``, or None."""
    for other in [name + s for s in SUFFIXES] + [p + name for p in PREFIXES]:
        if other in names and inspect.isfunction(names[other]):
            return other
    return None


def derivative_item(name, fn, dname, dfn, label, path):
    args = _required(fn)
    if not args or len(_required(dfn)) != len(args):
        raise CannotCheck(f"{dname}{inspect.signature(dfn)} does not take {name}'s arguments "
                          f"{tuple(args)}: not read as its derivative")
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
    """{argument: value}: the float arguments both functions default to 1.0 or 0.0, changed
    (a slip that drops one is right at its default)."""
    try:
        mine, theirs = (inspect.signature(f).parameters for f in (fn, dfn))
    except (TypeError, ValueError):
        return {}
    return {n: FLOATS_CHANGED[p.default] for n, p in mine.items()
            if type(p.default) is float and p.default in FLOATS_CHANGED and n in theirs}


def _derivative_found(name, fn, dname, dfn, label, path, args):
    if len(args) == 1:
        _elementwise_shapes(fn, dfn, name, dname)
        return Found(label, path, "derivative", f"{dname}(z) as the elementwise derivative of "
                     f"{name}(z), against finite differences; z {SHAPE}",
                     check=lambda: check_elementwise(fn, dfn, label, name, dname))
    if not any(is_target_name(a) for a in args):
        return None           # f(x, w) and f_grad(x, w): which argument is meant is not said
    at = next((i for i, a in enumerate(args) if not is_target_name(a)), 0)
    setup = _cost_setup(fn, dfn, args, at)
    if setup is None:
        raise CannotCheck(f"{name}({', '.join(args)}): no drawn {args[at]} and targets made both "
                          f"{name} give one finite number and {dname} an array of "
                          f"{args[at]}'s shape")
    shown = ", ".join(args)
    return Found(label, path, "derivative", f"{dname}({shown}) as the gradient of the cost "
                 f"{name}({shown}) with respect to {args[at]}, against finite differences; "
                 f"{setup[2]}", check=lambda: check_cost(fn, dfn, label, dname, args, at, setup))


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
        if second.passed:
            return [second]
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
    rng = np.random.default_rng(0)
    for domain in (None, (0.0, 1.0)):
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
            if value.size == 1 and np.isfinite(value).all() and grad.shape == pred.shape and \
                    np.isfinite(grad).all():
                return pred, target, how + (" and predictions in (0, 1)" if domain else "")
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
        fdg = _fd(lambda p: np.asarray(call(fn, p), np.float64).reshape(()), pred, np.float64(1.0))
    return [_result(got, fdg, label, dname, config)]
