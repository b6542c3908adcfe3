"""Recurrent layers a user wrote: the shapes of their weights and of their inputs.

A recurrent step or sequence keeps an input weight (D, G*H), a hidden weight
(H, G*H) and a bias (G*H,) (or PyTorch's (G*H, D) and (G*H, H)), with G gate blocks (1 for a vanilla RNN, 4 for an
LSTM, 3 for a GRU); or one weight on the input and the state side by side, ``[x, h] @ W``
with W (D + H, G*H). A functional pair's weights get placeholders of those
shapes (G from the name, or each G in turn when the name does not say); its
input then takes (N, D) for one step or (N, T, D) for a sequence, and every
state input (``prev_h``, ``prev_c``, ``h0``) takes (N, H).
"""
import numpy as np

from oracle.user_hyper import find_hyper, gates_from_name, places, recurrent_roles, weight_role
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


HIDDEN_NAMES = ("hidden_size", "hidden_dim", "n_hidden", "num_hidden", "hidden_units", "n_h", "H")


def concatenated_templates(layer, params, names):
    """(templates, how) for a step on ``[x, h] @ W`` (one weight W (D + H, G*H) taking the input
    and the state side by side, Karpathy's and many blogs' LSTM): x (N, D) and every state
    (N, H), H the hidden size the layer keeps, else W's columns over the gate count its class's
    name says (each of 4, 3, 1 when it does not). Only with a state input beside x."""
    if len(names) < 2:
        return
    gates = next(filter(None, (gates_from_name(type(p).__name__) for p in places(layer))), None)
    kept = find_hyper(layer, HIDDEN_NAMES)
    sizes = [int(kept[1])] if kept and isinstance(kept[1], (int, np.integer)) and \
        not isinstance(kept[1], bool) and kept[1] > 0 else []
    seen = set()
    for name, w in params.items():
        if np.ndim(w) != 2:
            continue
        rows, cols = (int(d) for d in np.shape(w))
        found = [(h, f"its {kept[0]}") for h in sizes] + [
            (cols // g, f"{name}'s {cols} columns over {g} gate{'s' if g > 1 else ''}")
            for g in ([gates] if gates else [4, 3, 1]) if cols % g == 0]
        for h, said in found:
            if not 0 < h < rows or (rows, h) in seen:
                continue
            seen.add((rows, h))
            states = "; ".join(f"{n} (N, {h})" for n in names[1:])
            yield ((BATCH, rows - h),) + ((BATCH, h),) * (len(names) - 1), \
                f"{names[0]} (N, {rows - h}); {states}: {name} {(rows, cols)} on [{names[0]}, " \
                f"{names[1]}] side by side, hidden size {h} from {said}"
