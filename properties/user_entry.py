"""One user layer, set up for the battery: its registry entry, and what probing it tells.

Given a way to build the user's object and to adapt it to the protocol, and the
input it takes (``properties.user_shapes``), :func:`layer_entry` probes a copy
once for what the battery must know: the TF twin that matches its forward
(``oracle.user_twins``), whether it returns a dx, how the batch is coupled,
whether the training flag changes its forward (and whether its backward then
exists in inference mode too: if not, inference mode still gets the
forward-only properties), whether it keeps float32. A loss with a mask gets
the ``masked_no_grad`` law.
"""
import copy
import inspect
import traceback
from dataclasses import dataclass, field, replace
from typing import Callable, Optional

import numpy as np
from hypothesis import strategies as st

from oracle.tape import tape_forward
from oracle.user_twins import match_twin
from properties.accumulation_law import declares_accumulation
from properties import outputs as O
from properties import strategies as S
from properties.registry import Entry
from properties.global_rng import kept_global_rng, reseed
from properties.user_batch_rule import batch_rule as find_batch_rule, forward_copy
from properties.user_draws import (FLOAT64_ONLY, at_own_scale, computes_in_float32, dtypes_checked,
                                  set_by_first_forward)
from properties.user_hinted import HintError, spec_from_hint
from properties.user_shapes import BATCH, runs, within_domain
from properties.values import KINDS, make_values

NO_TWIN = ("no TF twin matched this layer: it is checked against finite differences and the "
           "laws only")


@dataclass
class Found:
    """One thing to check: a layer entry, or a network / optimizer check."""
    label: str
    path: str
    style: str
    how: str
    entry: Optional[Entry] = None
    check: Optional[Callable] = None     # () -> [Result], for networks and optimizers
    variants: list = field(default_factory=list)   # other strides / paddings to check it at
    also: list = field(default_factory=list)       # more Founds: the same layer on other inputs


@dataclass
class Skipped:
    label: str
    path: str
    reason: str
    unchecked: bool = True   # code found and not checked (False: skipped as the user asked, or
                             # only another setting of a layer that was checked as built)


class CannotCheck(Exception):
    """Looks like something to check, but cannot be driven: the message says why and what to add."""


class NothingToCheck(CannotCheck):
    """Has a forward but no backward anywhere: no gradient to check (a helper class), so not
    counted as code left unchecked."""


def hinted_spec(hint, names=("x",), **kw):
    """The InputSpec a hint's arrays (``x=(N, 3)``, ``idx=int(N, 5)<10``...) give for a forward
    taking ``names``, or None; a hint that does not fit raises CannotCheck naming its line."""
    try:
        return spec_from_hint(hint, tuple(names), **kw)
    except HintError as exc:
        raise CannotCheck(str(exc)) from exc


