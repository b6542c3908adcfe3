"""What a probe's run must give for its shapes to be a layer's: outputs (one finite number for a
loss, arrays with the batch first otherwise) and gradients in their tensors' shapes
(``properties.user_shapes.runs``)."""
import numpy as np

from properties import outputs as O


def output_ok(out, loss, batch):
    if loss:
        out = np.asarray(out)
        return out.dtype.kind == "f" and out.size == 1 and bool(np.all(np.isfinite(out)))
    for part in O.parts(out):
        part = np.asarray(part)
        if part.dtype.kind != "f" or part.size == 0 or not np.all(np.isfinite(part)):
            return False
        if batch is not None and (part.ndim < 1 or part.shape[0] != batch):
            return False
    return True


def gradients_ok(dx, xs, grads, params):
    if any(np.shape(grads.get(k, np.zeros(s))) != s for k, s in params.items()):
        return False
    if dx is None:              # seed 003's first layer returns no dx; its params carry the check
        return bool(params) and all(k in grads for k in params)
    dxs = tuple(dx) if isinstance(dx, (tuple, list)) else (dx,)
    return len(dxs) == len(xs) and all(np.shape(d) == x.shape for d, x in zip(dxs, xs))
