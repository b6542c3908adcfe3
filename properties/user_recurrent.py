"""Recurrent layers a user wrote: the shapes of their weights and of their inputs.

A recurrent step or sequence keeps an input weight (D, G*H), a hidden weight
(H, G*H) and a bias (G*H,) (or PyTorch's (G*H, D) and (G*H, H)), with G gate blocks (1 for a vanilla RNN, 4 for an
LSTM, 3 for a GRU). A functional pair's weights get placeholders of those
shapes (G from the name, or each G in turn when the name does not say); its
input then takes (N, D) for one step or (N, T, D) for a sequence, and every
state input (``prev_h``, ``prev_c``, ``h0``) takes (N, H).
"""
import numpy as np

from oracle.user_hyper import gates_from_name, recurrent_roles, weight_role
from properties.user_targets import BATCH

D, H, T = 4, 5, 3          # input features, hidden units, time steps of the placeholders
WEIGHT_PREFIXES = ("w", "u")
BIAS_PREFIXES = ("b",)


def _kind(name):
    low = name.lower()
    if low.startswith(BIAS_PREFIXES):
        return "b"
    if low.startswith(WEIGHT_PREFIXES):
        return "w"
    return ""


def recurrent_placeholders(param_names, base, stateful=False):
    """[{name: shape}, ...] for params that look like a recurrent layer's (two weights, at most one
    bias; the name or a state input ``stateful`` says it is recurrent), one per gate count to
    try; [] when they do not."""
    kinds = [_kind(p) for p in param_names]
    weights = [p for p, k in zip(param_names, kinds) if k == "w"]
    biases = [p for p, k in zip(param_names, kinds) if k == "b"]
    if len(weights) != 2 or len(biases) > 1 or len(weights) + len(biases) != len(param_names):
        return []
    named = gates_from_name(base)
    if named is None and not stateful and not any(w in base.lower() for w in ("recur", "cell", "step")):
        return []
    out = []
    for gates in ([named] if named else [1, 4, 3]):
        wx, wh = weights[::-1] if [weight_role(w) for w in weights] == ["h", "x"] else weights
        probe = {wx: (D, gates * H), wh: (H, gates * H)}
        shapes = {p: probe.get(p, (gates * H,)) for p in param_names}
        out.append(shapes)
    return out


def recurrent_templates(params, names):
    """(templates, how) per way the params' recurrent roles size the inputs ``names``: x (N, D),
    then x (N, T, D); every further input (N, H)."""
    roles = [(wx, wh, gates, 0) for wx, wh, _, gates in recurrent_roles(params)]
    if not roles:     # PyTorch's layout: W_ih (G*H, D), W_hh (G*H, H), the gates on axis 0
        flipped = {k: np.swapaxes(v, 0, 1) if np.ndim(v) == 2 else v for k, v in params.items()}
        roles = [(wx, wh, gates, 1) for wx, wh, _, gates in recurrent_roles(flipped)]
    for wx, wh, gates, axis in roles:
        d, h = params[wx].shape[axis], params[wh].shape[axis]
        states = [(BATCH, h)] * (len(names) - 1)
        said = "; ".join(f"{n} (N, {h})" for n in names[1:])
        src = f"from {wx} {tuple(params[wx].shape)}, {wh} {tuple(params[wh].shape)}"
        for x in ((BATCH, d), (BATCH, T, d)):
            shown = "(N, " + ", ".join(str(v) for v in x[1:]) + ")"
            yield (x, *states), f"{names[0]} {shown}" + (f"; {said}" if said else "") + f" {src}" + (
                f" ({gates} gates)" if gates > 1 else "")
