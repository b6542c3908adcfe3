"""The TF twin of a whole Sequential: every layer's twin composed in order, then the loss's twin.

``network_vjp`` runs it under one GradientTape in float64 and returns, besides
the gradient of every parameter, the gradient of the loss with respect to every
intermediate activation ``a_i`` (``a_0`` = x, ``a_{i+1}`` = output of layer i,
``a_L`` = the loss's input): what each layer's backward should receive and
return. That is what lets a failing network check name the first bad layer.
Layer twins read the layers' state (a dropout mask, running statistics), so
run the twin after the network's own forward.

The second half compares a network with its twin layer by layer: ``record_calls``
records what each layer's forward and backward saw, and ``localise`` names the
first layer, counting from the loss, whose gradient departs from the twin's.
"""
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from oracle.compare import agrees
from oracle.tape import OracleError
from oracle.tolerance import tolerance_for
from oracle.tf_runtime import tf
from oracle.twins import twin_for


# In float32 a gradient may differ from the float64 truth by rounding alone, and by far
# more than the tolerance table allows where the computation cancels (a bias feeding a
# batch norm has gradient 0, reached as a sum of large terms). Such a tensor may differ
# by up to NOISE_FACTOR times what TF's own float32 run differs from its float64 run.
NOISE_FACTOR = 10


def noise_tolerance(tol, want, want_low):
    """``tol`` with atol raised, if needed, to NOISE_FACTOR x |want_low - want| (want: float64)."""
    if want_low is None:
        return tol
    want = np.asarray(want, np.float64)
    noise = float(np.abs(np.asarray(want_low, np.float64) - want).max(initial=0.0))
    scale = max(1.0, float(np.abs(want).max(initial=0.0)))
    return tol.override(atol=max(tol.atol, NOISE_FACTOR * noise / scale))


@dataclass
class NetworkTape:
    loss: float = None
    activations: list = field(default_factory=list)    # a_0 .. a_L (float64 arrays)
    dactivations: list = field(default_factory=list)   # d loss / d a_i, i = 0 .. L
    dparams: dict = field(default_factory=dict)        # "<i>.<name>" -> d loss / d param
    unavailable: str = ""


def _param_names(net):
    return [[f"{i}.{name}" for name in layer.params] for i, layer in enumerate(net.layers)]


def _forward(net, x, t, params):
    """a_0 .. a_L and the loss, composing the twins (inside whatever tape is open)."""
    acts = [x]
    for layer, names in zip(net.layers, _param_names(net)):
        twin = twin_for(layer)
        own = {name.partition(".")[2]: params[name] for name in names}
        try:
            acts.append(twin(layer, acts[-1], **own))
        except Exception as exc:
            raise OracleError(f"TF twin of layer {len(acts) - 1} ({type(layer).__name__}) failed "
                              f"in forward: {type(exc).__name__}: {exc}") from exc
    return acts, twin_for(net.loss)(net.loss, acts[-1], t)


def _constant(value, dtype=np.float64):
    v = np.asarray(value)
    return tf().constant(v if v.dtype.kind in "iub" else v.astype(dtype))


def network_twin(net):
    """A twin ``twin(net, x, t, **params) -> loss`` with params named as ``net.params`` ("0.W")."""
    if net.loss is None:
        raise OracleError("the network twin needs a network with a loss")

    def twin(_net, x, t, **params):
        return _forward(net, x, t, params)[1]

    return twin


def network_vjp(net, x, t, params, dout=1.0, dtype=np.float64):
    """Loss, activations and the gradients of ``dout * loss`` w.r.t. every a_i and every param.

    Computed in float64 unless ``dtype`` says otherwise (a float32 run measures how far
    float32 rounding alone moves each gradient at this point).
    """
    t_ = tf()
    xs, ts = _constant(x, dtype), _constant(t, dtype)
    ps = {k: _constant(v, dtype) for k, v in params.items()}
    with t_.GradientTape() as tape:
        tape.watch(xs)
        for p in ps.values():
            tape.watch(p)
        acts, loss = _forward(net, xs, ts, ps)
    sources = [*acts, *ps.values()]
    try:
        grads = tape.gradient(loss, sources, output_gradients=t_.constant(float(dout), xs.dtype),
                              unconnected_gradients=t_.UnconnectedGradients.ZERO)
    except (LookupError, t_.errors.OpError, NotImplementedError, ValueError) as exc:
        return NetworkTape(loss=float(loss.numpy()), activations=[a.numpy() for a in acts],
                           unavailable=f"TF cannot differentiate the network twin here: "
                                       f"{type(exc).__name__}: {exc}")
    grads = [t_.convert_to_tensor(g).numpy() for g in grads]
    n = len(acts)
    return NetworkTape(loss=float(loss.numpy()), activations=[a.numpy() for a in acts],
                       dactivations=grads[:n], dparams=dict(zip(ps, grads[n:])))


class Where(NamedTuple):
    """Where a failing network goes wrong first."""
    index: object     # layer index, "loss", or None when no single layer is to blame
    name: str         # "layer 4 (Dense)", "the loss (MSE)"
    kind: str         # "layer bug", "stack bug", "forward differs", "stale params", "not localised"
    reason: str
    order_note: str = ""


