"""Infer what a user's layer takes: input shapes from its params, its docstring, or by probing.

    spec = infer_input_shapes(layer, name="Affine", doc=fn.__doc__, rng=rng)
    spec.inputs       # (("N", 6),): one template per input, "N" marking the batch axis
    spec.shapes(3)    # ((3, 6),)
    spec.targets      # a loss's targets: "labels" (ints over spec.classes), "one_hot", "binary", "like_x"
    spec.extras       # further inputs it does not differentiate: integer indices, masks

Candidate templates come from ``properties.user_templates``: the params (a
dense W (D, M) takes (N, D) or a sequence (N, T, D); a conv W (F, C, KH, KW)
takes images; a norm's gamma (D,) takes (N, D) or (N, D, H, W); recurrent
weights size x and every state), a docstring in cs231n's ``x: ... of shape
(N, D)`` form, and a short list of common shapes. A layer with several inputs
(``x, prev_h, prev_c``) gets one template per input. A forward that runs on
no float input but on integer indices into the rows of a 2-D param (an
embedding) takes those indices, drawn with repeats; a loss's mask argument
gets a mask with padded tails. Each candidate is tried on a deep copy:
forward then backward must run and give arrays of consistent shapes, for two
batch sizes (each output's first axis following the batch). The first that
works is returned; None when none does. A forward that gives NaN or inf on every shape
(a log, a square root, a loss on probabilities) is tried again with its float inputs drawn
in (0, inf), then (-1, 1), then (0, 1) (``values.PROBED_DOMAINS``); the spec says so.
"""
import copy
import inspect
from dataclasses import dataclass, replace
from typing import Optional

import numpy as np

from layers.attribute_probe import TRAINING_NAMES
from oracle.user_hyper import words
from oracle.user_twins_dense import LOSS_WORDS
from properties import outputs as O
from properties.user_spec_refine import lengthened, per_sample_labels
from properties.user_probe_runs import (finite_across, gradients_at, gradients_ok, output_ok,
                                        reads_beyond, wrong_shapes)
from properties.user_targets import (BATCH, Target, draw_targets, is_adjacency_name, is_index_name,
                                     is_mask_name, LENGTHS, loss_targets_tried, target_for)
from properties.user_templates import (UNLIKE, _from_doc, _show, index_inputs, one_input,
                                       params_of, several_inputs)
from properties.values import PROBED_DOMAINS, domain_text, into_domain

__all__ = ["BATCH", "InputSpec", "infer_input_shapes", "within_domain", "_from_doc"]   # _from_doc: its tests



