"""A user's optimizer that clips its gradients before the update, by a threshold it keeps.

Read off the optimizer like any hyperparameter: ``max_norm``, ``global_clipnorm``,
``clip_norm``, ``max_grad_norm`` or ``grad_clip_norm`` clip by the norm of all gradients
together (PyTorch's ``clip_grad_norm_``, Keras's ``global_clipnorm``); ``clipnorm`` clips
each gradient by its own norm (Keras's meaning of that name); ``clipvalue``,
``clip_value`` or ``grad_clip`` clip every element into [-c, c]. The harness clips the
drawn gradients the named way (NumPy, a formula of one line) and Keras takes the update
from there, so what is checked is the update as Keras makes it. The norm forms are tried
as Keras writes them, g c / max(|g|, c), and as PyTorch does, g min(1, c / (|g| + 1e-6)).
"""
import numpy as np

GLOBAL_NORM_NAMES = ("max_norm", "global_clipnorm", "clip_norm", "max_grad_norm",
                     "grad_clip_norm")
NORM_NAMES = ("clipnorm",)
VALUE_NAMES = ("clipvalue", "clip_value", "grad_clip")


def global_norm(grads):
    """The norm of every gradient together."""
    return float(np.sqrt(sum(float(np.sum(np.square(g))) for g in grads)))


def _by_global_norm(c, torch):
    def clip(grads):
        norm = global_norm(grads)
        factor = min(1.0, c / (norm + 1e-6)) if torch else c / max(norm, c)
        return [g * factor for g in grads]
    return clip


def _by_own_norm(c):
    return lambda grads: [g * (c / max(global_norm([g]), c)) for g in grads]


def _by_value(c):
    return lambda grads: [np.clip(g, -c, c) for g in grads]


def clippings(opt, number):
    """[(words, clip)]: how ``opt`` clips (empty when it keeps no threshold); ``number(opt,
    names)`` reads a number attribute as (name, value) or None."""
    found = number(opt, GLOBAL_NORM_NAMES)
    if found:
        name, c = found
        return [(f"gradients clipped by their global norm at {name} = {c:g}, as Keras does "
                 f"(g c / max(|g|, c))", _by_global_norm(c, torch=False)),
                (f"gradients clipped by their global norm at {name} = {c:g}, as PyTorch's "
                 f"clip_grad_norm_ does (g min(1, c / (|g| + 1e-6)))", _by_global_norm(c, torch=True))]
    found = number(opt, NORM_NAMES)
    if found:
        name, c = found
        return [(f"each gradient clipped by its own norm at {name} = {c:g} (Keras's clipnorm)",
                 _by_own_norm(c))]
    found = number(opt, VALUE_NAMES)
    if found:
        name, c = found
        return [(f"every gradient element clipped into [-{c:g}, {c:g}] ({name})", _by_value(c))]
    return []


def with_clipping(candidates, clips):
    """The candidates again, each on gradients clipped each named way (``clippings``)."""
    if not clips:
        return candidates
    out = []
    for words, clip in clips:
        for differs, note, run, same in candidates:
            def clipped(params0, grad_steps, lrs=None, run=run, clip=clip, words=words):
                trajectory, how = run(params0, [clip(g) for g in grad_steps], lrs=lrs)
                return trajectory, f"{how}, on {words}"
            out.append((differs, note, clipped, same))
    return out
