"""Style 5: a user's whole network with ``loss(x, t)`` and ``gradient(x, t)`` (seeds 000 and 004).

``check_gradient_network(net, x, t, rng=...)`` compares every gradient that
``net.gradient(x, t)`` returns with float64 finite differences of
``net.loss(x, t)`` (the loss is a scalar, so the upstream gradient is 1). When
a gradient is wrong and the network's layers are reachable (``net.layers``, an
OrderedDict, plus ``net.lastLayer``), each layer is checked on its own, on the
very input and upstream gradient it saw inside ``gradient``: its ``dx`` and
``dW``-style gradients against finite differences of its own forward. The first
layer counting from the loss whose backward is wrong is named; when every layer
is right on its own, the fault is in how ``gradient`` wires them (a swapped key,
a skipped layer): a "stack bug".

Nothing here trains or changes the user's network (finite differences and replays run on
float64 deep copies)."""
import contextlib
import copy
import inspect
from dataclasses import replace

import numpy as np

from layers.attribute_probe import TRAINING_NAMES
from layers.gradient_network import GradientNetwork
from oracle.compare import compare
from oracle.finite_diff import fd_vjp
from oracle.result import Result, join_notes
from properties.global_rng import kept_global_rng
from properties.network_conventions import STACK, guard_excused, guarded_cross_entropy

LAST_LAYER_NAMES = ("lastLayer", "last_layer", "loss_layer")

STEP_NOTE = ("checked again after every param was moved in place, as an optimizer's step moves "
             "it (params[k] -= ...): a gradient() reading a copy of a weight taken before is "
             "stale there")


def check_network(make_net, x, t, *, label=None):
    """``check_gradient_network`` on a fresh ``make_net()``, then, when that passes, on another
    one whose params were moved in place as a training step moves them: a network that
    keeps a copy of a weight from ``__init__`` (``self.W2 = params['W2'].copy()``) has right
    gradients at its initial params only."""
    results = check_gradient_network(made_seeded(make_net), x, t, rng=np.random.default_rng(0),
                                     label=label)
    if not all(r.passed for r in results):
        return results
    net = made_seeded(make_net)
    step_in_place(net.params, np.random.default_rng(1))
    after = check_gradient_network(net, x, t, rng=np.random.default_rng(0), label=label)
    # right at its initial params, and no one layer named wrong after the step: what is wrong
    # did not see the step (a weight copied in __init__), unless a diagnosis explains it (a
    # decay term c times the param, zero at the initial biases)
    named = any(r.prop == "network_localise" and r.verdict == "layer bug" for r in after)
    stale = lambda r: not r.passed and not named and not r.shown_diagnosis     # noqa: E731
    return results + [replace(r, prop=f"{r.prop}_after_step", note=join_notes(r.note, STEP_NOTE),
                              **(STALE if stale(r) else {})) for r in after]


def proportional(residual, w):
    """c where ``residual`` is c times ``w`` (to 1e-3 of its size), else None."""
    residual, w = np.asarray(residual, np.float64), np.asarray(w, np.float64)
    if residual.shape != w.shape or w.size < 2 or not np.any(w) or not np.any(residual):
        return None        # (any error of one number is some multiple of it: no evidence)
    c = float(np.vdot(residual, w) / np.vdot(w, w))
    return c if np.linalg.norm(residual - c * w) <= 1e-3 * np.linalg.norm(residual) else None


def decay_diagnosed(r, w, name, fdg=None, g=None):
    """A failing gradient off by c times its own param (an L2 term's coefficient: halved, left
    out, of the wrong sign): that diagnosis, where nothing else was found; estimates along
    random directions (``fdg``, of the layer's ``g``) tell it by their projections."""
    if r.passed or r.shown_diagnosis or np.size(w) < 2:   # (one number: any error fits)
        return r
    if r.mode == "directional" and fdg is not None and g is not None:
        c = proportional(fdg.project(g) - fdg.values, fdg.project(w))
    else:
        c = proportional(np.asarray(r.arrays["layer"], np.float64) - np.asarray(r.arrays["fd"]), w) \
            if set(r.arrays) >= {"layer", "fd"} and r.mode == "elementwise" else None
    if c is None:
        return r
    return replace(r, diagnosis={
        "kind": "weight decay",
        "summary": f"{name} is the cost's gradient plus {c:.6g} * the param itself: a weight-decay "
                   f"(L2) term's coefficient is off by that (halved, left out, or of the wrong "
                   f"sign: a cost adding reg * ||W||^2 has the gradient 2 * reg * W; one adding "
                   f"lambd / (2m) * ||W||^2, lambd / m * W).",
        "evidence": "(the difference is that multiple of the param to 1e-3)"})