def layer_entry(label, path, style, name, build, adapt, layer, spec, needs_probe, twin_hint=""):
    """A :class:`Found` holding the registry entry of one user layer.

    build: () -> a fresh user object; adapt: (object, probe inputs) -> (protocol
    layer, style); layer: one adapted copy to probe; spec: its InputSpec;
    needs_probe: the adapter must run the layer to find its parameters.
    """
    rng = np.random.default_rng(0)
    layer = spec.apply(layer)
    if spec.source == "hint" or getattr(layer, "gradcheck_domain", None):
        spec = within_domain(layer, spec, rng)   # a hint's shapes, or a loss's clipped inputs
    xs, ts = spec.draw(rng, batch=2)
    match = match_twin(copy.deepcopy(layer), xs, ts, name=name, hint=twin_hint)
    input_grads = _returns_dx(layer, xs, ts)
    warm = set_by_first_forward(layer, xs, ts)    # a data-dependent init: one forward when built

    def make(config, rng, dtype):
        probe = None
        if needs_probe or warm:
            drawn = spec.draw(np.random.default_rng(0))
            probe = (*drawn[0], *drawn[1])
        made = spec.apply(adapt(build(), probe if needs_probe else None)[0])
        if warm:
            with np.errstate(all="ignore"):
                made.forward(*probe)
        made.reseeded_generators = reseed(made, rng)   # every build of a case draws alike
        if not input_grads:
            made.input_grads = False     # backward returns None: only its params are checked
        return made

    encodings = _label_encodings(layer, spec)

    def targets(config, n, rng, dtype):
        drawn = replace(spec, targets=config["targets"]) if "targets" in config else spec
        t = drawn.draw(rng, batch=n)[1]
        return tuple(np.asarray(v, dtype) if np.asarray(v).dtype.kind == "f" else v for v in t)

    has_targets = bool(spec.targets or spec.extras)
    # a loss: targets, or a backward() that takes no upstream gradient (a triplet loss's), or
    # one number out of a batch (a loss of two inputs and no targets)
    loss = bool(spec.targets) or ((has_targets or not getattr(layer, "takes_dout", True)
                                   or spec.batched) and _scalar(layer, xs, ts))
    in_float32 = computes_in_float32(layer, xs, ts)
    batch_rule = find_batch_rule(layer, spec, loss, in_float32)
    modes, backward_modes = _training_modes(layer, xs, ts)
    mask_at = spec.mask_target if loss else None    # a loss's mask: no gradient under it
    unbounded = match is not None and not spec.domains and _twin_overflows(match.twin, layer,
                                                                            xs, ts)
    dtypes = ("float32",) if in_float32 else dtypes_checked(layer, xs, ts)
    how = "; ".join(filter(None, [
        f"{style} style", spec.how, "" if input_grads else "backward returns no dx (params only)",
        WARMED if warm else "",
        "no large inputs nor any past exp's overflow: the function itself is inf there, its "
        "twin too (in float32 from |x| = 88.7)" if unbounded else "",
        "labels drawn as integers and as one-hot rows (the forward takes both)" if encodings else "",
        "backward in training mode only: inference is checked forward" if backward_modes else "",
        "backward() takes no upstream gradient (a loss's, at dout = 1)"
        if not getattr(layer, "takes_dout", True) else "",
        _sublayer_params(layer), FLOAT64_ONLY if dtypes == ("float64", None) else "",
        f"TF twin: {match.how}" if match else NO_TWIN,
        f"convention: {match.convention}" if match and match.convention else ""]))
    configs = S.evenly(tuple({"targets": k} for k in encodings)) if encodings else st.just({})
    entry = Entry(label, make, configs, input_shapes=lambda c, n: spec.shapes(n),
                  twin=match.twin if match else None, targets=targets if has_targets else None,
                  batch_rule=batch_rule, training_modes=modes, backward_modes=backward_modes,
                  mask_target=mask_at, running_stats=_running_stats(layer, modes, spec),
                  param_values=at_own_scale(layer),
                  max_batch=4 if spec.batched else 1,
                  dtypes=tuple(filter(None, dtypes)), no_twin=NO_TWIN if match is None else "",
                  convention=match.convention if match else "", source=path,
                  input_domains=spec.domains, takes_dout=getattr(layer, "takes_dout", True),
                  accumulates=declares_accumulation(layer, (*xs, *ts)), min_batch=_min_batch(layer, spec, modes),
                  paired=bool(loss) and len(spec.inputs) > 1 and len(set(spec.inputs)) == 1,
                  tf_kinds=tuple(k for k in KINDS if k not in ("overflow", "large"))
                  if unbounded else KINDS)
    return Found(label, path, style, how, entry=entry)


WARMED = ("its first forward sets its params from the batch (a data-dependent init): built, it is "
          "given one forward before its params are drawn")
IMAGE_HOW = ("a 4-D input (N, {d}, 1, 1), which its forward flattens as it flattens a CNN's "
             "feature maps: dx must come back in x's shape")
UNEVEN_HOW = ("(N, {c}, {h}, {w}): as probed, one row fewer and one column more, an image no "
              "param sized (on a square one, a backward looping over H where W belongs is "
              "right, and so are an adaptive pool's bins that divide it evenly)")


def also_label(label, spec):
    """``affine.Affine(x (N, 4, 1, 1))``: the label of the entry of ``also_specs``'s ``spec``."""
    return f"{label}(x ({', '.join(map(str, spec.inputs[0]))}))"


def also_specs(layer, spec):
    """[spec]: the further inputs a layer is also checked on, each an entry of its own (the
    flattened 4-D input of ``flattening_spec``, the uneven image of ``uneven_spec``)."""
    return [s for s in (flattening_spec(layer, spec), uneven_spec(layer, spec)) if s is not None]


def uneven_spec(layer, spec):
    """The spec of an image (N, C, H - 1, W + 1) for a layer whose square (N, C, H, H) came
    from probing alone, when it runs on that too; else None."""
    if len(spec.inputs) != 1 or spec.targets or spec.extras or spec.source != "probe" or \
            not spec.batched or len(spec.inputs[0]) != 4:
        return None
    n, c, h, w = spec.inputs[0]
    if n != BATCH or h != w:
        return None
    other = replace(spec, inputs=((BATCH, c, h - 1, w + 1),),
                    how=UNEVEN_HOW.format(c=c, h=h - 1, w=w + 1))
    return other if runs(layer, other, np.random.default_rng(5), False) else None


