"""The InputSpec a hint line gives: every input the forward takes, named as the forward names it.

    # gradcheck: LSTMCell(3, 5); x=(N, 3); h_prev=(N, 5); c_prev=(N, 5)
    # gradcheck: Embedding(10, 4); idx=int(N, 5)<10
    # gradcheck: temporal_softmax_loss; x=(N, 3, 6); y=int(N, 3)<6; mask=mask(N, 3)

Float arrays are the differentiable inputs (a loss's labels excepted), integer
indices and masks are inputs the layer does not differentiate; the forward
must take its float inputs first. A hint naming something the forward does not
take, or leaving out one it does, is an error naming the hint's line.
"""
import numpy as np

from properties.user_shapes import BATCH, InputSpec
from properties.user_targets import LENGTHS, Target, is_index_name, is_mask_name


class HintError(ValueError):
    """The hint does not fit the layer: the message names the line and what to change."""


def hinted_floats(hint, name):
    """Whether the hint gives ``name`` as floats (``Y=(6, 2)``): an argument named as labels
    (``y``, ``target``) that gets a gradient of its own (a t-SNE embedding, a second point set)
    where the function returns one for it."""
    given = hint.array(name) if hint is not None else None
    return given is not None and given.kind == "float"


def spec_from_hint(hint, names, *, targets=(), params=None, label="", takes=()):
    """The :class:`InputSpec` the hint's arrays give for a forward taking ``names``, or None
    when the hint gives no array.

    targets: the names among ``names`` the layer does not differentiate even when
    they are floats (a loss's labels); params: {name: array} to take an index
    bound from (the first axis of the first 2-D one); takes: further names a
    hint may give (a functional pair's params: their shapes are set elsewhere).
    """
    if hint is None or not hint.arrays:
        return None
    arrays = dict(hint.arrays)
    if names and "x" in arrays and "x" not in names and "x" not in takes and names[0] not in arrays:
        arrays = {names[0] if k == "x" else k: v for k, v in arrays.items()}   # x: the first input
    where = f"the hint on line {hint.line}"
    unknown = [k for k in arrays if k not in names and k not in takes]
    if unknown:
        raise HintError(f"{where} gives {', '.join(unknown)}, which {label}'s forward does not "
                        f"take; its inputs are {', '.join(names) or 'none'}")
    missing = [n for n in names if n not in arrays]
    if missing and not (list(names[:1]) == ["x"] and list(arrays) == ["x"]
                        and arrays["x"].kind == "float" and set(missing) <= set(targets)):
        raise HintError(f"{where} does not give {', '.join(missing)}: give every input "
                        f"{label}'s forward takes, e.g. {example(missing)}")
    given = [n for n in names if n in arrays]
    floats = [n for n in given if arrays[n].kind == "float" and n not in targets]
    others = [n for n in given if n not in floats]
    if others and floats and given.index(others[0]) < given.index(floats[-1]):
        raise HintError(f"{where}: {label}'s forward takes {others[0]} (not differentiated) before "
                        f"{floats[-1]}; the harness passes the float inputs first")
    extras = tuple(_target(n, arrays[n], params, where) for n in others)
    templates = tuple(tuple(arrays[n].shape) for n in floats)
    batched = any(BATCH in t for t in templates) or any(BATCH in (t.template or ()) for t in extras)
    shown = "; ".join([f"{n}={arrays[n].show()}" for n in floats] + [t.describe() for t in extras])
    legacy = len(floats) == 1 and not extras
    domains = tuple(arrays[n].domain or None for n in floats)
    return InputSpec(templates, batched, source="hint", how=f"from the hint: {shown}", extras=extras,
                     names=None if legacy else tuple(floats),
                     target_names=None if legacy else tuple(others),
                     domains=domains if any(domains) else ())


def example(names, params=(), indices=False):
    """``ids=int(N, ...)<V; mask=mask(N, T); x=(N, ...); W=(...)``: a hint's keys to fill in
    (``indices``: the forward used its inputs as indices, so every one is drawn as integers)."""
    def one(n):
        if is_index_name(n) or indices and not is_mask_name(n):
            return f"{n}=int(N)<V"
        if is_mask_name(n):
            return f"{n}=mask(N, T)"
        return f"{n}=int(N)<T" if n.lower() in LENGTHS else f"{n}=(N, ...)"
    return "; ".join([one(n) for n in names] + [f"{p}=2" if p in COUNT_NAMES else f"{p}=(...)"
                                                  for p in params])


# arguments that are counts, not arrays (a group norm's G): a hint gives them as numbers
COUNT_NAMES = ("G", "groups", "num_groups", "n_groups", "num_heads", "n_heads", "heads")


def _target(name, array, params, where):
    if array.kind == "mask":
        return Target(name, "mask", array.shape)
    if array.kind == "float":
        return Target(name, "float", array.shape, domain=array.domain)
    if name.lower() in LENGTHS:      # each sequence's length: 1 to x's steps, never 0
        return Target(name, "lengths", array.shape)
    bound = array.bound or _vocabulary(params)
    if not bound:
        raise HintError(f"{where}: {name}=int{array.show()[3:]} needs its bound, as in "
                        f"{name}=int(N, 5)<10 (no 2-D weight to take the vocabulary from)")
    return Target(name, "index", array.shape, bound)


def _vocabulary(params):
    for value in (params or {}).values():
        if np.ndim(value) == 2:
            return int(np.shape(value)[0])
    return 0
