"""Match a user's layer to a TF twin: candidates by name and param shapes, confirmed by probing.

    match = match_twin(layer, (x,), name="Affine")        # layer: an adapted user layer
    match.kind, match.how, match.convention                # "dense", "dense: x.reshape(N, -1) @ W + b", ""
    tape_vjp(match.twin, layer, (x,), dict(layer.params), dout)

The params' structure picks the family (one 2-D weight: dense; 4-D: conv;
(n, k, k): seed 003's single-image conv; two same-shape 1-D arrays: a norm);
the name (or ``hint``) picks among the parameter-free kinds (activations,
pooling, dropout) and the losses. Sequence layers (``oracle.user_twins_sequence``)
are told by their structure: recurrent weights with a state input per state,
one 2-D table indexed by integers, a loss taking labels and a mask. Every
candidate is then run against the layer's own forward
(:class:`oracle.twin_match.Probe`); the first that agrees at the float64 TF
tolerance is the match. None means no twin fits: the layer
is judged by finite differences and the laws alone, and its results say so.
"""
import numpy as np

from oracle.twin_match import Probe, ProbeError, TwinMatch
from oracle.user_hyper import norm_roles, split_params, words
from oracle.user_twins_dense import (ACTIVATIONS, LOSS_WORDS, activation_candidates,
                                     activation_kinds, dense_candidates, loss_candidates, loss_kinds)
from oracle.user_twins_image import (conv_candidates, global_pool_candidates, pool_candidates,
                                     pool_kinds, single_image_conv_candidates)
from oracle.user_twins_norm import dropout_candidates, norm_candidates, norm_kinds
from oracle.user_twins_sequence import sequence_candidates

__all__ = ["TwinMatch", "match_twin", "candidates"]

UNNAMED = " (matched by probing alone: the name names no known kind)"


def match_twin(layer, inputs, targets=(), *, name, hint=""):
    """The first candidate twin whose forward equals ``layer``'s on ``inputs``, or None.

    layer: an adapted user layer (``params`` under the user's names,
    hyperparameters readable as its attributes). inputs: the layer's input
    arrays; targets: a loss's labels (ints or one-hot) or real targets.
    name: the user's class or function name; hint: a kind the user gave
    ("dense", "max_pool", ...), used instead of the name when set. The layer
    is run on a deep copy; the user's object is never touched. Returns None
    when no candidate agrees, or when the layer's forward cannot run on these
    inputs (never a guess).
    """
    try:
        probe = Probe(layer, inputs, targets, name=name)
    except ProbeError:
        return None
    tails = [t for t in (_tail_probe(layer, inputs, targets, name),
                         _tail_probe(layer, inputs, targets, name, deep=True)) if t is not None]
    other = _wide_probe(layer, inputs, name) if not targets else \
        _other_batch_probe(layer, inputs, targets, name)
    negative = None if targets else _negative_probe(layer, inputs, name)
    first = None
    try:
        for match in candidates(probe, name=name, hint=hint):
            if probe.confirms(match) and (other is None or other.confirms(match)) and \
                    (negative is None or negative.confirms(match)):
                if all(t.confirms(match) for t in tails):
                    return match
                first = first or match
    except ValueError:     # a hyperparameter no twin reads (padding="same"): no more candidates
        pass
    return first     # no candidate agrees in the tail too: the one that agrees on the draw


WIDE_SCALE = 50.0   # the battery's ``large`` kind: saturation, a cap, a clip show there


def _wide_probe(layer, inputs, name):
    """For a layer (not a loss): the forward on its float inputs scaled by WIDE_SCALE. A twin
    must agree there too, as the checks draw such inputs: a ReLU6 or a clipped activation
    agrees with ``tf.nn.relu`` on ordinary values and is no ReLU. None when the layer has no
    float input or cannot run there."""
    scaled = [np.asarray(x) * WIDE_SCALE if np.asarray(x).dtype.kind == "f" else x for x in inputs]
    if not any(np.asarray(x).dtype.kind == "f" for x in inputs):
        return None
    try:
        return Probe(layer, scaled, name=name)
    except ProbeError:
        return None


def _negative_probe(layer, inputs, name):
    """For a layer (not a loss): the forward on its float inputs made negative, -(|x| + 1/2).
    A twin must agree there too: a max-pool padded with zeros and one padded with -inf agree
    wherever a border window holds a positive value, as a normal draw mostly does. None when
    the layer has no float input, cannot run there, or is not finite there (outside its
    domain: a log)."""
    if not any(np.asarray(x).dtype.kind == "f" for x in inputs):
        return None
    moved = [-(np.abs(x) + 0.5) if np.asarray(x).dtype.kind == "f" else x for x in inputs]
    try:
        probe = Probe(layer, moved, name=name)
    except ProbeError:
        return None
    outs = probe.out if isinstance(probe.out, tuple) else (probe.out,)
    finite = all(o.dtype.kind in "fiu" and np.all(np.isfinite(o)) for o in outs)
    return probe if finite else None


