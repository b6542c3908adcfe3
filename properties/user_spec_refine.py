"""What a first probe or a docstring leaves out of a layer's inputs (``properties.user_shapes``).

An input on which the output has an axis of one, made longer: probing takes the first common
shape on which forward and backward run, (N, 5) first (or a docstring's (N, L) at a size of its
own, a kernel's (5,) as a width). A layer cutting its input into windows (frames of 4 every 2
samples, a valid convolution of width 5, a pool of 4) gives one window there, and windows that
overlap, or an output position that follows another, are never exercised: a backward writing
``dx[:, s:s + k] = g`` where ``+=`` belongs passed. Where an axis of the output is 1 at the
probed shape and grows on a longer input, the longer input is the one checked.

A loss's labels one per sample beside an input of 3 axes or more (a capsule margin loss's
``v: (N, K, D)`` and ``y: (N,)``), where its docstring says so: drawn over the input's
leading axes (a sequence's (N, T)), they fit no forward, and the loss was taken for one
sample without a batch axis."""
import copy
from dataclasses import replace

import numpy as np

from properties import outputs as O
from properties.user_doc_shapes import BATCH_LETTERS, _doc_entries
from properties.user_targets import BATCH, Target
from properties.user_templates import _show

HOW = ("{how}; made longer, {longer}: on {shape} its output {out} had an axis of 1 (one window, "
       "one step), and what overlaps or follows shows only past one")


def _out_shapes(layer, spec, rng):
    """The shapes of the forward's outputs on a batch of 2 of ``spec`` (a deep copy), or None."""
    xs, ts = spec.draw(rng, 2)
    try:
        with np.errstate(all="ignore"):
            out = spec.apply(copy.deepcopy(layer)).forward(*xs, *ts)
        return [np.shape(p) for p in O.parts(out)]
    except Exception:
        return None


def _ones(shapes):
    """(part, axis) of every non-batch axis of 1 among ``shapes``."""
    return {(i, a) for i, s in enumerate(shapes) for a, d in enumerate(s) if a and d == 1}


def lengthened(layer, spec, rng, runs):
    """``spec`` with its input's trailing axes made longer by the fewest samples (the last alone
    first, then every one after the batch) on which an axis of 1 of its output grows and
    forward and backward run (``runs(layer, spec)``: a size a param binds does not); else None.
    Only for one input of a batch, not a loss's, and never a hint's."""
    if spec.source not in ("probe", "docstring", "params") or not spec.batched or \
            len(spec.inputs) != 1 or spec.targets or spec.extras:
        return None
    shape = spec.inputs[0]
    before = _out_shapes(layer, spec, rng)
    ones = _ones(before) if before else set()
    if not ones or len(shape) < 2:
        return None
    trailing = 2 if len(shape) == 4 else 1          # an image's H and W, else the last axis
    for first in (len(shape) - trailing, 1):
        for more in range(1, max(shape[first:]) + 2):
            longer = tuple(d if a < first else d + more for a, d in enumerate(shape))
            other = replace(spec, inputs=(longer,))
            after = _out_shapes(layer, other, rng)
            if after is None or len(after) != len(before) or ones <= _ones(after):
                continue
            if not runs(layer, other):
                break
            out = _show(tuple("N" if a == 0 else d for a, d in enumerate(before[0])))
            return replace(other, how=HOW.format(how=spec.how, longer=_show(longer),
                                                 shape=_show(shape), out=out))
    return None


def per_sample_labels(doc, named, templates):
    """The labels Target of a loss whose docstring gives its first target one entry per sample
    (``y: (N,)``) beside an input of 3 or more axes (``v: (N, K, D)``): classes over the axis
    after the batch; else None (labels drawn over the input's leading axes, a sequence's)."""
    if not named or len(templates) != 1 or len(templates[0]) < 3 or templates[0][0] != BATCH \
            or not isinstance(templates[0][1], int):
        return None
    found = _doc_entries(doc or "", {})
    said = (found[0] if found else {}).get(named[0])
    if not said or len(said) != 1 or said[0] not in BATCH_LETTERS:
        return None
    return Target(named[0], "labels", template=(BATCH,), bound=templates[0][1])
