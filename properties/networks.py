"""Whole networks: Hypothesis draws a network spec; ``check_network`` checks every gradient in it.

A spec is a plain dict, and everything a network computes with (weights,
inputs, targets, dropout masks, the upstream gradient) comes from its seed,
so a failure is reproduced from the spec alone: ``./harness replay network 'SPEC'``.

    {"seed": 7, "dtype": "float64", "batch": 3, "in": 4, "training": true, "loss": "softmax_ce",
     "blocks": [{"width": 5, "init": "he", "norm": "batchnorm", "act": "relu", "dropout": 0.25},
                {"width": 3, "init": "xavier", "norm": null, "act": null, "dropout": 0.0}]}

Each block is Dense -> [BatchNorm | LayerNorm] -> [activation] -> [Dropout]; the
last block's Dense gives the loss's input. ``"classes"`` may swap any part for
another class ("module:Class"), e.g. a planted broken Sequential or layer.

``check_network`` (``check_built`` for a network built by hand, such as a
seed's) compares dL/dx and dL/d(every param), for a random upstream gradient
of the loss, with the TF twin network and with finite differences; checks
that an update through ``net.params`` reaches the next forward; and, when
anything fails, names the first layer from the loss whose gradient goes wrong,
and why: a layer's backward, a forward that differs from its twin, a stack
that routes gradients wrongly, or params that do not reach the layers.
In float32, each tensor's tolerance is at least ``NOISE_FACTOR`` times how far
TF's own float32 run lands from its float64 run (``oracle.network_twin``).
"""
import copy
import importlib
import json
from dataclasses import replace
from typing import NamedTuple

import numpy as np
from hypothesis import strategies as st

import layers as L
from oracle.compare import compare, three_way
from oracle.finite_diff import fd_vjp
from oracle.layer_copy import copier
from oracle.network_twin import (NOISE_FACTOR, localise, network_vjp, noise_tolerance, record_calls,
                                 stale_params, stop_recording)
from oracle.result import Result, join_notes
from oracle.tolerance import Tolerance, tolerance_for
from properties import strategies as S
from properties.cases import replay_command
from properties.values import make_dout, stream_rng

CLASSES = {"sequential": L.Sequential, "dense": L.Dense, "batchnorm": L.BatchNorm,
           "layernorm": L.LayerNorm, "dropout": L.Dropout, "relu": L.ReLU,
           "leaky_relu": L.LeakyReLU, "sigmoid": L.Sigmoid, "tanh": L.Tanh,
           "softmax_ce": L.SoftmaxCrossEntropy, "mse": L.MSE, "bce": L.BCEWithLogits}
ACTIVATIONS = ("relu", "leaky_relu", "sigmoid", "tanh")
LOSSES = ("softmax_ce", "mse", "bce")
NORMS = ("batchnorm", "layernorm")
EXACT = Tolerance(rtol=0.0, atol=0.0)
KINK_NOTE = "finite differences could not judge any element (every stencil crossed a kink)"
WIDENED_NOTE = f"atol widened to {NOISE_FACTOR}x how far TF's own float32 run is from its float64 run here"


def _positive(fn_name, **args):
    for name, value in args.items():
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{fn_name}: {name} must be a positive integer, got {value!r}")


