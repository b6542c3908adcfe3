"""Is a user's layer additive over its batch? Found by running each sample alone.

A layer whose batch gradient is the sum of its samples' gradients (or, a loss that
averages, their mean) gets the ``batch_additive`` law; a layer whose samples are coupled
(batch statistics, a shared mask, a batch mean) is skipped by it, saying why.
"""
import copy

import numpy as np

from properties import outputs as O
from properties.user_targets import BATCH
from properties.user_templates import GRAPH as GRAPH_SOURCE
from properties.global_rng import generator_states, kept_global_rng, moved, seeded_global_rng

COUPLED = ("the forward of one sample depends on the other samples of the batch (found by "
           "running each sample alone): batch statistics, a shared mask or a batch mean; or its "
           "first axis is no batch (a sequence kept time first: a recurrence runs along it)")
BATCHLESS = "the layer takes one sample at a time (no batch axis): there is no batch to split"
UNTOLD = ("its loss came out 0 on every batch tried (and its samples' losses summed to 0), so "
          "whether the batch's loss is their sum or their mean could not be told")
GRAPH = ("its rows are a graph's nodes, coupled by the adjacency it is given (a graph layer): "
         "no sample stands alone")
GRAPH_HELD = ("its rows are the nodes of the graph it was built with (a graph layer): their "
              "number is the graph's, and no node stands alone")
BATCH_NOT_FIRST = ("its batch is not the first axis (examples as columns, as the hint gives "
                   "them): the samples are split along the first axis only")


def forward_copy(layer, xs, ts):
    """The outputs of a forward on a copy, as a list of arrays (one per output); NumPy's
    warnings are the checks' to report, not the probes'."""
    with np.errstate(all="ignore"):
        return [np.asarray(o) for o in O.parts(copy.deepcopy(layer).forward(*xs, *ts))]


def _random_forward(layer, xs, ts):
    """Does a forward draw random numbers, from NumPy's global state or from a generator the
    layer holds? Samples run alone then draw other numbers than in the batch (a dropout's
    mask): comparing them would say "coupled" or not by chance (a 5-unit mask of 0.8 agreed
    with the batch's one run in 300), so such a layer is coupled, always."""
    lay = copy.deepcopy(layer)
    with kept_global_rng(), np.errstate(all="ignore"):
        try:
            # a first forward may build the layer, drawing its weights (Keras's build() from a
            # generator it keeps): that is no draw per forward. The second one tells.
            lay.forward(*xs, *ts)
        except Exception:       # said by the probes that run it
            return False
    held = generator_states(lay)
    with kept_global_rng(), seeded_global_rng(0) as used, np.errstate(all="ignore"):
        try:
            lay.forward(*xs, *ts)
        except Exception:
            return False
    return used() or any(moved(g, state) for g, state in held)


def batch_rule(layer, spec, loss, in_float32=False):
    """"sum", "mean" or the coupling sentence, by running each sample alone (a layer computing
    in float32 compared at float32's round-off)."""
    if not spec.batched:
        return GRAPH_HELD if spec.source == GRAPH_SOURCE else BATCHLESS
    if any(BATCH in t and t.index(BATCH) != 0 for t in spec.inputs):
        return BATCH_NOT_FIRST
    if any(getattr(t, "kind", "") == "adjacency" for t in spec.extras):
        return GRAPH
    rtol, atol = (1e-5, 1e-7) if in_float32 else (1e-9, 1e-12)
    close = lambda a, b: np.allclose(a, b, rtol=rtol, atol=atol)   # noqa: E731
    for seed in (1, 2, 3):      # a loss's draw where sum and mean agree (all 0) tells nothing
        rng = np.random.default_rng(seed)
        xs, ts = spec.draw(rng, batch=3)
        if seed == 1 and _random_forward(layer, xs, ts):
            return COUPLED
        # a target with no batch axis (negatives shared by every sample) is given whole
        shared = [np.shape(t)[:1] == np.shape(u)[:1] for t, u in zip(ts, spec.draw(rng, batch=2)[1])]
        try:
            whole = forward_copy(layer, xs, ts)
            parts = [forward_copy(layer, [x[i:i + 1] for x in xs],
                                  [t if same else t[i:i + 1] for t, same in zip(ts, shared)])
                     for i in range(3)]
        except Exception:
            return COUPLED
        if not loss:
            break
        values = [p[0] for p in parts]
        if close(np.sum(values), np.mean(values)):
            if seed < 3:
                continue
            return UNTOLD if close(whole[0], 0.0) else COUPLED
        if close(whole[0], np.sum(values)):
            return "sum"
        return "mean" if close(whole[0], np.mean(values)) else COUPLED
    for k, w in enumerate(whole):
        if not w.ndim or w.shape[0] != 3 or any(np.size(p[k]) != np.prod(w.shape[1:]) for p in parts):
            return COUPLED      # (a sample's output shaped by the batch: distances (N, N))
        together = np.concatenate([p[k].reshape(1, *w.shape[1:]) for p in parts])
        if not close(w, together):
            return COUPLED
    return "sum"