def record_calls(net):
    """Wrap every layer's (and the loss's) forward and backward to record what they saw.

    Returns {"forward": {key: first output}, "backward": [[key, dout, dx or None], ...]}
    with key the layer index or "loss"; backward calls in the order the network made them.
    """
    calls = {"forward": {}, "backward": []}
    keyed = [*enumerate(net.layers)] + ([("loss", net.loss)] if net.loss is not None else [])
    for key, obj in keyed:
        fwd, bwd = obj.forward, obj.backward

        def forward(*args, _key=key, _fwd=fwd):
            out = _fwd(*args)
            calls["forward"].setdefault(_key, np.array(out, copy=True))
            return out

        def backward(*args, _key=key, _bwd=bwd):
            record = [_key, np.array(args[0] if args else 1.0, copy=True), None]
            calls["backward"].append(record)
            dx = _bwd(*args)
            record[2] = np.array(dx, copy=True)
            return dx

        forward.recording = backward.recording = True
        obj.forward, obj.backward = forward, backward
    return calls


def stop_recording(net):
    """Remove the wrappers ``record_calls`` put on the layers (the records stay)."""
    for obj in [*net.layers, net.loss]:
        for method in ("forward", "backward"):
            if getattr(vars(obj).get(method), "recording", False):
                del vars(obj)[method]


def localise(net, calls, grads, tape, dtype, tape_low=None):
    """The first layer, from the loss backwards, whose gradient is wrong (a :class:`Where`).

    A forward that differs from its twin is reported first (the first such layer from
    the input): gradients behind it are taken at the wrong point. Then, from the
    loss down, layer i is to blame when the upstream gradient it received is right
    but its dx or a param gradient is not; a stack bug when it received a wrong one
    although every layer nearer the loss is right, or was never called. ``tape_low``
    (the twin run in the network's float32) widens each comparison by its rounding noise.
    """
    n = len(net.layers)

    def same(got, attr, index):
        want = getattr(tape, attr)
        low = getattr(tape_low, attr) if tape_low is not None else None
        tol = noise_tolerance(tolerance_for(dtype, "tf"), want[index], None if low is None else low[index])
        return agrees(got, want[index], tol)

    names = {i: f"layer {i} ({type(layer).__name__})" for i, layer in enumerate(net.layers)}
    names["loss"] = f"the loss ({type(net.loss).__name__})"
    expected = ["loss", *range(n - 1, -1, -1)]
    order = [key for key, *_ in calls["backward"]]
    order_note = "" if order == expected else (
        f"the network's backward called {', '.join(map(str, order)) or 'nothing'}; from the loss "
        f"backwards it must call {', '.join(map(str, expected))}")
    for i in range(n):
        out = calls["forward"].get(i)
        if out is not None and not same(out, "activations", i + 1):
            return Where(i, names[i], "forward differs", "its forward output differs from its TF "
                         "twin's (the first such layer from the input)", order_note)
    if tape.unavailable:
        return Where(None, "the network", "not localised", tape.unavailable, order_note)
    last = {key: (dout, dx) for key, dout, dx in calls["backward"]}
    for key in expected:
        if key not in last:
            return Where(key, names[key], "stack bug", "its backward was never called", order_note)
        dout, dx = last[key]
        if key != "loss" and not same(dout, "dactivations", key + 1):
            return Where(key, names[key], "stack bug", "it received an upstream gradient that is not "
                         "dL/d(its output), though every layer nearer the loss is right: the "
                         "network's backward chains the layers wrongly", order_note)
        if dx is None:
            return Where(key, names[key], "layer bug", "its backward raised on the right upstream "
                         "gradient", order_note)
        bad = [] if same(dx, "dactivations", n if key == "loss" else key) else ["dx"]
        if key != "loss" and grads is not None:
            bad += [f"d{k} ({key}.{k})" for k in net.layers[key].params
                    if not same(grads[f"{key}.{k}"], "dparams", f"{key}.{k}")]
        if bad:
            return Where(key, names[key], "layer bug", "given the right upstream gradient, its "
                         f"backward returns a wrong {', '.join(bad)}", order_note)
    return Where(None, "no layer", "not localised", "every layer's backward agrees with TF given "
                 "its upstream gradient", order_note)


def stale_params(net):
    """Which ``net.params`` entries are not the arrays the layers compute with (nearest the loss first)."""
    def layer_array(key):
        index, _, name = key.partition(".")
        return net.layers[int(index)].params[name]

    stale = [k for k in reversed(list(net.params)) if not np.shares_memory(net.params[k], layer_array(k))]
    if not stale:
        return Where(None, "no layer", "not localised", "every entry of net.params is the array its "
                     "layer computes with, yet the update did not reach the forward")
    i = int(stale[0].partition(".")[0])
    return Where(i, f"layer {i} ({type(net.layers[i]).__name__})", "stale params",
                 f"net.params {stale} are not the arrays the layers compute with (copies?): "
                 "an optimizer's in-place updates never reach the forward pass")