@st.composite
def network_specs(draw, *, max_depth=4, max_width=6, max_batch=4, dtypes=None, losses=LOSSES,
                  norms=NORMS, dropouts=(0.25, 0.5), classes=None):
    """Network specs: 1..max_depth blocks of width <= max_width, a loss, a dtype, a batch.

    Shrinks toward one block, float64, batch 1, no norm, no activation, no dropout,
    evaluation mode and softmax cross-entropy. ``classes`` (name -> "module:Class")
    is copied into every spec.
    """
    _positive("network_specs", max_depth=max_depth, max_width=max_width, max_batch=max_batch)
    for arg, values, known in (("losses", losses, LOSSES), ("norms", norms, NORMS)):
        if set(values) - set(known):
            raise ValueError(f"network_specs: unknown {arg} {sorted(set(values) - set(known))}; "
                             f"known: {known}")
    loss = draw(st.sampled_from(tuple(losses)))
    blocks = [{"width": draw(st.integers(1, max_width)), "init": draw(st.sampled_from(("he", "xavier"))),
               "norm": draw(st.sampled_from((None, *norms))),
               "act": draw(st.sampled_from((None, *ACTIVATIONS))),
               "dropout": draw(st.sampled_from((0.0, *dropouts)))}
              for _ in range(draw(st.integers(1, max_depth)) - 1)]
    out_acts = (None, "sigmoid", "tanh") if loss == "mse" else (None,)
    blocks.append({"width": draw(st.integers(2 if loss == "softmax_ce" else 1, max(2, max_width))),
                   "init": draw(st.sampled_from(("he", "xavier"))), "norm": None,
                   "act": draw(st.sampled_from(out_acts)), "dropout": 0.0})
    spec = {"seed": draw(S.seeds()), "dtype": draw(S.dtypes() if dtypes is None else st.sampled_from(dtypes)),
            "batch": draw(S.batch_sizes(max_size=max_batch)), "in": draw(st.integers(1, max_width)),
            "training": draw(st.booleans()), "blocks": blocks, "loss": loss}
    if classes:
        spec["classes"] = dict(classes)
    return spec


def _rng(spec, stream):
    return stream_rng(spec["seed"], stream)


def _class(spec, kind):
    path = spec.get("classes", {}).get(kind)
    if path is None:
        return CLASSES[kind]
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def build_network(spec):
    """(net, x, t) for ``spec``: a fresh network (params from the seed), its input and targets.

    Biases, gamma, beta and running statistics are random rather than 0 and 1,
    as after some training, so that no term of a gradient vanishes by accident.
    """
    dtype, rng = np.dtype(spec["dtype"]), _rng(spec, "params")
    layers, width = [], spec["in"]
    for block in spec["blocks"]:
        dense = _class(spec, "dense")(width, block["width"], rng=rng, init=block["init"], dtype=dtype)
        dense.params["b"] = (0.1 * rng.standard_normal(block["width"])).astype(dtype)
        layers.append(dense)
        width = block["width"]
        if block["norm"]:
            norm = _class(spec, block["norm"])(width, dtype=dtype)
            norm.params["gamma"] = rng.normal(1.0, 0.3, width).astype(dtype)
            norm.params["beta"] = (0.5 * rng.standard_normal(width)).astype(dtype)
            if hasattr(norm, "running_mean"):
                norm.running_mean = (0.5 * rng.standard_normal(width)).astype(dtype)
                norm.running_var = rng.uniform(0.5, 2.0, width).astype(dtype)
            layers.append(norm)
        if block["act"]:
            layers.append(_class(spec, block["act"])())
        if block["dropout"]:
            layers.append(_class(spec, "dropout")(block["dropout"], rng=_rng(spec, f"dropout{len(layers)}")))
    net = _class(spec, "sequential")(layers, _class(spec, spec["loss"])())
    net.training = spec["training"]
    n, data = spec["batch"], _rng(spec, "data")
    x = data.standard_normal((n, spec["in"])).astype(dtype)
    if spec["loss"] == "softmax_ce":
        t = data.integers(0, width, size=n)
    elif spec["loss"] == "bce":
        t = data.integers(0, 2, size=(n, width)).astype(dtype)
    else:
        t = data.standard_normal((n, width)).astype(dtype)
    return net, x, t


def describe(spec):
    """One line: "x(3, 4) -> Dense(4, 5) BatchNorm ReLU Dropout(0.25) -> Dense(5, 3) -> softmax_ce"."""
    parts, width = [], spec["in"]
    for block in spec["blocks"]:
        names = [f"Dense({width}, {block['width']})"]
        names += [CLASSES[k].__name__ for k in (block["norm"], block["act"]) if k]
        names += [f"Dropout({block['dropout']})"] if block["dropout"] else []
        parts.append(" ".join(names))
        width = block["width"]
    mode = "training" if spec["training"] else "evaluation"
    return (f"x({spec['batch']}, {spec['in']}) -> " + " -> ".join(parts)
            + f" -> {spec['loss']} [{spec['dtype']}, {mode}]")


def replay_line(spec):
    return replay_command("", "network", json.dumps(spec, sort_keys=True))


