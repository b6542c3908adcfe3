"""What a probe's run must give for its shapes to be a layer's: outputs (one finite number for a
loss, arrays with the batch first otherwise) and gradients in their tensors' shapes
(``properties.user_shapes.runs``)."""
import copy

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


def wrong_shapes(layer, spec, rng, loss):
    """How many of the gradients (dx's and the params') come out in another shape than their
    tensor's on a batch of ``spec`` (a deep copy of ``layer`` run once)."""
    xs, ts = spec.draw(rng, 2)
    trial = spec.apply(copy.deepcopy(layer))
    try:
        with np.errstate(all="ignore"):
            out = trial.forward(*xs, *ts)
            dout = 1.0 if loss else O.each(lambda o: rng.standard_normal(np.shape(o)), out)
            dx = trial.backward(*O.parts(dout))
    except Exception:
        return len(xs) + len(trial.params) + 1      # (it ran on the probes' draws)
    dxs = () if dx is None else tuple(dx) if isinstance(dx, (tuple, list)) else (dx,)
    grads = dict(trial.grads) if trial.params else {}
    wrong = sum(np.shape(grads.get(k)) != np.shape(v) for k, v in trial.params.items())
    return wrong + sum(np.shape(d) != np.shape(x) for d, x in zip(dxs, xs))


def gradients_at(layer, spec, rng, loss):
    """(the gradients backward returns for its inputs, the inputs, the targets) on a batch of
    ``spec``, a loss at dout = 1, a layer at all-ones."""
    xs, ts = spec.draw(rng, 2)
    trial = spec.apply(copy.deepcopy(layer))
    with np.errstate(all="ignore"):
        out = trial.forward(*xs, *ts)
        dx = trial.backward(*O.parts(1.0 if loss else O.each(np.ones_like, out)))
    return (() if dx is None else tuple(dx) if isinstance(dx, (tuple, list)) else (dx,)), xs, ts


def reads_beyond(layer, spec, xs, ts, corners, rng):
    """Whether the forward's output moves when the entries of an input outside the leading
    corner ``corners[i]`` (a shape) of it are redrawn: a loss reading two columns of a (N, 5)
    prediction does not (its input is (N, 2)); a backward returning ``dout[:, :1]`` for an
    elementwise forward does (its gradient has the wrong shape: a bug)."""
    def run(inputs):
        with np.errstate(all="ignore"):
            return [np.asarray(o, np.float64).copy()
                    for o in O.parts(spec.apply(copy.deepcopy(layer)).forward(*inputs, *ts))]
    moved = []
    for x, corner in zip(xs, corners):
        other = np.array(x, copy=True)
        keep = tuple(slice(0, n) for n in corner)
        other[...] = rng.standard_normal(x.shape) * (np.std(x) or 1.0) + np.mean(x)
        other[keep] = x[keep]
        moved.append(other.astype(x.dtype))
    try:
        before, after = run(xs), run(moved)
    except Exception:
        return True
    return len(before) != len(after) or any(
        a.shape != b.shape or not np.allclose(a, b, rtol=1e-12, atol=0, equal_nan=True)
        for a, b in zip(before, after))


def finite_across(layer, spec, loss):
    """Forward's outputs are finite on further draws: a range is chosen for what the forward
    does everywhere in it, not on one lucky draw. Unrestricted inputs get three more of
    scale 1 (an arcsin is rarely finite on all of them); inputs in a range also get values of
    scale 50, which the range's map sends close to both its ends."""
    rng = np.random.default_rng(7)
    for scale in ((1.0, 50.0, 50.0, 1.0) if spec.domains else (1.0, 1.0, 1.0)):
        batch = 3 if spec.batched else None
        xs, ts = spec.draw(rng, batch or 2, scale=scale)
        try:
            with np.errstate(all="ignore"):
                if not output_ok(spec.apply(copy.deepcopy(layer)).forward(*xs, *ts), loss, batch):
                    return False
        except Exception:
            return False
    return True