def _as_float64(x):
    """x in float64, unless it is integer indices (a language model's tokens): those stay."""
    x = np.asarray(x)
    return x if x.dtype.kind in "iub" else x.astype(np.float64)


STALE = {"verdict": "stale params", "explanation": (
    "gradient(x, t) is right at the network's initial params, but after the params were moved "
    "in place it is not, and no one layer's backward was found wrong on its own: gradient() or "
    "a layer reads a copy of a weight taken before (W.copy(), np.array(W), a weight copied in "
    "__init__), which the step did not move")}


TRAINING_NOTE = ("loss(x, t, {flag}=True): the training-mode loss, the one gradient(x, t) "
                 "differentiates (dropout masks, batch statistics)")
NET_SEED = 20260601     # NumPy's global random state, seeded alike before every loss and gradient


def training_flag(net):
    """The name of ``net.loss``'s training flag (deep-learning-from-scratch's ``loss(x, t,
    train_flg=False)``, whose gradient() runs ``loss(x, t, train_flg=True)``), or None."""
    try:
        params = inspect.signature(net.loss).parameters
    except (TypeError, ValueError):
        return None
    return next((n for n in TRAINING_NAMES if n in params), None)


@contextlib.contextmanager
def seeded(state=NET_SEED):
    """NumPy's global random state seeded with ``NET_SEED`` (or set to a saved ``state``): a
    dropout drawing its mask with np.random draws the same mask in gradient() and in every
    loss finite differences take. The user's own state is put back at the end of the
    outermost ``kept_global_rng``."""
    with kept_global_rng():
        if isinstance(state, int):
            np.random.seed(state)
        else:
            np.random.set_state(state)
        yield


def made_seeded(make_net):
    """``make_net()`` under a seeded np.random: a constructor drawing its weights with
    np.random.randn makes the same network in every run and replay."""
    with seeded():
        return make_net()


def step_in_place(params, rng, size=0.1):
    """Move every float param in place by ``size`` times its root mean square (at least 1e-3)
    along a random direction: the arrays the network and its layers hold see the move."""
    for value in params.values():
        if isinstance(value, np.ndarray) and value.dtype.kind == "f" and value.size:
            scale = max(float(np.sqrt(np.mean(value.astype(np.float64) ** 2))), 1e-3)
            value += (size * scale * rng.standard_normal(value.shape)).astype(value.dtype)


def check_gradient_network(net, x, t, *, rng, label=None):
    """Results for each parameter's gradient from ``net.gradient(x, t)``, then the localisation.

    net: the user's network (``params`` dict, ``loss``, ``gradient``). x, t: a
    batch and its targets. rng: a ``np.random.Generator`` (finite-difference
    directions). Raises TypeError when the network lacks ``params``, ``loss``
    or ``gradient``.
    """
    flag = training_flag(net)
    kw = {flag: True} if flag else {}
    view = GradientNetwork(net, loss_kwargs=kw)
    label = label or type(net).__name__
    dtype = _dtype(view.params)
    owners = _owners(net)
    config = {"x": list(np.shape(x)), "params": {k: list(np.shape(v)) for k, v in view.params.items()},
              **({"batch": int(np.shape(x)[getattr(net, "batch_axis", 0)])} if np.ndim(x)
                 else {}),   # a factor's meaning (Nielsen's columns: the last axis)
              **({flag: True} if flag else {})}
    try:
        with seeded():
            view.loss_forward(x, t)
        with seeded():            # gradient's own forward draws the masks the loss below draws
            view.backward(1.0)
        got = {k: np.array(g, copy=True) for k, g in view.grads.items()}
    except Exception as exc:
        return [Result(layer=label, prop="network_gradient", tensor="gradient(x, t)", oracle="law",
                       passed=False, dtype=dtype, config=config, ratio=float("inf"),
                       verdict="contract", explanation="the network's gradient(x, t) failed",
                       note=f"{type(exc).__name__}: {exc}")]
    snapshot = _float64_copy(net)
    x64 = _as_float64(x)
    calls = getattr(net, "calls", ("gradient(x, t)", "loss(x, t)"))   # as the user wrote them
    key = getattr(net, "grad_key", lambda k: k)      # the gradient's name there ("dW1")
    term = getattr(net, "grad_term", None) or (lambda k: f"{calls[0]}[{key(k)!r}]")

    def loss_at(arrays):
        for k, target in snapshot.params.items():
            np.copyto(target, arrays[k])      # in place: the layers hold these very arrays
        return _seeded_loss(snapshot, x64, t, kw)

    with kept_global_rng():      # the user's state saved once around every evaluation
        fd = fd_vjp(loss_at, {k: np.array(v, copy=True) for k, v in snapshot.params.items()},
                    np.float64(1.0), rng=rng)
    results = []
    for k, g in got.items():
        fdg = fd[k]
        mine, theirs, excused = fdg.against(g)
        r = compare(mine, theirs, layer=label, prop="network_gradient", tensor=k, oracle="fd", dtype=dtype,
                    config={**config, **({"layer": owners.get(k, "?")} if owners else {})},
                    excused=excused, mode=fdg.mode,
                    note=join_notes(f"{k} belongs to layer {owners[k]!r}" if k in owners else
                                    f"{k} is held by no layer in net.layers" if owners else "",
                                    TRAINING_NOTE.format(flag=flag) if flag else ""),
                    verdict="layer bug",
                    explanation=(f"{term(k)} is not the derivative of {calls[1]}: the "
                                 "hand-written backward pass is wrong."))
        results.append(decay_diagnosed(r, snapshot.params[k], term(k), fdg, g))
    if all(r.passed for r in results):
        return results
    where = localise(net, x, t, rng=rng)
    if where is None:
        return results
    name, verdict, reason = where
    if verdict == "convention":       # right by the guard alone, or a stack bug beside it
        net64 = _float64_copy(net)
        warned = guard_excused(results, got, net64, dict(_named_layers(net64)).get(name),
                               lambda n: _seeded_loss(n, x64, t, kw), rng, reason)
        if warned is not None:
            return warned
        name, verdict, reason = STACK
    named = f"first bad layer, counting from the loss: {name}"
    blamed = {} if verdict == "layer bug" else {"verdict": verdict, "explanation": reason}
    results = [r if r.passed else replace(r, note=join_notes(r.note, named), **blamed) for r in results]
    results.append(Result(layer=label, prop="network_localise", tensor=name, oracle="fd",
                          passed=False, dtype=dtype, config=config, ratio=float("inf"),
                          verdict=verdict, explanation=reason))
    return results


