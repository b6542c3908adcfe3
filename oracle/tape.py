"""The TensorFlow oracle: a layer's TF twin run under GradientTape.

A twin is a short pure function ``twin(layer, *inputs, *targets, **params)``
returning a ``tf.Tensor``; it reads hyperparameters off the layer object. The
oracle runs it in float64 (inputs of any dtype are cast up exactly), feeds the
same upstream gradient as the layer gets, and returns the forward value, one
gradient per input and one per param. A twin of a several-output layer returns
a tuple of tensors and gets a tuple of upstream gradients, one per output.
"""
from dataclasses import dataclass, field

import numpy as np

from oracle.tf_runtime import tf


class TwinCannotSay(Exception):
    """The twin cannot say what the layer computes on this case (a batch norm at inference
    whose running statistics the layer has not written yet): not judged by TF, not an error."""


class OracleError(Exception):
    """A twin failed for a reason that is the harness's or the twin's, not the layer's."""


@dataclass
class TapeResult:
    out: np.ndarray = None
    dinputs: tuple = ()
    dparams: dict = field(default_factory=dict)
    unavailable: str = ""   # why TF could not give this case a gradient ("" when it could)


def tape_vjp(twin, layer, inputs, params, dout, targets=(), *, name=None):
    """Forward value and VJP of ``twin`` at (inputs, params) for upstream gradient ``dout``.

    inputs: sequence of arrays; params: dict name -> array; targets: extra
    non-differentiable arguments (a loss's labels). Returns a :class:`TapeResult`;
    when TF cannot differentiate this case (an op without a gradient on CPU),
    ``unavailable`` says why and the gradients are empty.
    """
    t = tf()
    name = name or type(layer).__name__
    xs = [t.constant(np.asarray(x, np.float64)) for x in inputs]
    ps = {k: t.constant(np.asarray(v, np.float64)) for k, v in params.items()}
    ts = [t.constant(np.asarray(v)) if np.asarray(v).dtype.kind in "iub"
          else t.constant(np.asarray(v, np.float64)) for v in targets]
    try:
        with t.GradientTape() as tape:
            for v in [*xs, *ps.values()]:
                tape.watch(v)
            out = twin(layer, *xs, *ts, **ps)
    except TwinCannotSay as exc:
        return TapeResult(unavailable=f"the TF twin cannot say what {name} computes here: {exc}")
    except Exception as exc:  # the twin's own forward failed: that is a harness error
        raise OracleError(f"TF twin of {name} failed in forward: {type(exc).__name__}: {exc}") from exc
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    douts = list(dout) if isinstance(dout, tuple) else [dout]
    if len(outs) != len(douts):
        raise OracleError(f"TF twin of {name} returned {len(outs)} output(s), but the layer "
                          f"returned {len(douts)}")
    outs_np = [o.numpy() for o in outs]
    for o, d in zip(outs_np, douts):
        if np.shape(d) != o.shape:
            raise OracleError(f"TF twin of {name} returned shape {o.shape}, but the upstream "
                              f"gradient has shape {np.shape(d)}")
    out_np = tuple(outs_np) if isinstance(dout, tuple) else outs_np[0]
    try:
        grads = tape.gradient(outs, [*xs, *ps.values()],
                              output_gradients=[t.constant(np.asarray(d, np.float64)) for d in douts],
                              unconnected_gradients=t.UnconnectedGradients.ZERO)
    except (LookupError, t.errors.OpError, NotImplementedError, ValueError) as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return TapeResult(out=out_np, unavailable=f"TF cannot differentiate the twin of {name} "
                                                  f"here: {type(exc).__name__}: {msg}")
    g = [t.convert_to_tensor(gr).numpy() for gr in grads]
    return TapeResult(out=out_np, dinputs=tuple(g[:len(xs)]),
                      dparams=dict(zip(ps.keys(), g[len(xs):])))


def tape_forward(twin, layer, inputs, params, targets=(), *, name=None):
    """The twin's forward value alone, in float64."""
    t = tf()
    name = name or type(layer).__name__
    try:
        out = twin(layer, *[t.constant(np.asarray(x, np.float64)) for x in inputs],
                   *[t.constant(np.asarray(v)) if np.asarray(v).dtype.kind in "iub"
                     else t.constant(np.asarray(v, np.float64)) for v in targets],
                   **{k: t.constant(np.asarray(v, np.float64)) for k, v in params.items()})
    except TwinCannotSay:
        raise
    except Exception as exc:
        raise OracleError(f"TF twin of {name} failed in forward: {type(exc).__name__}: {exc}") from exc
    if isinstance(out, (tuple, list)):
        return tuple(o.numpy() for o in out)
    return out.numpy()
