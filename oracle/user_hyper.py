"""Read a user's layer the way a twin needs it: hyperparameters, param roles, name words, masks.

Users keep hyperparameters under many names and in many places: an attribute
of their object (``self.stride``), a key of the options dict a functional
layer takes (``conv_param['stride']``), an attribute of the object a
self-updating adapter wraps. :func:`hyper` looks in all of them, through the
adapter, so a twin reads the value at call time exactly as the layer sees it.
"""
import re

import numpy as np

MISSING = object()


def places(layer):
    """The adapter itself, then the user's object it wraps (``layer`` / ``obj``)."""
    yield layer
    for attr in ("layer", "obj"):
        inner = getattr(layer, "__dict__", {}).get(attr)
        if inner is not None:
            yield inner


def hyper(layer, names, default=MISSING):
    """The first of ``names`` set on ``layer`` (or the user's object / options dict it wraps).

    Returns ``default`` when none is set; without a default, raises a
    LookupError naming the layer and the names looked for.
    """
    found = find_hyper(layer, names)
    if found is not None:
        return found[1]
    if default is not MISSING:
        return default
    raise LookupError(f"{describe(layer)} has none of the hyperparameters {list(names)}")


def find_hyper(layer, names):
    """(name, value) of the first of ``names`` set (not None) on ``layer``; None when none is."""
    for place in places(layer):
        for name in names:
            try:
                value = getattr(place, name)
            except Exception:        # an adapter's __getattr__ raises for unknown names
                continue
            if value is not None and not callable(value):
                return name, value
    return None


def pair(value, what):
    """An int or a 2-sequence as a pair of ints: stride 2 -> (2, 2)."""
    if isinstance(value, (int, np.integer)):
        return int(value), int(value)
    if isinstance(value, str) and value.lower() == "valid":   # Keras's name for no padding
        return 0, 0
    try:
        seq = () if isinstance(value, str) else tuple(int(v) for v in value)
    except (TypeError, ValueError):
        seq = ()          # a float, an object: not a size this reads
    if len(seq) != 2:
        raise ValueError(f"{what} must be an int or a pair, got {value!r}")
    return seq


def words(name):
    """The name lowercased with every separator dropped: "SoftmaxWithLoss" -> "softmaxwithloss"."""
    return re.sub(r"[^a-z0-9]", "", (name or "").lower())