def _other_batch_probe(layer, inputs, targets, name):
    """For a loss: the forward on one sample more (the first sample again, its inputs moved).
    At one batch size two reductions can agree (at N = 2, sum / N is 0.5 * sum); at two they
    cannot. None when the arrays share no batch axis or the loss cannot run there."""
    arrays = [np.asarray(a) for a in (*inputs, *targets)]
    if not arrays or any(a.ndim < 1 for a in arrays) or len({a.shape[0] for a in arrays}) != 1:
        return None

    def grown(a, moved):
        extra = a[:1] * 0.5 + 0.25 if moved and a.dtype.kind == "f" else a[:1]
        return np.concatenate([a, extra])
    try:
        return Probe(layer, [grown(np.asarray(x), True) for x in inputs],
                     [grown(np.asarray(t), False) for t in targets], name=name)
    except (ProbeError, ValueError):
        return None


DEEP_TAIL = 1000.0   # a row's scores spread this far: exp(-1000) is 0 in float64


def _tail_probe(layer, inputs, targets, name, deep=False):
    """For a loss on scores and class targets: the forward where every target's probability is
    tiny (scores spread 40-fold, each row's target its lowest score). There a guard inside
    the log (log(p + 1e-12)) shows, which on ordinary scores is below any tolerance: a twin
    must agree here too. ``deep``: each row's scores spread over DEEP_TAIL, where the target's
    probability underflows to 0 and even log(p + 1e-300) shows (the battery's ``overflow``
    values go there). None for anything else, or when the layer cannot run there (a loss
    with no guard gives inf: no twin is confirmed or refused by it)."""
    if not targets or not inputs:
        return None
    x, t = np.asarray(inputs[0]), np.asarray(targets[0])
    if x.dtype.kind != "f" or x.ndim < 1 or x.shape[-1] < 2:
        return None
    low = np.argmin(x, axis=-1)
    if t.dtype.kind in "iu" and t.shape == x.shape[:-1]:
        t = low.astype(t.dtype)
    elif t.shape == x.shape:
        t = np.eye(x.shape[-1], dtype=t.dtype)[low]
    else:
        return None
    x = x - x.mean(axis=-1, keepdims=True)
    if deep:
        spread = np.ptp(x, axis=-1, keepdims=True)
        x = x * (DEEP_TAIL / np.where(spread > 0, spread, 1.0))
    else:
        x = x * 40.0
    try:
        probe = Probe(layer, (x, *inputs[1:]), (t, *targets[1:]), name=name)
    except ProbeError:
        return None
    outs = probe.out if isinstance(probe.out, tuple) else (probe.out,)
    return probe if all(np.all(np.isfinite(o)) for o in outs) else None


def candidates(probe, *, name, hint=""):
    """Every candidate twin for the probed layer, most likely first (unconfirmed)."""
    text = words(hint) or words(name)
    layer, params = probe.layer, probe.params
    yield from sequence_candidates(probe)
    x_shape = tuple(probe.inputs[0].shape) if probe.inputs else ()
    if probe.targets:
        kinds = loss_kinds(text)
        suffix = "" if kinds else UNNAMED
        for match in loss_candidates(kinds or list(LOSS_WORDS), x_shape, probe.targets[0]):
            yield _with_suffix(match, suffix)
        return
    if params:
        yield from _param_candidates(layer, params, x_shape, text)
        return
    yield from _paramless_candidates(layer, x_shape, text)


def _param_candidates(layer, params, x_shape, text):
    roles = split_params(params)
    if roles is not None:
        weight, bias = roles
        ndim = params[weight].ndim
        if ndim == 2:
            yield from dense_candidates(params, weight, bias, x_shape, text)
        elif ndim == 4:
            yield from conv_candidates(layer, params, weight, bias, x_shape)
        elif ndim == 3 and bias is None:
            yield from single_image_conv_candidates(params, weight, x_shape)
    for scale, shift in norm_roles(params):
        yield from norm_candidates(layer, norm_kinds(text), scale, shift, params, x_shape)


def _paramless_candidates(layer, x_shape, text):
    named = False
    if "drop" in text:
        named = True
        yield from dropout_candidates(layer)
    kinds = pool_kinds(text)
    if kinds:
        named = True
        if "global" in text:
            yield from global_pool_candidates(kinds, x_shape)
        yield from pool_candidates(layer, kinds, x_shape)
        yield from global_pool_candidates(kinds, x_shape)
    acts = activation_kinds(text)
    if acts and not kinds:
        named = True
        yield from activation_candidates(acts)
    if not named:
        for match in activation_candidates(list(ACTIVATIONS)):
            yield _with_suffix(match, UNNAMED)
        for match in pool_candidates(layer, ["max_pool", "avg_pool"], x_shape):
            yield _with_suffix(match, UNNAMED)


def _with_suffix(match, suffix):
    if not suffix:
        return match
    return TwinMatch(match.twin, match.kind, match.how + suffix, match.convention)
