"""Recurrent language models written as WildML's RNN tutorial writes them: the weights as
attributes (``self.U``, ``self.V``, ``self.W``, a GRU's or LSTM's more), ``bptt(x, y)``
returning their gradients as a list (``[dLdU, dLdV, dLdW]``) for one sentence of word indices
``x`` and its targets ``y``, and ``calculate_total_loss`` (or ``calculate_loss``) giving the
loss. The class has a forward_propagation and no backward, so it was "no gradient to check".

It is now checked as a network (``owncode_networks.check_network``): each gradient against
finite differences of the sentence's loss, ``calculate_total_loss([x], [y])`` (a list of
sentences, as the tutorial takes it; one sentence where that is what it takes), at the initial
weights and after moving them in place. The list is read in the order the constructor made
the weights when its shapes say so, else each gradient by its weight's shape. The model is
built with ``word_dim`` 8 and ``hidden_dim`` 5 (where it takes them), and the sentence is as
long as ``bptt_truncate`` allows backprop through time to be exact (truncation is a
documented approximation, not a slip): ``bptt_truncate + 1`` steps, at most 6.
"""
import inspect

import numpy as np

from properties.user_entry import CannotCheck, Found
from properties.user_targets import _positional

WORD_DIM, HIDDEN_DIM, LONGEST = 8, 5, 6
LOSSES = ("calculate_total_loss", "calculate_loss", "total_loss", "loss")


def is_bptt_model(cls):
    bptt = getattr(cls, "bptt", None)
    return callable(bptt) and len(_positional(bptt)) == 3 and any(
        callable(getattr(cls, n, None)) and len(_positional(getattr(cls, n))) == 3
        for n in LOSSES)


class BpttNetwork:
    """A WildML model as a network with ``loss(x, t)`` / ``gradient(x, t)``; ``params`` are its
    own weight attributes (live)."""

    batch_axis = 0

    def __init__(self, model, names, loss_name, listed, mapping):
        self.model, self._names, self._loss = model, names, loss_name
        self._listed, self._mapping = listed, mapping      # (sentences as lists; grad index)
        self.calls = ("bptt(x, y)", f"{loss_name}({'[x], [y]' if listed else 'x, y'})")

    @property
    def params(self):
        return {n: getattr(self.model, n) for n in self._names}

    def loss(self, x, t):
        x, t = [int(i) for i in x], [int(i) for i in t]
        args = ([x], [t]) if self._listed else (x, t)
        return float(getattr(self.model, self._loss)(*args))

    def gradient(self, x, t):
        grads = self.model.bptt([int(i) for i in x], [int(i) for i in t])
        return {n: np.asarray(grads[i]) for n, i in self._mapping.items()}


def bptt_item(cls, label, path, module, hint):
    from properties.discover import build_object
    from properties.owncode_networks import check_network
    given = {k: v for k, v in (("word_dim", WORD_DIM), ("hidden_dim", HIDDEN_DIM))
             if k in inspect.signature(cls).parameters}
    if hint is not None and hint.build:
        given = {}

    def build():
        return build_object(cls, module, hint, given or None)
    model = build()
    names = [k for k, v in vars(model).items() if isinstance(v, np.ndarray) and v.dtype.kind == "f"]
    vocab = next((int(v) for k, v in vars(model).items() if k in ("word_dim", "vocab_size",
                                                                  "vocabulary_size")), WORD_DIM)
    trunc = getattr(model, "bptt_truncate", None)
    steps = LONGEST if not isinstance(trunc, int) or trunc < 0 else max(2, min(LONGEST, trunc + 1))
    rng = np.random.default_rng(0)
    x = rng.integers(0, vocab, steps)
    y = np.concatenate([x[1:], rng.integers(0, vocab, 1)])
    loss_name, listed = _loss_form(model, x, y)
    try:
        grads = model.bptt([int(i) for i in x], [int(i) for i in y])
    except Exception as exc:
        raise CannotCheck(f"{cls.__name__}.bptt(x, y) raised {type(exc).__name__}: {exc} on a "
                          f"sentence of {steps} word indices < {vocab}") from exc
    mapping = _mapping(names, [np.shape(getattr(model, n)) for n in names],
                       [np.shape(g) for g in grads], cls.__name__)

    def make():
        return BpttNetwork(build(), names, loss_name, listed, mapping)
    said = f"; bptt_truncate {trunc}: a sentence of {steps} steps, where it is exact" \
        if isinstance(trunc, int) and trunc >= 0 else ""
    return Found(label, path, "network", (
        f"recurrent model with bptt(x, y) -> [{', '.join('d' + n for n in mapping)}] (WildML's), "
        f"its loss {make().calls[1]}; a sentence of {steps} word indices < {vocab}{said}"),
        check=lambda: check_network(make, x, y, label=label))


def _loss_form(model, x, y):
    """(the loss method's name, whether it takes lists of sentences)."""
    for name in LOSSES:
        fn = getattr(model, name, None)
        if not callable(fn) or len(_positional(fn)) != 2:
            continue
        for listed in (True, False):
            args = ([list(map(int, x))], [list(map(int, y))]) if listed else \
                (list(map(int, x)), list(map(int, y)))
            try:
                with np.errstate(all="ignore"):
                    value = float(fn(*args))
            except Exception:
                continue
            if np.isfinite(value):
                return name, listed
    raise CannotCheck(f"{type(model).__name__}: none of {', '.join(LOSSES)} gave a finite loss "
                      f"for one sentence (as [x], [y] or as x, y)")


def _mapping(names, shapes, grad_shapes, cls_name):
    """{param name: index in bptt's list}: by the constructor's order where every shape fits,
    else by each shape where it names one weight."""
    if len(grad_shapes) == len(shapes) and list(grad_shapes) == list(shapes):
        return {n: i for i, n in enumerate(names)}
    mapping = {}
    for i, g in enumerate(grad_shapes):
        owners = [n for n, s in zip(names, shapes) if s == g]
        if len(owners) != 1 or owners[0] in mapping:
            raise CannotCheck(f"{cls_name}.bptt returns gradients of shapes {list(grad_shapes)}, "
                              f"which cannot be matched one to one with its weights "
                              f"{dict(zip(names, shapes))}")
        mapping[owners[0]] = i
    return mapping