def tokens(name):
    """The name's words: "max_pool_forward_fast" and "MaxPoolForward" -> ["max", "pool", "forward", ...]."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name or "")
    return [t for t in re.split(r"[^a-z0-9]+", spaced.lower()) if t]


def describe(layer):
    return getattr(layer, "name", None) or type(layer).__name__


def split_params(params):
    """Names of a dense or conv layer's weight (the one array of ndim >= 2) and bias (1-D, or a
    bias-named row (1, M)), or None.

    Returns (weight, bias) with bias None when the layer has no bias, or None
    when the params are not one weight and at most one bias.
    """
    names = list(params)
    weights = [n for n in names if np.ndim(params[n]) >= 2]
    rows = [n for n in weights if np.ndim(params[n]) == 2 and 1 in np.shape(params[n])[:2]
            and _bias_name(n)]      # a bias kept as one row (1, M) or column (F, 1), broadcast
    if len(weights) == 2 and len(rows) == 1:
        weights.remove(rows[0])
    others = [n for n in names if n not in weights]
    if len(weights) != 1 or len(others) > 1:
        return None
    bias = others[0] if others else None
    if bias is not None and np.ndim(params[bias]) > 2:
        return None
    return weights[0], bias


SCALE_NAMES = ("gamma", "weight", "scale", "g", "w", "gain")
SHIFT_NAMES = ("beta", "bias", "shift", "b", "offset")


def norm_roles(params):
    """(scale, shift) names of a normalisation layer's two same-shape 1-D params, or None.

    Roles come from the names (gamma / beta, weight / bias, ...); when the names
    say nothing, both orders are returned for probing to decide.
    """
    names = list(params)
    if len(names) != 2 or any(np.ndim(params[n]) != 1 for n in names) \
            or np.shape(params[names[0]]) != np.shape(params[names[1]]):
        return []
    a, b = names
    if a.lower() in SHIFT_NAMES or b.lower() in SCALE_NAMES:
        return [(b, a)]
    if a.lower() in SCALE_NAMES or b.lower() in SHIFT_NAMES:
        return [(a, b)]
    return [(a, b), (b, a)]


MASK_NAMES = ("mask", "drop_mask", "dropout_mask", "keep_mask", "last_mask")


def drawn_mask(layer, shape):
    """The mask the layer drew in its last forward, as 0/1 float64 of ``shape``, or None.

    Looks for a mask attribute (``self.mask``), then in a functional layer's
    cache (cs231n's ``cache = (dropout_param, mask)``) for the one array of
    ``shape`` that is boolean or holds a single nonzero value besides 0.
    """
    shape = tuple(shape)
    for place in places(layer):
        for name in MASK_NAMES:
            value = getattr(place, "__dict__", {}).get(name)
            if isinstance(value, np.ndarray) and value.shape == shape:
                return (value != 0).astype(np.float64)
    cache = getattr(layer, "__dict__", {}).get("_cache")
    for item in _flatten(cache):
        if isinstance(item, np.ndarray) and item.shape == shape and _mask_like(item):
            return (item != 0).astype(np.float64)
    return None


def _flatten(obj, depth=0):
    if depth > 3:
        return
    if isinstance(obj, (tuple, list)):
        for item in obj:
            yield from _flatten(item, depth + 1)
    elif isinstance(obj, dict):
        for item in obj.values():
            yield from _flatten(item, depth + 1)
    else:
        yield obj


def _mask_like(a):
    if a.dtype == bool:
        return True
    nonzero = np.unique(a[a != 0])
    return nonzero.size <= 1


GATES = {"lstm": 4, "gru": 3, "rnn": 1}


def recurrent_roles(params):
    """[(wx, wh, b, gates)]: a recurrent layer's input weight (D, G*H), hidden weight (H, G*H)
    and bias (G*H,) (b None without one), by the user's names.

    Two 2-D weights sharing their last axis and at most two matching 1-D biases; other 1-D
    params must have H elements (an LSTM's peephole weights, a gain per hidden unit).
    Names decide which weight is which (an ``x`` or ``i`` after the W: input;
    an ``h``: hidden); when they do not, the definition order (input first) and
    then the other, each kept only if the hidden weight's rows divide G*H.
    """
    names = list(params)
    two = [n for n in names if np.ndim(params[n]) == 2]
    one = [n for n in names if np.ndim(params[n]) == 1]
    if len(two) != 2 or len(two) + len(one) != len(names):
        return []
    if any(_bias_name(n) for n in two):      # a bias kept (1, M): a dense layer's, no weight
        return []
    width = np.shape(params[two[0]])[1]
    biases = [n for n in one if np.size(params[n]) == width]
    per_unit = [n for n in one if n not in biases]
    if np.shape(params[two[1]])[1] != width or len(biases) > 2:
        return []
    # two biases (an input's and a hidden one's, a "reset after" GRU's bx and bh): no one bias a
    # twin could take; the weights still say the shapes
    bias = biases[0] if len(biases) == 1 else None
    roles = [weight_role(n) for n in two]
    if roles == ["h", "x"]:
        orders = [(two[1], two[0])]
    elif roles == ["x", "h"]:
        orders = [tuple(two)]
    else:
        orders = [tuple(two), (two[1], two[0])]
    found = []
    for wx, wh in orders:
        hidden = np.shape(params[wh])[0]
        if hidden and width % hidden == 0 and width // hidden in (1, 2, 3, 4) and \
                all(np.size(params[n]) == hidden for n in per_unit):
            found.append((wx, wh, bias, width // hidden))
    return found


def _bias_name(name):
    low = name.lower().strip("_")
    return low in ("b", "bias", "biases", "w0", "b0") or low.startswith("bias") or \
        low.endswith("bias") or low.endswith("biases")      # (w0: ML-From-Scratch's bias)


def weight_role(name):
    """"x" (input weight), "h" (hidden weight) or "" from a name: Wx, W_xh, Wxh, W_ih / Wh, Whh, W_hh."""
    rest = name.lower().lstrip("wu").lstrip("_")
    if rest[:1] in ("x", "i"):
        return "x"
    if rest[:1] == "h":
        return "h"
    return ""


def gates_from_name(name):
    """The gate count a name announces (LSTM 4, GRU 3, RNN 1), or None."""
    text = words(name)
    for kind in ("lstm", "gru", "rnn"):
        if kind in text:
            return GATES[kind]
    return None