@dataclass(frozen=True)
class InputSpec:
    """What a layer takes.

    inputs: one shape template per differentiable input, a tuple of ints with
    ``BATCH`` ("N") at the batch axis; batched: False for a layer that takes
    one sample with no batch axis (seed 003's (h, w) / (h, w, c)). targets: for
    a loss, "labels" (ints in [0, classes)), "one_hot" (rows of the identity),
    "binary" (0 or 1, shaped like x) or "like_x" (reals shaped like x); "" otherwise. extras: further inputs the
    layer does not differentiate (:class:`~properties.user_targets.Target`:
    integer indices, a mask), passed after those. names / target_names: the
    names of the differentiable inputs and of the others, when they differ
    from what the adapter was built with (None: keep the adapter's); an
    embedding's ``names=()``, ``target_names=("idx",)``. source: "params",
    "docstring", "probe", "unlike widths" (``loose``) or "hint"; how: one line saying
    where the shapes came from. domains: per differentiable input, the open
    interval (lo, hi) its values are drawn in (``values.into_domain``), or None; () for
    none at all. A loss's targets shaped like x are drawn in x's.
    """

    inputs: tuple
    batched: bool
    targets: str = ""
    classes: int = 0
    source: str = ""
    how: str = ""
    extras: tuple = ()
    names: Optional[tuple] = None
    target_names: Optional[tuple] = None
    loose: bool = False      # taken where forward and backward merely run (inputs of unlike
                             # widths, source UNLIKE: where they run, like ones hide a mix-up)
    domains: tuple = ()

    def shapes(self, batch=2):
        """Concrete input shapes for a batch of ``batch`` samples."""
        return tuple(tuple(batch if d == BATCH else d for d in t) for t in self.inputs)

    def draw(self, rng, batch=2, scale=1.0):
        """(inputs, targets): normal inputs (standard deviation ``scale``), moved into their
        domains, then targets of the spec's kinds."""
        xs = tuple(into_domain(rng.standard_normal(s) * scale, self.domain(i))
                   for i, s in enumerate(self.shapes(batch)))
        ts = draw_targets(self.targets, xs[0].shape, rng, self.classes) if xs else ()
        if self.targets == "like_x":
            ts = tuple(into_domain(t, self.domain(0)) for t in ts)
        return xs, ts + tuple(t.draw(rng, batch, xs) for t in self.extras)

    def domain(self, i):
        """The interval input ``i`` is drawn in, or None."""
        return self.domains[i] if i < len(self.domains) else None

    def within(self, domain, names=("x",), why="the widest range tried where the forward gives "
                                                  "no NaN or inf"):
        """This spec with every float input drawn in ``domain`` (found by probing, or ``why``)."""
        shown = " and ".join(self.names or names[:len(self.inputs)]) or "x"
        return replace(self, domains=(domain,) * len(self.inputs),
                       how=f"{self.how}; {shown} drawn in {domain_text(domain)}, {why}")

    @property
    def mask_target(self):
        """The index among the drawn targets of the first mask, or None."""
        for i, t in enumerate(self.extras):
            if t.kind == "mask":
                return i + (1 if self.targets else 0)
        return None

    def apply(self, layer):
        """Give the adapter ``layer`` the spec's input and target names (when the spec has them)."""
        if self.names is not None:
            layer.input_names = tuple(self.names)
        if self.target_names is not None:
            layer.target_names = tuple(self.target_names)
        return layer


def infer_input_shapes(layer, *, name, doc="", kind=None, rng):
    """An :class:`InputSpec` for ``layer`` (an adapted user layer), or None when nothing runs.

    name: the user's class or function name; doc: the forward's docstring;
    kind: a known kind (a twin match's, or the user's hint), which may say the
    layer is a loss and what its targets are; rng: a NumPy Generator for the
    probe inputs. The layer is only ever run on deep copies.
    """
    names = tuple(getattr(layer, "input_names", ("x",)) or ("x",))
    loss = _is_loss(layer, name, kind)
    PROBES.reset()
    phases = [_float_specs, _index_specs]
    if len(names) == 1 and is_index_name(names[0]) and not loss:
        phases.reverse()             # ``forward(idx)``: integer indices first
    for domain in (None, *PROBED_DOMAINS):   # where the forward is finite: see the module's doc
        for phase in phases:
            # First the shapes on which every gradient has its tensor's shape; then, so that a
            # layer whose dW or dx has the wrong shape is checked (and that bug reported) rather
            # than skipped, the first on which forward and backward merely run. A batch of
            # samples comes before one sample without a batch axis: a backward returning
            # dx.ravel() has dx in x's shape only on a 1-D input, and passed there.
            # A forward of a batch returning one number is a loss whatever its name (a
            # PairMSE(a, b), a KL between two inputs): tried as one before one sample alone.
            for batched in (True, False):
                for strict in (True, False):
                    # (a loss by its signature alone may be a layer with data: a likelihood)
                    for as_loss in ((True,) if loss == NAMED else (True, False) if loss
                                    else (False, True)):
                        ran = []
                        for spec in phase(layer, name, doc, kind, names, as_loss):
                            spec = spec.within(domain, names) if domain else spec
                            if spec.batched == batched and runs(layer, spec, rng, as_loss,
                                                                strict and not spec.loose) \
                                    and finite_across(layer, spec, as_loss):
                                ran.append(spec)
                                if strict:
                                    break
                        if not ran:
                            continue
                        # where no shape gives every gradient its tensor's shape: the one with
                        # the fewest wrong, then the input of most axes (a LayerNorm for
                        # (B, T, C) with a dgamma summed over one axis is not checked on 2-D
                        # inputs, where its right dbeta would be the one shown wrong)
                        spec = ran[0] if strict else next(filter(None, (
                            _gradient_shaped(layer, s, rng, as_loss) for s in ran)), None) or \
                            min(ran, key=lambda s: (
                                wrong_shapes(layer, s, rng, as_loss), 0 if s.source == "probe"
                                else -max(map(len, s.inputs), default=0)))   # (blind: in order)
                        if batched:      # (an output of one window there: a longer input)
                            return lengthened(layer, spec, rng, lambda lay, s: runs(
                                lay, s, rng, as_loss, strict)) or spec
                        return _batch_backward_raised(
                            layer, spec, phase(layer, name, doc, kind, names, as_loss),
                            rng, as_loss) or spec
    # Last, the first shape on which forward runs although backward raised at every one: a
    # backward that always raises is a bug to report (``layer raised``), not a layer to skip.
    for phase in phases:
        for spec in phase(layer, name, doc, kind, names, loss):
            if runs(layer, spec, rng, loss, strict=False, backward=False):
                how = spec.how.replace(" on which forward and backward run", "")
                return replace(spec, how=f"{how}; {BACKWARD_RAISED}")
    return None


