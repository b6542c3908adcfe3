"""The param shapes a functional pair (``affine_forward(x, w, b)``) is tried with: placeholders
by name, the alternatives a weight's layout or a group count calls for, the docstring's, and
those a hint gives or implies (``properties.discover_functions`` runs the layer on each)."""
import re

import numpy as np

from properties.user_entry import CannotCheck
from properties.user_recurrent import recurrent_placeholders
from properties.user_doc_shapes import doc_param_shapes


def param_choices(params, base, stateful, counts, doc):
    """([{param: shape}] to try, most likely first; the docstring's choice or None)."""
    choices = recurrent_placeholders(params, base, stateful) or \
        [{p: np.shape(_placeholder(p, base)) for p in params}]
    matrix = next((s for s in (choices[0].values() if len(choices) == 1 else ()) if len(s) == 2),
                  None)
    if matrix is not None:
        # tried when on the first placeholders no gradient comes out in its tensor's shape:
        # a weight stored (out, in) as PyTorch's (x @ w.T + b: b as long as w's first axis),
        # and a weight applied elementwise (x * w, w of shape (D,))
        choices.append({p: (matrix[0],) if len(s) == 1 else s for p, s in choices[0].items()})
        choices.append({p: s[-1:] for p, s in choices[0].items()})
    if counts:     # a group norm's per-channel params: channels a multiple of its G (2)
        choices += [{p: (4,) if len(s) == 1 else s for p, s in choices[0].items()},
                    {p: (1, 4, 1, 1) if len(s) == 1 else s for p, s in choices[0].items()}]
    documented = doc_param_shapes(doc, params)     # (``w: ... shape (K, D, M)``: a maxout's)
    if documented and documented not in choices:
        choices.append(documented)
    some = doc_param_shapes(doc, params, every=False)   # (a bias it leaves out: guessed, then
    if some and not documented:                         # one number, or an axis's size)
        guessed = {p: some.get(p, s) for p, s in choices[0].items()}
        sizes = dict.fromkeys([1, *(d for shape in some.values() for d in shape)])
        choices += [guessed] + [{p: (k,) if p not in some and len(s) == 1 else s
                                 for p, s in guessed.items()} for k in sizes]
    return choices, documented


def completions(hinted, guessed):
    """Param shapes: the hint's, and for the others the placeholders' guess, then (a bias the hint
    left out) each size of the hinted params' axes, for every 1-D param at once."""
    if not any(hinted.values()):
        yield dict(guessed)
        return
    yield {p: hinted[p] or guessed[p] for p in guessed}
    left = [p for p in guessed if hinted[p] is None and len(guessed[p]) == 1]
    sizes = dict.fromkeys(d for shape in hinted.values() if shape for d in shape)
    for size in sizes:
        if left:
            yield {p: hinted[p] or ((size,) if p in left else guessed[p]) for p in guessed}


def hinted_inputs(hint, data):
    """The shapes of the float inputs the hint gives."""
    given = [hint.array(d) for d in data] if hint is not None else []
    return [tuple(a.shape) for a in given if a is not None and a.kind == "float" and a.shape]


def hinted_widths(hint, data):
    """The last axes of the inputs the hint gives (float arrays), in order, each once."""
    return list(dict.fromkeys(s[-1] for s in hinted_inputs(hint, data) if isinstance(s[-1], int)))


def from_channels(hinted, shapes):
    """Per-channel params for what the hint left out, from an image's or a sequence's channel
    axis C (axis 1 of (N, C, H, W) or (N, C, L)): a gain or shift (C,), then (1, C, 1, 1) as
    cs231n's group norm keeps them."""
    for c, rank in dict.fromkeys((s[1], len(s)) for s in shapes
                                 if len(s) >= 3 and isinstance(s[1], int)):
        for shape in ((c,), (1, c) + (1,) * (rank - 2)):
            yield {p: hinted[p] or shape for p in hinted}


def from_widths(hinted, widths):
    """Param shapes sized from an input's width D, for what the hint left out: a bias, gain or
    shift (D,) and a weight (D, D) (attention's Wq, Wk, Wv, Wo), then every one (D, D)."""
    vector = lambda p: p.lower().startswith(("b", "gamma", "beta", "g", "scale", "shift"))  # noqa: E731
    for d in widths:
        yield {p: hinted[p] or ((d,) if vector(p) else (d, d)) for p in hinted}
        yield {p: hinted[p] or (d, d) for p in hinted}


def hinted_shape(hint, param, default, name):
    given = hint.array(param) if hint is not None else None
    if given is None:
        return default
    if given.kind != "float" or "N" in given.shape:
        raise CannotCheck(f"the hint on line {hint.line} gives {param}={given.show()}, but {param} "
                          f"is a parameter of {name}: give its shape, e.g. {param}=(10, 4)")
    return tuple(given.shape)


def _placeholder(p, base):
    conv = "conv" in base
    low = p.lower()
    if low in ("w", "weight", "weights") or p[:1] == "W" or re.match(r"(w|weight)s?(\d|_)", low):
        return np.zeros((2, 3, 3, 3) if conv else (4, 3))      # (W1, W_self, Wq too)
    if low in ("b", "bias"):
        return np.zeros(2 if conv else 3)
    return np.zeros(3)
