"""A hand-written autograd engine: micrograd's ``Value`` (one number, ``_backward`` closures,
``backward()`` in topological order) or the same over arrays (a ``Tensor`` whose ops
un-broadcast their gradients). The value class itself has no forward/backward pair, so it was
"a backward() but no forward()", and a slip in any op's backward passed with exit 0.

Each op the class defines is checked on its own, on fresh leaves, against float64 finite
differences of the values it computes (``.data``): the arithmetic operators (``+ - * / @ **``
and their reflected forms with a number, unary minus) and every public method taking no
required argument that returns the class (``tanh``, ``relu``, ``exp``, ``log``, ``sigmoid``,
``sum``, ``mean``, ``softmax``...; over arrays, an ``axis`` argument at 0 and -1 too), and every
one taking one required argument with another value as that argument (``max(other)``); methods
needing other arguments (``cross_entropy(labels)``) are named in the note as not checked. Over
arrays a binary op is also checked with its operands broadcast ((3, 4) with (4,) and with
(3, 1)): the gradient must be summed back to each operand's shape. Then two graphs that
single ops cannot show wrong: an op with the same leaf on both sides (``a * a``: a backward
that assigns ``grad =`` where it must add loses one use), and a graph of several ops in a
row, where a backward walking the topological order the wrong way round gets the order of
the chain rule wrong. Each binary operator is also checked with one leaf on both sides
(``a * a``, ``a + a``), and with a leaf used again after it (``(a + b) * a``: the op's
backward runs after the other use has added its share, which an assignment throws away).

Over arrays the upstream gradient is a random ``dout`` handed to ``backward(dout)``; an engine
whose ``backward()`` takes none seeds ones itself, and the VJP is checked at that (an op whose
output it does not seed with ones is not checked); over numbers ``backward()`` seeds 1.
"""
import inspect
import operator
from dataclasses import replace

import numpy as np

from oracle.compare import compare
from oracle.finite_diff import fd_vjp
from oracle.result import Result, join_notes
from properties.user_entry import Found

BINARY = {"__add__": operator.add, "__sub__": operator.sub, "__mul__": operator.mul,
          "__truediv__": operator.truediv, "__matmul__": operator.matmul}
WITH_NUMBER = {"__radd__": lambda a: 2.5 + a, "__rsub__": lambda a: 2.5 - a,
               "__rmul__": lambda a: 2.5 * a, "__rtruediv__": lambda a: 2.5 / a,
               "__neg__": operator.neg, "__pow__": lambda a: a ** 3}
NOT_OPS = {"backward", "zero_grad", "item", "numpy", "tolist", "parameters", "detach",
           "build_topo", "topo", "copy", "clone", "size", "dim", "numel"}
SHAPE = (3, 4)


def is_autograd_class(cls):
    """A class of values with ``backward()`` (no upstream gradient required) and its own
    ``+``, ``*`` or ``@``, built from its data."""
    backward = getattr(cls, "backward", None)
    if not callable(backward) or not any(any(m in vars(k) for k in cls.__mro__[:-1])
                                         for m in ("__add__", "__mul__", "__matmul__")):
        return False
    try:
        params = list(inspect.signature(backward).parameters.values())[1:]
        first = list(inspect.signature(cls).parameters)[:1]
    except (TypeError, ValueError):
        return False
    return all(p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
               for p in params) and bool(first)


class Engine:
    """How to make leaves of the user's value class and run its backward."""

    def __init__(self, cls):
        self.cls = cls
        names = inspect.signature(cls).parameters
        self.requires_grad = "requires_grad" in names
        back = list(inspect.signature(cls.backward).parameters)[1:]
        self.takes_dout = bool(back)
        has = lambda m: any(m in vars(k) for k in cls.__mro__[:-1])     # noqa: E731
        self.arrays = has("__matmul__") or has("sum") or self.takes_dout
        self.kind = "arrays" if self.arrays else "numbers"

    def leaf(self, x):
        x = np.array(x, dtype=np.float64) if self.arrays else float(x)
        return self.cls(x, requires_grad=True) if self.requires_grad else self.cls(x)

    def value(self, out):
        return np.asarray(getattr(out, "data", out), dtype=np.float64)

    def run(self, fn, xs, dout):
        """(out's value, each leaf's gradient) of ``fn(*leaves)`` with ``dout`` upstream."""
        leaves = [self.leaf(x) for x in xs]
        out = fn(*leaves)
        if not isinstance(out, self.cls):
            raise TypeError(f"returned {type(out).__name__}, not {self.cls.__name__}")
        if self.takes_dout:
            out.backward(np.array(dout, dtype=np.float64))
        else:       # backward() seeds the output's gradient itself: ones, where it says so
            out.backward()
            seeded = getattr(out, "grad", None)
            if seeded is None or np.shape(seeded) not in ((), np.shape(self.value(out))) or \
                    not np.all(np.asarray(seeded, np.float64) == 1.0):
                raise NotScalar()
        grads = [getattr(leaf, "grad", None) for leaf in leaves]
        return self.value(out), [None if g is None else np.asarray(g, np.float64) for g in grads]


