"""Layers written as PyTorch's ``torch.autograd.Function``: two static methods and a context.

::

    class LinearFunction(Function):
        @staticmethod
        def forward(ctx, x, w, b=None):
            ctx.save_for_backward(x, w)
            return x @ w.T
        @staticmethod
        def backward(ctx, grad_out):
            x, w = ctx.saved_tensors
            return grad_out @ w, grad_out.T @ x, None

Such a class holds no state: whatever backward needs, forward keeps on ``ctx``. It is
checked as a functional pair (``layers.FunctionalLayer``, the way cs231n's
``affine_forward`` / ``affine_backward`` are): the harness makes a fresh context for every
forward (:class:`Context`, with what PyTorch's ``ctx`` offers a NumPy port), hands it to
backward, and reads one gradient per array argument forward was given (backward's ``None``
for a hyperparameter left at its default is dropped). The inputs and params are told apart
by their names, as a functional pair's are; a hint gives their shapes
(``# gradcheck: LinearFunction; x=(N, 3); w=(2, 3)``).
"""
import inspect
import numbers

CTX_NAMES = ("ctx", "context", "self_ctx")


class Context:
    """What a NumPy port of PyTorch's ``ctx`` uses: ``save_for_backward(*arrays)`` and
    ``saved_tensors`` (its older name ``saved_variables`` too), ``needs_input_grad`` (True
    for every argument), the no-ops ``mark_dirty``, ``mark_non_differentiable`` and
    ``set_materialize_grads``; any other attribute the forward sets is kept."""

    def __init__(self, n_args):
        self.needs_input_grad = (True,) * n_args
        self.saved_tensors = ()

    def save_for_backward(self, *arrays):
        self.saved_tensors = tuple(arrays)

    @property
    def saved_variables(self):
        return self.saved_tensors

    def mark_dirty(self, *arrays):
        pass

    def mark_non_differentiable(self, *arrays):
        pass

    def set_materialize_grads(self, value):
        pass


def _plain(cls, name):
    """The function behind ``cls.name`` when it is a static method (or a plain function whose
    first argument is named as a context is), else None."""
    raw = inspect.getattr_static(cls, name, None)
    fn = raw.__func__ if isinstance(raw, staticmethod) else raw
    if not inspect.isfunction(fn):
        return None
    args = [p for p in inspect.signature(fn).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(args) < 2:
        return None
    if isinstance(raw, staticmethod) or args[0].name.lower() in CTX_NAMES:
        return fn
    return None


def is_ctx_function(cls):
    """Whether ``cls`` is written as a ``torch.autograd.Function``: static ``forward(ctx,
    ...)`` and ``backward(ctx, grad, ...)`` (or both with a first argument named ctx)."""
    forward, backward = _plain(cls, "forward"), _plain(cls, "backward")
    if forward is None or backward is None:
        return False
    first = [next(iter(inspect.signature(f).parameters)) for f in (forward, backward)]
    # (a context by another name, the same in both: not data both take first, x or inputs)
    from properties.user_targets import is_data_name
    return all(n.lower() in CTX_NAMES for n in first) or \
        first[0] == first[1] and not is_data_name(first[0]) and first[0].lower() != "a"


def pair_of(cls):
    """(forward, backward) as a functional pair: ``out, ctx = forward(*args)``,
    ``backward(*grads, ctx)`` -> one gradient per array argument forward was given."""
    fwd_fn, bwd_fn = _plain(cls, "forward"), _plain(cls, "backward")
    fwd_sig, bwd_sig = inspect.signature(fwd_fn), inspect.signature(bwd_fn)
    arguments = list(fwd_sig.parameters.values())[1:]
    grads = list(bwd_sig.parameters.values())[1:]
    kept = [k for k, p in enumerate(arguments) if not _hyperparameter(p)]

    def forward(*args):
        ctx = Context(len(arguments))
        out = fwd_fn(ctx, *args)
        return (*out, ctx) if isinstance(out, tuple) else (out, ctx)

    def backward(*grads_and_ctx):
        *upstream, ctx = grads_and_ctx
        got = bwd_fn(ctx, *upstream)
        got = tuple(got) if isinstance(got, (tuple, list)) else (got,)
        # one gradient per argument (PyTorch's rule): those of arguments left at their default
        # (None for a hyperparameter) are not the harness's to read
        if len(got) == len(arguments) and len(kept) < len(arguments):
            got = tuple(got[k] for k in kept)
        return got[0] if len(got) == 1 else got

    forward.__signature__ = fwd_sig.replace(parameters=arguments)
    forward.__name__ = forward.__qualname__ = f"{cls.__name__}.forward"
    forward.__doc__ = inspect.getdoc(fwd_fn) or inspect.getdoc(cls)
    ctx_param = inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    backward.__signature__ = bwd_sig.replace(parameters=[*grads, ctx_param])
    backward.__name__ = backward.__qualname__ = f"{cls.__name__}.backward"
    return forward, backward


def _hyperparameter(p):
    """An argument the harness leaves at its number or string default (as a functional pair's:
    ``discover_functions._arguments``)."""
    return p.default is not p.empty and isinstance(p.default, (numbers.Number, str))


def ctx_function_item(cls, label, path, hint):
    """The Found of a ``torch.autograd.Function``-style class, checked as a functional pair."""
    from properties.discover_functions import functional_item
    forward, backward = pair_of(cls)
    return functional_item(cls.__name__, forward, backward, label, path, hint)