def _min_batch(layer, spec, modes):
    """2 when the layer refuses a batch of one sample in training by a ``raise`` or ``assert`` of
    its own (as torch's BatchNorm raises "Expected more than 1 value per channel when
    training") and takes two, else 1. A batch of one that breaks the layer's arithmetic (a
    squeeze dropping the batch axis) is a bug the checks must still draw."""
    if not spec.batched or True not in modes:
        return 1
    runs = []
    for n in (1, 2):
        xs, ts = spec.draw(np.random.default_rng(3), batch=n)
        try:
            trial = copy.deepcopy(layer)
            trial.training = True
            with np.errstate(all="ignore"):
                trial.forward(*xs, *ts)
            runs.append(True)
        except Exception as exc:
            line = (traceback.extract_tb(exc.__traceback__)[-1].line or "").lstrip()
            runs.append("refused" if line.startswith(("raise", "assert")) else False)
    return 2 if runs == ["refused", True] else 1


def _sublayer_params(layer):
    """"params from its sublayers: fc1.W, ...": what a block's line says is checked beside dx."""
    try:
        names = [n for n in (layer.params or {}) if "." in n]
    except Exception:
        return ""
    return f"params from its sublayers: {', '.join(names)}" if names else ""


def flattening_spec(layer, spec):
    """The spec of a 4-D input (N, D, 1, 1) for a layer taking (N, D) whose forward flattens
    what it is given (deep-learning-from-scratch's ``Affine``, a ``Flatten``): the same output
    as on (N, D), so a backward that forgets to give dx x's shape back is found; else None."""
    if len(spec.inputs) != 1 or spec.targets or spec.extras or not spec.batched:
        return None
    template = spec.inputs[0]
    if len(template) != 2 or template[0] != BATCH:
        return None
    d = template[1]
    xs, ts = spec.draw(np.random.default_rng(4), batch=2)
    try:
        flat, image = forward_copy(layer, xs, ts), forward_copy(layer, [xs[0].reshape(2, d, 1, 1)], ts)
    except Exception:
        return None
    if len(flat) != len(image) or not all(a.shape == b.shape and np.array_equal(a, b)
                                          for a, b in zip(flat, image)):
        return None
    image = replace(spec, inputs=((BATCH, d, 1, 1),), how=IMAGE_HOW.format(d=d), source="probe")
    # its backward must run there too, dx of whatever shape (a loss over (N, E) logits giving
    # the same number on (N, E, 1, 1) by its reductions' luck flattens nothing: its backward,
    # written for 2-D, broadcasts (E, 1, 1) against (E,) and raises)
    loss = len(flat) == 1 and flat[0].size == 1
    return image if runs(layer, image, np.random.default_rng(4), loss, strict=False) else None


def _label_encodings(layer, spec):
    """("labels", "one_hot") when a loss taking class labels takes them in both encodings, and
    gives the same loss for the same labels either way (deep-learning-from-scratch's
    ``SoftmaxWithLoss`` branches on ``t.size == y.size``: each branch has its own backward,
    and both must be checked); else ()."""
    if spec.targets not in ("labels", "one_hot"):
        return ()
    kinds = (spec.targets, "one_hot" if spec.targets == "labels" else "labels")
    other = replace(spec, targets=kinds[1])
    if not runs(layer, other, np.random.default_rng(2), True):
        return ()
    xs, ts = spec.draw(np.random.default_rng(3), batch=3)
    labels = ts[0] if kinds[0] == "labels" else np.argmax(ts[0], axis=-1)
    as_other = np.eye(spec.classes)[labels] if kinds[1] == "one_hot" else labels
    try:
        first, second = forward_copy(layer, xs, ts), forward_copy(layer, xs, (as_other, *ts[1:]))
    except Exception:
        return ()
    if len(first) != 1 or len(second) != 1 or first[0].size != 1 or second[0].size != 1:
        return ()
    a, b = float(first[0].reshape(-1)[0]), float(second[0].reshape(-1)[0])
    return kinds if abs(a - b) <= 1e-9 * max(1.0, abs(a)) else ()


def _ones(out):
    """An upstream gradient of ones for ``out`` (1.0 for a scalar loss), one per output."""
    return O.each(lambda o: 1.0 if np.ndim(o) == 0 else np.ones(np.shape(o)), out)