class NotScalar(Exception):
    """``backward()`` takes no upstream gradient and did not seed the output's with ones."""


def ops(cls, engine):
    """[(name, fn of leaves, arity, domain)] of every op ``cls`` defines (module docstring)."""
    own = {}
    for k in reversed(cls.__mro__[:-1]):
        own.update(vars(k))
    out = [(n, f, 2) for n, f in BINARY.items() if n in own and (engine.arrays or n != "__matmul__")]
    # the same leaf on both sides: a backward assigning grad = where it must add loses one use
    out += [(f"{n}(a, a)", lambda a, f=f: f(a, a), 1) for n, f in BINARY.items()
            if n in own and n != "__matmul__"]
    # ... and a leaf used again after the op, whose backward then runs second
    out += [(f"{n}({x}) * a", lambda a, b, f=f, x=x: (f(a, b) if x == "a, b" else f(b, a)) * a, 2)
            for n, f in BINARY.items() if n in own and n != "__matmul__" and "__mul__" in own
            for x in ("a, b", "b, a")]
    out += [(n, f, 1) for n, f in WITH_NUMBER.items() if n in own]
    for name, member in own.items():
        if name.startswith("_") or name in NOT_OPS or not inspect.isfunction(member):
            continue
        try:
            params = list(inspect.signature(member).parameters.values())[1:]
        except (TypeError, ValueError):
            continue
        required = [p for p in params if p.default is p.empty and
                    p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        if len(required) == 1:       # max(other), pow(other): another value, the op's second leaf
            out.append((f"{name}(b)", lambda a, b, name=name: getattr(a, name)(b), 2))
            continue
        if required:                 # (cross_entropy(labels)...: named in the results' note)
            out.append((f"{name}({', '.join(p.name for p in required)})", None, 0))
            continue
        out.append((name, lambda a, name=name: getattr(a, name)(), 1))
        if engine.arrays and any(p.name == "axis" for p in params):
            for axis in (0, -1):
                out.append((f"{name}(axis={axis})",
                            lambda a, name=name, axis=axis: getattr(a, name)(axis=axis), 1))
    return out


def _draws(engine, name, arity, rng):
    """Input sets to try for an op: shapes, then a positive domain where the signed one is not
    finite (a log, a root, a fractional power)."""
    if not engine.arrays:
        shapes = [[()] * arity]
    elif name == "__matmul__":
        shapes = [[(3, 4), (4, 2)]]
    elif name.endswith(("(b)", "(a, b)")):    # a method of another value, a module function:
        shapes = [[SHAPE, SHAPE], [(3, 4), (4, 2)]]      # elementwise, else as a matmul
    elif arity == 2:
        shapes = [[SHAPE, SHAPE], [SHAPE, SHAPE[-1:]], [SHAPE, (SHAPE[0], 1)]]
    else:
        shapes = [[SHAPE]]
    for shape_set in shapes:
        signs = [rng.choice([-1.0, 1.0], size=s) for s in shape_set]
        mags = [rng.uniform(0.5, 1.5, size=s) for s in shape_set]
        yield [m * g for m, g in zip(mags, signs)]
        yield mags


def _check_one(engine, label, name, fn, xs, rng):
    """Results (one per leaf) of ``fn`` at ``xs``, or None when the op does not take these."""
    try:
        with np.errstate(all="ignore"):
            value = engine.value(fn(*[engine.leaf(x) for x in xs]))
    except Exception:
        return None
    if not np.all(np.isfinite(value)):
        return None
    dout = rng.standard_normal(value.shape) if engine.takes_dout else np.ones(value.shape)
    config = {"op": name, "inputs": [list(np.shape(x)) for x in xs], "engine": engine.kind}
    try:
        with np.errstate(all="ignore"):
            _, grads = engine.run(fn, xs, dout)
    except NotScalar:
        return []
    except Exception as exc:
        return [Result(layer=label, prop="op_grad", tensor=name, oracle="law", passed=False,
                       dtype="float64", config=config, ratio=float("inf"), verdict="layer raised",
                       explanation=f"{engine.cls.__name__}'s backward through {name} raised",
                       note=f"{type(exc).__name__}: {exc}")]
    arrays = {f"x{i}": np.asarray(x, np.float64) for i, x in enumerate(xs)}

    def forward(a):
        return engine.value(fn(*[engine.leaf(a[f"x{i}"]) for i in range(len(xs))]))
    with np.errstate(all="ignore"):
        fd = fd_vjp(forward, arrays, np.asarray(dout, np.float64), rng=np.random.default_rng(5))
    results = []
    for i, g in enumerate(grads):
        leaf = "ab"[i] if len(xs) == 2 else "a"
        tensor = f"{name}: d/d{leaf}"
        if g is None:
            g = np.zeros(np.shape(xs[i]))
        mine, theirs, excused = fd[f"x{i}"].against(g)
        results.append(compare(mine, theirs, layer=label, prop="op_grad", tensor=tensor,
                               oracle="fd", dtype="float64", config=config, excused=excused,
                               mode=fd[f"x{i}"].mode, verdict="layer bug", explanation=(
                                   f"the gradient {engine.cls.__name__}'s backward leaves in "
                                   f"{leaf}.grad through {name} is not the derivative of the "
                                   f"value {name} computes")))
    return results


def composites(cls, engine):
    """Graphs of several ops on two leaves: each leaf used by several ops, and a chain (none
    without both + and *)."""
    if not all(callable(getattr(cls, m, None)) for m in ("__add__", "__mul__")):
        return []
    has_tanh = callable(getattr(cls, "tanh", None))
    squash = (lambda v: v.tanh()) if has_tanh else (lambda v: v * v)
    return [("a * a + b * a + a", lambda a, b: a * a + b * a + a, 2),
            ("((a * b + a).tanh() * b + a" if has_tanh else "(a * b + a) * (a * b + a) * b + a",
             lambda a, b: squash(a * b + a) * b + a, 2)]


def module_ops(cls, module):
    """[(name, fn of leaves, arity)] of the module's functions that take one or two values of
    ``cls`` and return one (an engine whose ops are ``add(a, b)``, ``relu(a)``); the binary ones
    also with one leaf on both sides."""
    if module is None:
        return []
    engine, out = Engine(cls), []
    for name, fn in vars(module).items():
        if name.startswith("_") or not inspect.isfunction(fn) or \
                getattr(fn, "__module__", None) != module.__name__:
            continue
        n = len([p for p in inspect.signature(fn).parameters.values() if p.default is p.empty
                 and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)])
        if n not in (1, 2):
            continue
        try:
            with np.errstate(all="ignore"):
                made = fn(*[engine.leaf(np.full((3, 3) if engine.arrays else (), 0.7))
                            for _ in range(n)])
        except Exception:
            continue
        if isinstance(made, cls):
            out.append((f"{name}({'a, b' if n == 2 else 'a'})", fn, n))
            if n == 2:
                out.append((f"{name}(a, a)", lambda a, fn=fn: fn(a, a), 1))
    return out


