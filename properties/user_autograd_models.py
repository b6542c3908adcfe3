"""Modules built on a hand-written autograd engine (micrograd's ``Neuron`` / ``Layer`` /
``MLP``, a ``Linear`` over Tensors): ``parameters()`` holding the engine's values, a pass
(``__call__`` or ``forward``), no backward of their own. Each is checked whole: every
parameter's ``.grad`` after ``backward()`` of a random weighted sum of its outputs, against finite
differences of that sum with respect to the parameters' ``.data``.
"""
import numpy as np

from oracle.compare import compare
from oracle.finite_diff import fd_vjp
from properties.user_autograd import Engine, is_autograd_class
from properties.user_entry import Found

IN_NAMES = ("nin", "n_in", "in_features", "input_size", "in_dim", "input_dim", "fan_in")


def is_engine_model(cls):
    """``parameters()`` and a pass (``__call__`` or ``forward``), no backward of its own."""
    own = lambda m: any(m in vars(k) for k in cls.__mro__[:-1])     # noqa: E731
    return callable(getattr(cls, "parameters", None)) and (own("__call__") or own("forward")) \
        and not callable(getattr(cls, "backward", None)) and not is_autograd_class(cls)


def engine_model_item(cls, label, path, module, hint):
    """The model checked whole: every parameter's ``.grad`` after ``backward()`` from a weighted
    sum of its outputs, against finite differences of that sum with respect to ``.data``; None
    when ``parameters()`` holds no values of an engine (a model of another kind)."""
    from properties.discover import build_object
    from properties.user_entry import CannotCheck
    try:
        model = build_object(cls, module, hint)
        params = list(model.parameters())
    except CannotCheck:
        raise
    except Exception as exc:
        raise CannotCheck(f"{cls.__name__}: building it and reading parameters() raised "
                          f"{type(exc).__name__}: {exc}") from exc
    if not params or not all(hasattr(p, "data") and hasattr(p, "grad") for p in params):
        return None
    value_cls = type(params[0])
    if not is_autograd_class(value_cls):
        return None
    built = _built_sizes(cls, model)
    n_in = next((v for k, v in built.items() if k in IN_NAMES), None) or next(
        (v[0] for v in built.values() if isinstance(v, list) and v and isinstance(v[0], int)),
        None)      # (MLP(sizes): the first size)
    if n_in is None:       # (as before: a model without a gradient of its own, not checked)
        return None
    check = ModelCheck(lambda: build_object(cls, module, hint), value_cls, n_in)
    if not check.runs:
        raise CannotCheck(f"{cls.__name__}: its forward ran on neither ({2}, {n_in}) nor "
                          f"({n_in}, {2}) {value_cls.__name__}s, or the weighted sum of its "
                          f"outputs (a * w).sum() (or .mean() * its size) could not be taken")
    return Found(label, path, "autograd", (
        f"model on {value_cls.__name__}: every parameters()'s .grad after backward() of a "
        f"weighted sum of its outputs, against finite differences of that sum; input size "
        f"{n_in}"), check=lambda: check.results(label))


def _built_sizes(cls, model):
    """The constructor's arguments as built (the harness's guesses), by name."""
    from properties.user_build import constructor_args
    try:
        return dict(constructor_args(cls))
    except Exception:
        return {k: v for k, v in vars(model).items() if isinstance(v, int)}


class ModelCheck:
    def __init__(self, build, value_cls, n_in):
        self.build, self.engine, self.n_in = build, Engine(value_cls), n_in
        rng = np.random.default_rng(0)
        self.x, self.runs = list(rng.uniform(-1.0, 1.0, n_in)), not self.engine.arrays
        if self.engine.arrays:      # examples as rows, else as columns (a column-major model)
            for shape in ((2, n_in), (n_in, 2)):
                self.x = rng.standard_normal(shape)
                try:
                    self._total(self._model(), [np.ones(1)] * 8)
                except Exception:
                    continue
                self.runs = True
                break

    def _model(self):
        from properties.owncode_networks import seeded
        with seeded():
            return self.build()

    def _input(self):
        return self.engine.cls(np.array(self.x)) if self.engine.arrays else list(self.x)

    def _total(self, model, weights):
        call = model.forward if callable(getattr(model, "forward", None)) else model
        out = call(self._input())
        outs = out if isinstance(out, (list, tuple)) else [out]
        terms = [self._summed(o * self.engine.cls(w)) for o, w in zip(outs, weights)] \
            if self.engine.arrays else [o * float(w) for o, w in zip(outs, weights)]
        total = terms[0]
        for t in terms[1:]:      # (no 0 + value: an engine may have no __radd__)
            total = total + t
        return total

    @staticmethod
    def _summed(v):
        """v.sum(), or v.mean() times its size where the engine has no sum."""
        if callable(getattr(v, "sum", None)):
            return v.sum()
        return v.mean() * float(np.size(v.data))

    def results(self, label):
        model = self._model()
        params = list(model.parameters())
        rng = np.random.default_rng(1)
        call = model.forward if callable(getattr(model, "forward", None)) else model
        first = call(self._input())     # (its outputs' shapes, for the weights of the sum)
        weights = [rng.standard_normal(np.shape(self.engine.value(o)))
                   for o in (first if isinstance(first, (list, tuple)) else [first])]
        self._total(model, weights).backward()
        got = np.concatenate([np.ravel(np.asarray(p.grad if p.grad is not None else
                                                  np.zeros(np.shape(p.data)), np.float64))
                              for p in params])
        theta0 = np.concatenate([np.ravel(np.asarray(p.data, np.float64)) for p in params])

        def total_at(arrays):
            fresh = self._model()
            ps, at = list(fresh.parameters()), 0
            for p in ps:
                size = int(np.size(p.data))
                piece = arrays["theta"][at:at + size]
                p.data = piece.reshape(np.shape(p.data)) if self.engine.arrays else float(piece[0])
                at += size
            return np.asarray(self.engine.value(self._total(fresh, weights)), np.float64)
        fd = fd_vjp(total_at, {"theta": theta0}, np.float64(1.0), rng=np.random.default_rng(2))
        mine, theirs, excused = fd["theta"].against(got)
        return [compare(mine, theirs, layer=label, prop="op_grad", tensor="parameters()",
                        oracle="fd", dtype="float64", excused=excused, mode=fd["theta"].mode,
                        config={"input": list(np.shape(self.x)), "params": len(params)},
                        verdict="layer bug", explanation=(
                            "the .grad backward() leaves in the model's parameters is not the "
                            "derivative of its outputs' weighted sum: its ops, or how the model "
                            "joins them, are wrong"))]