def localise(net, x, t, *, rng):
    """(layer name, verdict, reason) for the first layer from the loss whose backward is wrong.

    Returns None when the layers are not reachable. Each layer is replayed on
    the input and upstream gradient it saw inside ``gradient`` (a float64 deep
    copy of the network, instrumented), and its gradients are compared with
    finite differences of its own forward.
    """
    named = _named_layers(net)
    if not named:
        return None
    work = _float64_copy(net)
    work_layers = _named_layers(work)
    records = _record(work_layers)
    with kept_global_rng():      # the user's state saved once around every evaluation
        try:
            with seeded():
                work.gradient(_as_float64(x), t)
        finally:
            _stop(work_layers)
        return _first_fault(work, work_layers, records, rng)


def _first_fault(work, work_layers, records, rng):
    """localise's verdict from what the instrumented ``work.gradient`` recorded."""
    order = [name for name, _ in reversed(work_layers)]
    calls = [name for name in records["backward_order"]]
    if calls:
        order = list(dict.fromkeys(calls))      # the order gradient() really used, from the loss
    convention = None
    for name in order:
        rec = records["by_layer"].get(name)
        if rec is None or "dout" not in rec:
            continue
        bad = _layer_fault(dict(work_layers)[name], rec, _param_attrs(dict(work_layers)[name], work),
                           rng)
        said = guarded_cross_entropy(dict(work_layers)[name], rec) if bad else ""
        if said:       # right by its convention: the layers before it are still looked at
            convention = convention or (name, "convention", f"layer {name!r} takes {said}")
            continue
        if bad:
            return name, "layer bug", (f"layer {name!r} ({type(dict(work_layers)[name]).__name__}): "
                                       f"{bad}; every layer after it (nearer the loss) is right")
    if convention:
        return convention
    return STACK


def _seeded_loss(net, x, t, kw):
    with seeded():        # (gradient's own forward drew the masks this draws)
        return net.loss(x, t, **kw)