class _Check(NamedTuple):
    seed: int
    dtype: str
    label: str
    config: dict
    reproduce: str    # on every result of the network, passed or not

    def rng(self, stream):
        return stream_rng(self.seed, stream)

    def result(self, prop, tensor, passed, **kw):
        return Result(layer=self.label, prop=prop, tensor=tensor, oracle="law", passed=passed,
                      dtype=self.dtype, config=self.config, ratio=0.0 if passed else float("inf"),
                      reproduce=self.reproduce, **kw)

    def compare(self, got, want, prop, tensor, oracle, **kw):
        return replace(compare(got, want, layer=self.label, prop=prop, tensor=tensor, oracle=oracle,
                               dtype=self.dtype, config=self.config, **kw), reproduce=self.reproduce)


def check_network(spec):
    """Results for every gradient of the network ``spec`` describes (see the module docstring)."""
    _, x, t = build_network(spec)
    return check_built(lambda: build_network(spec)[0], x, t, seed=spec["seed"],
                       config={"architecture": describe(spec), **spec}, reproduce=replay_line(spec))


def check_built(make_net, x, t, *, seed=0, label=None, config=None, reproduce=""):
    """The network property for any network: ``make_net()`` returns a fresh, identical one each call.

    x: (N, ...) input, t: the loss's targets. The network under test is the first
    ``make_net()``; finite differences evaluate deep copies of a second one (so
    dropout layers draw the same masks). ``seed`` fixes the upstream gradient,
    the finite-difference directions and the parameter update; ``label`` names
    the network in the results (default: its class name).
    """
    net = make_net()
    chk = _Check(seed, np.dtype(x.dtype).name, label or type(net).__name__, dict(config or {}),
                 reproduce)
    calls = record_calls(net)
    params0 = {k: np.array(v, copy=True) for k, v in net.params.items()}
    dout = make_dout((), x.dtype, chk.rng("dout"))
    try:
        loss = net.loss_forward(x, t)
    except Exception as exc:
        return [chk.result("network_tf", "loss", False, verdict="contract",
                           explanation="the network's forward raised", note=f"{type(exc).__name__}: {exc}")]
    tape = network_vjp(net, x, t, params0, dout)
    tape_low = None if chk.dtype == "float64" else network_vjp(net, x, t, params0, dout, dtype=x.dtype)
    results = [chk.compare(loss, tape.loss, "network_tf", "loss", "tf",
                           tol=noise_tolerance(tolerance_for(chk.dtype, "tf"), tape.loss,
                                               None if tape_low is None else tape_low.loss),
                           verdict="forward differs", explanation="the loss differs from the TF twin's.")]
    try:
        grads = {"dx": np.array(net.backward(dout), copy=True),
                 **{k: np.array(net.grads[k], copy=True) for k in params0}}
    except Exception as exc:   # a crash in backward (shapes) is a finding, localised below
        grads = None
        results.append(chk.result("network_tf", "backward", False, verdict="contract",
                                  explanation="the network's backward raised",
                                  note=f"{type(exc).__name__}: {exc}"))
    if grads is not None:
        results += _gradient_results(chk, make_net, x, t, params0, dout, grads, tape, tape_low)
    stop_recording(net)
    live = _live_params(chk, net, x, t)
    results += live
    if not all(r.passed for r in results):
        where = localise(net, calls, grads, tape, chk.dtype, tape_low)
        if where.index is None and not all(r.passed for r in live):
            where = stale_params(net)
        note = f"first bad layer, counting from the loss: {where.name}: {where.reason}"
        results = [r if r.passed else r.with_note(note) for r in results]
        results.append(chk.result("network_localise", where.name, False, verdict=where.kind,
                                  explanation=where.reason, note=where.order_note))
    return results