def _gradient_shaped(layer, spec, rng, loss):
    """``spec`` with each input shaped as backward's gradient of it came out (a loss reading
    two columns of a (N, 5) prediction returns a (N, 2) gradient: its input is (N, 2)), where
    every gradient has its tensor's shape there and the forward reads nothing of the inputs
    beyond those shapes (else the gradient's shape is the bug); else None."""
    try:
        dxs, xs, ts = gradients_at(layer, spec, rng, loss)
    except Exception:
        return None
    if len(dxs) != len(xs) or all(np.shape(d) == x.shape for d, x in zip(dxs, xs)) or any(
            np.ndim(d) != x.ndim or spec.batched and np.shape(d)[:1] != x.shape[:1]
            or any(a > b for a, b in zip(np.shape(d), x.shape)) for d, x in zip(dxs, xs)) \
            or reads_beyond(layer, spec, xs, ts, [np.shape(d) for d in dxs], rng):
        return None         # (a forward reading what its gradient leaves out: a wrong shape)
    lead = (BATCH,) if spec.batched else ()
    templates = tuple(lead + tuple(np.shape(d)[len(lead):]) for d in dxs)
    shaped = replace(spec, inputs=templates, how=", ".join(map(_show, templates)) +
                     ": the shape of the gradient backward returns")
    return shaped if runs(layer, shaped, rng, loss) else None


def _batch_backward_raised(layer, single, specs, rng, loss):
    """A batch of the samples ``single`` is (a batch axis before its shape, from params, a
    docstring or a hint: a blind (N, 6, 6) through a 2-D matmul is none) when the forward takes
    it and backward raises on it: a bug to report on that batch, not a layer of one sample."""
    for spec in specs:
        if spec.source != "probe" and spec.batched and [tuple(d for d in t if d != BATCH) for t in spec.inputs] == \
                [tuple(t) for t in single.inputs] and spec.extras == single.extras and \
                runs(layer, spec, rng, loss, strict=False, backward=False):
            return replace(spec, how=f"{spec.how}; {BATCH_BACKWARD_RAISED}")
    return None


BATCH_BACKWARD_RAISED = ("forward takes a batch of samples, but backward raised on it (on one "
                         "sample alone it runs)")
BACKWARD_RAISED = ("forward runs on it, but backward raised on every shape tried (if it is "
                   "not a shape the layer takes, add a hint)")