def _backward(layer, out):
    return layer.backward(*O.parts(_ones(out)))


def _returns_dx(layer, xs, ts):
    lay = copy.deepcopy(layer)
    if not tuple(getattr(lay, "input_names", ("x",))):
        return True               # nothing to return: no differentiable input
    try:
        with np.errstate(all="ignore"):
            out = lay.forward(*xs, *ts)
            return _backward(lay, out) is not None
    except Exception:
        return True


def _scalar(layer, xs, ts):
    """Does forward return one number (a loss)?"""
    try:
        outs = forward_copy(layer, xs, ts)
    except Exception:
        return False
    return len(outs) == 1 and outs[0].size == 1 and outs[0].ndim <= 1



def _training_modes(layer, xs, ts):
    """(training modes, backward modes): both modes when the training flag changes the
    forward, else (True,); backward modes (True,) when backward runs in training mode only
    (a dropout or a batch norm whose backward needs a training forward's cache), else None."""
    outs, backward_ok = [], []
    with kept_global_rng():     # the user's own np.random state is theirs again afterwards
        for mode in (True, False):
            lay = copy.deepcopy(layer)
            lay.training = mode
            np.random.seed(0)
            try:
                out = lay.forward(*xs, *ts)
            except Exception:       # no inference forward at all: training mode only
                return (True,), None
            outs.append([np.asarray(o) for o in O.parts(out)])
            try:
                _backward(lay, out)
                backward_ok.append(True)
            except Exception:   # e.g. a dropout whose backward exists only after a training forward
                backward_ok.append(False)
    same = len(outs[0]) == len(outs[1]) and all(
        a.shape == b.shape and np.array_equal(a, b) for a, b in zip(*outs))
    if same or not backward_ok[0]:
        return (True,), None
    return (True, False), (None if backward_ok[1] else (True,))


RUNNING_NAMES = (("running_mean", "running_var"), ("moving_mean", "moving_var"),
                 ("moving_mean", "moving_variance"))


def _running_stats(layer, modes, spec):
    """The names of a normalisation layer's running statistics, when it keeps them the
    usual way (attributes, a ``momentum``, a training flag that changes the forward, one
    (N, D) input), else (): the running-statistics property then checks them. Only (N, D):
    there per-feature and per-channel statistics coincide, while a user's (N, C, H, W) norm
    may keep them per channel or per flattened feature (deep-learning-from-scratch)."""
    if modes != (True, False) or not hasattr(layer, "momentum") or len(spec.inputs) != 1 \
            or len(spec.inputs[0]) != 2:
        return ()
    found = _running_names(layer)
    if found:
        return found
    probe = copy.deepcopy(layer)    # made by a first training forward (CS231n's bn_param)
    probe.training = True
    try:
        with np.errstate(all="ignore"):
            probe.forward(*spec.draw(np.random.default_rng(6), batch=3)[0])
    except Exception:
        return ()
    return _running_names(probe)


def _running_names(layer):
    return next((names for names in RUNNING_NAMES
                 if all(getattr(layer, n, None) is not None for n in names)), ())


def _twin_overflows(twin, layer, xs, ts):
    """The matched twin itself gives inf or NaN on the ``overflow`` kind's inputs (magnitudes
    past where exp overflows): the function is unbounded there (an exp layer), so no layer
    can be finite, and those inputs, or the ``large`` ones past float32's overflow, judge
    nothing."""
    rng = np.random.default_rng(5)
    over = [make_values("overflow", np.shape(x), np.dtype(np.float64), rng) for x in xs]
    try:
        with np.errstate(all="ignore"):
            out = tape_forward(twin, layer, over, dict(layer.params), ts)
    except Exception:
        return False
    return not all(np.all(np.isfinite(np.asarray(o, np.float64))) for o in O.parts(out))


def bases_not_counted(out, names, prefix):
    """A class not checkable itself that classes of the file which were checked derive from (a
    scheduler's ``_Scheduler`` whose ``get_lr`` raises NotImplementedError) is listed, not
    counted as unchecked: what it holds was checked through them."""
    checked = {f.label for f in out.found}
    for i, skip in enumerate(out.skipped):
        base = names.get(skip.label[len(prefix):])
        heirs = [n for n, c in names.items() if inspect.isclass(base) and inspect.isclass(c)
                 and c is not base and issubclass(c, base) and f"{prefix}{n}" in checked]
        if skip.unchecked and heirs:
            out.skipped[i] = replace(skip, unchecked=False, reason=(
                f"{skip.reason}; a base class of {', '.join(heirs)}, checked"))
    return out
