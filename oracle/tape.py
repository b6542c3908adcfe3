"""The TensorFlow oracle: a layer's TF twin run under GradientTape.

A twin is a short pure function ``twin(layer, *inputs, *targets, **params)``
returning a ``tf.Tensor``; it reads hyperparameters off the layer object. The
oracle runs it in float64 (inputs of any dtype are cast up exactly), feeds the
same upstream gradient as the layer gets, and returns the forward value, one
gradient per input and one per param.
"""
from dataclasses import dataclass, field

import numpy as np

from oracle.tf_runtime import tf


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
    except Exception as exc:  # the twin's own forward failed: that is a harness error
        raise OracleError(f"TF twin of {name} failed in forward: {type(exc).__name__}: {exc}") from exc
    out_np = out.numpy()
    if np.shape(dout) != out_np.shape:
        raise OracleError(f"TF twin of {name} returned shape {out_np.shape}, but the upstream "
                          f"gradient has shape {np.shape(dout)}")
    try:
        grads = tape.gradient(out, [*xs, *ps.values()],
                              output_gradients=t.constant(np.asarray(dout, np.float64)),
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
    except Exception as exc:
        raise OracleError(f"TF twin of {name} failed in forward: {type(exc).__name__}: {exc}") from exc
    return out.numpy()