def _float_specs(layer, name, doc, kind, names, loss):
    """Specs with float inputs, in the order the templates come."""
    named = tuple(getattr(layer, "target_names", ()) or ())
    tried = loss_targets_tried(layer, name, doc, kind, names, loss)
    first = named[0] if loss and named else "targets"
    extras = tuple(target_for(n) for n in (named[1:] if loss else named))   # a loss's first: below
    candidates = (((t,), s, h) for t, s, h in one_input(layer, doc)) if len(names) == 1 \
        else several_inputs(layer, doc, names)
    # a head with weights scores as many classes as its weights' columns (an ArcFace's W
    # (D, C)): labels index those, fewer than its input's width when C < D
    columns = [int(v.shape[-1]) for v in params_of(layer).values() if v.ndim == 2
               and v.shape[-1] >= 2]
    seen = set()
    for templates, source, how in candidates:
        if templates in seen:
            continue
        seen.add(templates)
        batched = any(BATCH in t for t in templates)
        sample = per_sample_labels(doc, named, templates) if loss else None
        if sample is not None:      # (a capsule margin loss: v (N, K, D), y (N,) over K)
            yield InputSpec(templates, batched, "", 0, source, f"{how}; {sample.describe()} "
                            f"from the docstring", (sample, *extras))
        for targets in tried:
            # a loss of a pair (x1, x2, y): y says similar or not, 0 or 1; of one input: a class
            classes = (2 if len(names) > 1 else templates[0][-1]) \
                if targets in ("labels", "one_hot") else 0
            if not isinstance(classes, int):     # (a template ending at its batch axis)
                continue
            classes = min([classes, *columns])
            more = ("; targets 0 or 1, shaped like the input" if targets == "binary" else
                    f"; {first}: floats shaped like the input" if targets == "like_x" else "")
            # float data beside it shaped like it, then one number per sample (a PPO loss's
            # advantages and old log-probabilities beside its logits (N, A))
            per_sample = tuple(replace(t, template=(BATCH,)) if t.kind == "float" and
                               t.template is None else t for t in extras)
            for drawn in (extras, per_sample) if batched and per_sample != extras else (extras,):
                yield InputSpec(templates, batched, targets, classes, source, how + more + (
                    "; " + "; ".join(t.describe() for t in drawn) if drawn else ""), drawn,
                    loose=source == UNLIKE)


def _index_specs(layer, name, doc, kind, names, loss):
    """A forward of one argument taking integer indices (an embedding's lookup), or of several
    named as ids (a GMF's ``forward(users, items)``: each below every table's rows)."""
    if not loss and len(names) > 1 and all(is_index_name(n) for n in names):
        yield from _ids_specs(layer, names)
    if loss or len(names) != 1:
        return
    for template, vocab, how in index_inputs(layer):
        floats = InputSpec((template,), True, source="params", how=(
            f"{_show(template)}: floats, not the indices a lookup takes (the forward multiplies "
            f"them: backward returns their gradient)"))
        if _differentiates(layer, floats):    # a maxout's x (N, D) through W (D, M, K): no lookup
            yield floats
            continue
        target = Target(names[0], "index", template, vocab)
        yield InputSpec((), True, source="params", how=f"{names[0]}: {how}", extras=(target,),
                        names=(), target_names=(names[0],))


def _ids_specs(layer, names):
    rows = min((v.shape[0] for v in params_of(layer).values() if v.ndim == 2), default=0)
    for template in ((BATCH,), (BATCH, 4)) if rows else ():
        yield InputSpec((), True, source="params", names=(), target_names=tuple(names), how=(
            f"{', '.join(names)}: integer indices {_show(template)} in [0, {rows}) with repeats, "
            f"below every table's rows"),
            extras=tuple(Target(n, "index", template, rows) for n in names))


def _differentiates(layer, spec):
    """``layer`` takes floats of ``spec``, its backward returning a dx of their shape (a lookup
    refuses float indices, or returns no dx)."""
    (x,), _ = spec.draw(np.random.default_rng(3), 2)
    try:
        with np.errstate(all="ignore"):
            trial = spec.apply(copy.deepcopy(layer))
            dx = trial.backward(*O.parts(O.each(np.ones_like, trial.forward(x))))
    except Exception:
        return False
    return isinstance(dx, np.ndarray) and dx.shape == x.shape and bool(np.any(dx))