def _gradient_results(chk, make_net, x, t, params0, dout, grads, tape, tape_low):
    fd = _fd_vjp(chk, make_net, x, t, params0, dout)
    results = []
    for name, got in grads.items():
        fdg = fd["x" if name == "dx" else name]
        shaped = np.shape(got) == fdg.shape
        want = low = None
        if not tape.unavailable:
            want = tape.dactivations[0] if name == "dx" else tape.dparams[name]
        if tape_low is not None and not tape_low.unavailable:
            low = tape_low.dactivations[0] if name == "dx" else tape_low.dparams[name]
        tol_fd = tolerance_for(chk.dtype, "fd")
        if want is not None and low is not None:
            tol_fd = noise_tolerance(tol_fd, fdg.project(want), fdg.project(low))
        no_tf = tape.unavailable if want is None else ""
        mine, theirs, excused = fdg.against(got)
        fd_res = chk.compare(mine, theirs, "network_fd", name, "fd", excused=excused,
                             mode=fdg.mode, tol=tol_fd, note=no_tf)
        if not fd_res.judged:
            fd_res = replace(fd_res, note=join_notes(no_tf, KINK_NOTE))
        pair = [fd_res] if want is None else [
            chk.compare(got, want, "network_tf", name, "tf",
                        tol=noise_tolerance(tolerance_for(chk.dtype, "tf"), want, low)), fd_res]
        for r in pair:
            if r.atol > tolerance_for(chk.dtype, r.oracle).atol:
                r = r.with_note(WIDENED_NOTE)
            if not r.passed:
                verdict, explanation = three_way(
                    fdg.project(got) if shaped else None, None if want is None else fdg.project(want),
                    fdg.values, dtype=chk.dtype, fd_excused=fdg.excused)
                r = replace(r, verdict=verdict, explanation=explanation)
            results.append(r)
    return results


def _fd_vjp(chk, make_net, x, t, params0, dout):
    """Finite-difference VJPs of dout * loss w.r.t. x and every param, in float64.

    Each evaluation starts from a fresh copy of one network (``oracle.layer_copy``),
    so every dropout layer draws the mask the network under test drew. Params are set on the layers
    themselves: this checks the layers' backward, not the params mapping.
    """
    snapshot = make_net()
    places = {f"{i}.{k}": (i, k) for i, layer in enumerate(snapshot.layers) for k in layer.params}
    fresh = copier(snapshot, [layer.params[k] for layer in snapshot.layers for k in layer.params])

    def loss_at(arrays):
        net = fresh()
        for name, (i, k) in places.items():
            net.layers[i].params[k] = arrays[name]
        return net.loss_forward(arrays["x"], t)

    return fd_vjp(loss_at, {"x": x, **params0}, np.float64(dout), rng=chk.rng("fd-directions"))


def _live_params(chk, net, x, t):
    """An update through ``net.params`` (in place, then by assignment) reaches the next forward.

    The reference is a deep copy of the network taken just before the update
    (same dropout generators, same running statistics), whose layers get the
    updated values directly: the two forwards must agree exactly. TF is not
    involved, so a forward bug elsewhere does not show up here.
    """
    rng, results = chk.rng("update"), []
    for how in ("in place", "by assignment"):
        reference = copy.deepcopy(net)
        for k in list(net.params):
            old = np.asarray(net.params[k])
            step = (0.1 * rng.standard_normal(old.shape)).astype(old.dtype)
            if how == "in place":
                p = net.params[k]
                p -= step
            else:
                net.params[k] = old - step
            i, _, name = k.partition(".")
            reference.layers[int(i)].params[name] = np.array(net.params[k], copy=True)
        tensor = f"loss after an update {how}"
        try:
            got = net.loss_forward(x, t)
        except Exception as exc:
            results.append(chk.result("network_live_params", tensor, False, verdict="contract",
                                      note=f"forward raised {type(exc).__name__}: {exc}"))
            continue
        results.append(chk.compare(
            got, reference.loss_forward(x, t), "network_live_params", tensor, "law", tol=EXACT,
            verdict="stale params",
            explanation=(f"after an update {how} through net.params, the forward does not compute "
                         "what the layers compute with the updated values: an optimizer's steps "
                         "would never reach them (were the parameters copied?)")))
    return results


def hunt_network(specs=None, *, max_examples=20, shrink=False):
    """The first (shrunk, if ``shrink``) spec drawn from ``specs`` whose check fails, as
    ``Found(spec, failures)``, or None."""
    from properties.search import first_failure
    specs = network_specs() if specs is None else specs
    return first_failure(specs, check_network, max_examples=max_examples, shrink=shrink)