def _layer_fault(layer, rec, attrs, rng):
    """A sentence naming the first wrong tensor of one layer's replayed backward, or ''."""
    args, kwargs, dout = rec["args"], rec["kwargs"], rec["dout"]
    if not args or not isinstance(args[0], np.ndarray) or args[0].dtype.kind != "f":
        return ""
    rest = args[1:]

    def fn(arrays):
        # the layer as it was when its forward ran inside gradient(), with the global random
        # state it found there: a dropout draws the mask it drew then
        base = copy.deepcopy(rec.get("before", layer))
        for a in attrs:
            setattr(base, a, arrays[a])
        with seeded(rec["random_state"]):
            return base.forward(arrays["x"], *rest, **kwargs)

    point = {"x": args[0], **{a: np.array(getattr(layer, a), copy=True) for a in attrs}}
    fd = fd_vjp(fn, point, np.asarray(dout, np.float64), rng=rng)
    got = {"x": rec.get("dx"), **{a: rec["grads"].get(a) for a in attrs}}
    for k, g in got.items():
        fdg = fd[k]
        tensor = "dx" if k == "x" else "d" + k
        if g is None or np.shape(g) != fdg.shape:
            return f"{tensor} is {'missing' if g is None else f'shaped {np.shape(g)}, not {fdg.shape}'}"
        r = compare(fdg.project(g), fdg.values, layer="", prop="", tensor=tensor, oracle="fd",
                    dtype="float64", excused=fdg.excused, mode=fdg.mode)
        if not r.passed:
            return (f"its {tensor} differs from finite differences of its own forward "
                    f"(worst error {r.ratio:.3g}x the allowed)")
    return ""


def _record(named):
    """Wrap each layer's forward/backward (instance attributes) to keep what it last saw."""
    records = {"by_layer": {}, "backward_order": []}
    for name, layer in named:
        fwd, bwd = layer.forward, layer.backward
        rec = records["by_layer"].setdefault(name, {})

        def forward(*args, _fwd=fwd, _rec=rec, _layer=layer, **kwargs):
            _rec["args"] = tuple(np.array(a, copy=True) if isinstance(a, np.ndarray) else a
                                 for a in args)
            _rec["kwargs"] = dict(kwargs)
            _rec["random_state"] = np.random.get_state()
            before = copy.deepcopy(_layer)
            for method in ("forward", "backward"):     # the copy runs its own methods
                vars(before).pop(method, None)
            _rec["before"] = before
            return _fwd(*args, **kwargs)

        def backward(*args, _bwd=bwd, _rec=rec, _name=name, _layer=layer, **kwargs):
            _rec["dout"] = np.array(args[0] if args else kwargs.get("dout", 1.0), np.float64)
            records["backward_order"].append(_name)
            dx = _bwd(*args, **kwargs)
            _rec["dx"] = None if dx is None else np.array(dx, copy=True)
            _rec["grads"] = {k[1:]: np.array(v, copy=True) for k, v in vars(_layer).items()
                             if k.startswith("d") and isinstance(v, np.ndarray)}
            return dx

        layer.forward, layer.backward = forward, backward
    return records


def _stop(named):
    for _, layer in named:
        for method in ("forward", "backward"):
            vars(layer).pop(method, None)


def _named_layers(net):
    """[(name, layer)] in forward order: ``net.layers`` (dict or list) then the loss layer."""
    found = getattr(net, "layers", None)
    if isinstance(found, dict):
        named = [(str(k), v) for k, v in found.items()]
    elif isinstance(found, (list, tuple)):
        named = [(f"{type(v).__name__}{i}", v) for i, v in enumerate(found)]
    else:
        return []
    for attr in LAST_LAYER_NAMES:
        if getattr(net, attr, None) is not None:
            named.append((attr, getattr(net, attr)))
            break
    return [(n, v) for n, v in named if callable(getattr(v, "forward", None))
            and callable(getattr(v, "backward", None))]


def _param_attrs(layer, net):
    """Attribute names of ``layer`` that hold one of ``net.params``'s arrays (by identity)."""
    held = {id(v) for v in net.params.values()}
    return [k for k, v in vars(layer).items() if isinstance(v, np.ndarray) and id(v) in held]


def _owners(net):
    """Param key -> the name of the layer holding that very array."""
    owners = {}
    for name, layer in _named_layers(net):
        for attr in _param_attrs(layer, net):
            for k, v in net.params.items():
                if v is getattr(layer, attr):
                    owners.setdefault(k, name)
    return owners


def _float64_copy(net):
    """A deep copy of ``net`` whose params (and the layers' references to them) are float64."""
    work = copy.deepcopy(net)
    for k, arr in list(work.params.items()):
        if arr.dtype == np.float64:
            continue
        new = arr.astype(np.float64)
        work.params[k] = new
        for _, layer in _named_layers(work):
            for attr, value in list(vars(layer).items()):
                if value is arr:
                    setattr(layer, attr, new)
    return work


def _dtype(params):
    dtypes = {np.asarray(v).dtype.name for v in params.values()}
    return dtypes.pop() if len(dtypes) == 1 else "float64"