# ---- losses and their targets -----------------------------------------------------------------

NAMED = "named"     # a loss by its name or kind (else by its signature: a guess)


def _is_loss(layer, name, kind):
    text = words(kind or "") + " " + words(name)
    if getattr(layer, "is_loss", False) or "loss" in text or any(
            w in words(kind or "") for ws in LOSS_WORDS.values() for w in ws):
        return NAMED
    inner = getattr(layer, "__dict__", {}).get("layer") or getattr(layer, "__dict__", {}).get("obj")
    forward = getattr(inner, "forward", None)
    try:
        required = [p for p in inspect.signature(forward).parameters.values()
                    if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                    and p.name not in TRAINING_NAMES]    # (nnfs's forward(inputs, training))
    except (TypeError, ValueError):
        return False
    n_inputs = len(getattr(layer, "input_names", ("x",)))
    named = tuple(getattr(layer, "target_names", ()) or ())
    if n_inputs != 1 or any(is_mask_name(p.name) or is_adjacency_name(p.name) or
                            p.name.lower() in LENGTHS for p in required[1:2]):
        return False    # forward(x, mask), forward(x, adj), forward(x, lengths): no loss
    return len(required) == 2 or len(named) == len(required) - 1 > 1


# ---- does it run? -----------------------------------------------------------------------------

def within_domain(layer, spec, rng):
    """``spec`` as given (a hint's shapes) when forward and backward run on it with finite
    outputs, else that spec drawn in the widest of ``PROBED_DOMAINS`` where they do; ``spec``
    itself when there is none (its failures are then the layer's to report)."""
    def finite(s):
        return any(runs(layer, s, rng, loss, strict=False) and finite_across(layer, s, loss)
                   for loss in (False, True))
    names = tuple(getattr(layer, "input_names", ("x",)) or ("x",))
    clipped = getattr(layer, "gradcheck_domain", None)     # a loss clipping its predictions
    if clipped and not spec.domains and spec.inputs:
        return spec.within(clipped, names, "the range its forward clips them to")
    if spec.domains or not spec.inputs or finite(spec):
        return spec
    return next((s for s in (spec.within(d, names) for d in PROBED_DOMAINS) if finite(s)), spec)


class _Probes:
    """What the forward did on the shapes tried for one layer: for a skip to say why."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.ran, self.raised = False, None     # raised: (the first exception, its inputs' shapes)

    def why(self):
        """"forward raised ... on every shape tried (the first: ...)", or "" when it ever ran."""
        if self.ran or self.raised is None:
            return ""
        exc, shapes = self.raised
        shown = ", ".join(str(tuple(s)) for s in shapes)
        return (f"forward raised {type(exc).__name__}: {str(exc)[:160]} on every shape tried"
                + (f" (the first: {shown})" if shown else ""))


PROBES = _Probes()


def runs(layer, spec, rng, loss, strict=True, backward=True):
    """Forward then backward run on a deep copy, with consistent shapes, for two batch sizes
    (``backward=False``: forward alone)."""
    for batch in ((2, 3) if spec.batched else (None,)):
        xs, ts = spec.draw(rng, batch or 2)
        try:
            trial = spec.apply(copy.deepcopy(layer))
            with np.errstate(all="ignore"):
                try:
                    out = trial.forward(*xs, *ts)
                except Exception as exc:
                    PROBES.raised = PROBES.raised or (exc, [np.shape(x) for x in xs])
                    raise
                PROBES.ran = True
                if not output_ok(out, loss, batch):
                    return False
                if not backward:
                    continue
                dout = 1.0 if loss else O.each(lambda o: rng.standard_normal(np.shape(o)), out)
                dx = trial.backward(*O.parts(dout))
                grads = dict(trial.grads) if trial.params else {}
                params = {k: np.shape(v) for k, v in trial.params.items()}
        except Exception:
            return False
        if backward and strict and not gradients_ok(dx, xs, grads, params):
            return False
    return True
