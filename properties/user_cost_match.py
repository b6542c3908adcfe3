"""Which of a cost function's returned arrays is which argument's gradient
(``properties.user_cost_args``): by shape, by size for a column beside a row, or by key in a
returned dict (``dW1``, ``grad_W1``)."""
import numpy as np


def match_gradients(result, arrays, roles):
    """{argument name: index into result} when ``result`` is (cost, *gradients) (or (cost,
    {name: gradient})) with each gradient in the shape of a distinct float argument, else None."""
    if not isinstance(result, (tuple, list)) or len(result) < 2:
        return None
    cost = result[0]
    try:
        if np.size(cost) != 1 or not np.isfinite(float(np.squeeze(cost))):
            return None
    except (TypeError, ValueError):
        return None
    rest = list(result[1:])
    if len(rest) == 1 and isinstance(rest[0], dict):
        return _by_keys(rest[0], arrays)
    order = [n for n, r in roles if n in arrays and r not in ("data", "labels", "mask")] + \
        [n for n, r in roles if n in arrays and r in ("data",)]
    taken, matched = set(), {}
    optimised = [n for n, r in roles if r in ("vector", "flat") and n in arrays]
    for k, g in enumerate(rest, 1):
        if not isinstance(g, (np.ndarray, float, np.floating)) or np.ndim(g) and \
                np.asarray(g).dtype.kind != "f":
            return None
        n = next((n for n in order if n not in taken and np.shape(g) == arrays[n].shape), None)
        n = n or next((n for n in order if n not in taken and np.size(g) == arrays[n].size
                       and max(np.ndim(g), arrays[n].ndim) <= 2 and arrays[n].size > 1
                       and 1 in (*np.shape(g), *arrays[n].shape)), None)
        if n is None:
            return None
        taken.add(n)
        matched[n] = k
    if optimised and not set(optimised) & set(matched):
        return None         # the vector optimised gets no gradient: a coincidence of shapes
    return matched


def gradient_key(grads, name):
    """The key a dict of gradients keeps ``name``'s under (``W1``, ``dW1``, ``grad_W1``,
    ``d_W1``, ``W1_grad``), or None."""
    return next((k for k in (name, f"d{name}", f"grad_{name}", f"d_{name}", f"{name}_grad")
                 if k in grads), None)


def _by_keys(grads, arrays):
    matched = {}
    for n in arrays:
        key = gradient_key(grads, n)
        if key is not None and np.size(grads[key]) == arrays[n].size:
            matched[n] = key
    return matched if matched and len(matched) == len(grads) else None