def is_functional_engine(cls, module):
    """A class with ``backward()`` and no operators of its own whose ops are module functions."""
    backward = getattr(cls, "backward", None)
    if not callable(backward) or is_autograd_class(cls):
        return False
    try:
        params = list(inspect.signature(backward).parameters.values())[1:]
        list(inspect.signature(cls).parameters)[0]
    except (TypeError, ValueError, IndexError):
        return False
    return all(p.default is not p.empty for p in params) and bool(module_ops(cls, module))


def check_engine(cls, label, module=None):
    engine = Engine(cls)
    rng = np.random.default_rng(0)
    results, unchecked = [], []
    checked = ops(cls, engine) + composites(cls, engine) + module_ops(cls, module)
    for name, fn, arity in checked:
        got = None
        for xs in (_draws(engine, name, arity, rng) if fn is not None else ()):
            one = _check_one(engine, label, name, fn, xs, rng)
            if one is None:
                continue
            got = (got or []) + one
            if engine.arrays and name in BINARY and name != "__matmul__":
                continue          # every broadcast shape set, each in its first domain
            break
        if got is None:
            unchecked.append(name)
        results += got or []
    if unchecked and results:     # (reshape() with no shape, an op of one sign only...)
        results[0] = replace(results[0], note=join_notes(results[0].note, (
            f"not checked: {', '.join(unchecked)} (no drawn input made them run to a finite "
            f"value, or they need arguments other than one value of the class)")))
    return results


def autograd_item(cls, label, path, module=None):
    engine = Engine(cls)
    names = [n for n, fn, _ in ops(cls, engine) + composites(cls, engine)
             + module_ops(cls, module) if fn is not None]
    return Found(label, path, "autograd", (
        f"autograd engine over {engine.kind}: the backward of {', '.join(names)}, each against "
        f"finite differences of .data"),
        check=lambda: check_engine(cls, label, module))
