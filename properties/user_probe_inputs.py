"""The inputs a layer is run on to find its parameters, when its backward creates its
gradient attributes (``self.dW`` first made in backward): ``properties.discover`` tries them
in this order until one runs."""
import itertools
from types import SimpleNamespace

import numpy as np

from layers.adapter import lazy_dicts
from layers.nested import arrays_within
from layers.optimizer_fed import builds_on_initialize
from properties.user_recurrent import concatenated_templates, recurrent_templates
from properties.user_targets import BATCH, is_index_name, target_for
from properties.user_doc_shapes import hyper_sizes
from properties.user_templates import _from_doc, axes_widths, graph_nodes, index_inputs


def probe_inputs(obj, hinted, needs_probe, names=("x",), targets=(), doc=""):
    """The probes of :func:`_inputs`, each followed by the data the forward takes after its
    inputs where that is a graph's adjacency (``forward(x, adj)``: nodes by nodes, the nodes
    x's rows), a mask or each sequence's length (``forward(x, lengths)``: over x's steps)."""
    probes = _inputs(obj, hinted, needs_probe, names, doc)
    drawn = [target_for(t) for t in targets]
    if not targets or hinted is not None or \
            not all(t.kind in ("adjacency", "mask", "lengths") for t in drawn):
        return probes
    rng = np.random.default_rng(0)
    return [p if p is None else (*p, *[t.draw(rng, np.shape(p[0])[0], p) for t in drawn])
            for p in probes]


def _inputs(obj, hinted, needs_probe, names=("x",), doc=""):
    """Candidate probe inputs (every argument forward takes) for an adapter that must run the
    layer to find its parameters: from the hint; from recurrent weights (x and each state,
    also a weight on both side by side); integer indices into a 2-D weight; from its arrays'
    shapes; from its docstring (a RoPE's ``x: (N, T, D)``, D its constructor's size); common
    shapes."""
    if not needs_probe:
        return [None]
    if hinted is not None:
        xs, ts = hinted.draw(np.random.default_rng(0))
        return [(*xs, *ts)]
    rng = np.random.default_rng(0)
    own = getattr(obj, "params", None)     # attributes, and a params dict's entries
    own = {**vars(obj), **(own if isinstance(own, dict) else {})}
    arrays = {k: v for k, v in own.items() if isinstance(v, np.ndarray) and v.dtype.kind == "f"}
    found = []
    side_by_side = concatenated_templates(obj, arrays, names)
    for templates, _ in [*recurrent_templates(arrays, names), *side_by_side]:
        found.append(tuple(rng.standard_normal([2 if d == "N" else d for d in t]) for t in templates))
    held = {f"a{i}": v for i, v in enumerate(arrays_within(obj))}   # its sublayers' too (a
    indices = [(rng.integers(0, vocab, [2 if d == "N" else d for d in t]),)   # tied embedding)
               for t, vocab, _ in index_inputs(SimpleNamespace(params=held))] if len(names) == 1 else []
    if indices and is_index_name(names[0]):
        found, indices = found + indices, []
    rows = [v.shape[0] for v in held.values() if v.ndim == 2]
    if len(names) > 1 and rows and all(is_index_name(n) for n in names):   # forward(users, items)
        found.append(tuple(rng.integers(0, min(rows), 3) for _ in names))
    shapes = []
    for v in held.values():      # its own, then its sublayers' (a block of Linear objects)
        if v.ndim == 2:     # ... and images whose channels it mixes (a 1x1 convolution)
            shapes += [(2, v.shape[0]), (2, v.shape[1]),
                       (2, v.shape[1], 3, 4), (2, v.shape[0], 3, 4)]
        elif v.ndim == 4:     # (F, C, KH, KW) on images, transposed, or TF's (KH, KW, C, F)
            shapes += [(2, v.shape[1], v.shape[2] + 2, v.shape[3] + 2), (2, v.shape[0], 3, 4),
                       (2, v.shape[0] + 2, v.shape[1] + 3, v.shape[2]), (2, v.shape[1], 8, 9)]
        elif v.ndim == 3:   # conv 1-D
            shapes += [(2, v.shape[1], v.shape[2] + 4)]
        elif v.ndim == 1:      # a per-feature or per-channel vector (an instance norm's gamma)
            shapes += [(2, v.shape[0]), (2, 3, v.shape[0]), (2, v.shape[0], 4, 5)]
    # then a sequence through each 2-D weight (an attention's x: (N, T, D) @ Wq (D, D))
    shapes += [(2, 3, v.shape[0]) for v in held.values() if v.ndim == 2]
    if len(names) == 1:
        shapes += [tuple(2 if d == BATCH else d for d in t) for t, _ in _from_doc(doc, arrays,
                                                                           hyper_sizes(obj))]
    shapes += [(2, 3), (2, 2, 4, 4), (6, 6), (4, 4, 2)] + (     # params a first forward makes:
        [(2, 3, 5), (2, 5, 3), (2, 5, 6, 3), (2, 3, 5, 6)]
        if lazy_dicts(obj) or builds_on_initialize(obj) else [])  # layouts
    nodes = [t for t, _, _ in graph_nodes(obj)]      # a graph it holds: rows are its nodes
    singles = [(rng.standard_normal(s),) * len(names) for s in dict.fromkeys(nodes + shapes)]
    return found + _apart(held, names, rng) + singles + indices


def _apart(held, names, rng):
    """Several inputs each through a weight of its own (a cross-attention's x through Wq
    (d_model, d_k), ctx through Wk (d_ctx, d_k)): sequences of unlike lengths, widths from
    the 2-D weights' first axes, each a different one."""
    if len(names) < 2:
        return []
    # a weight of three or more axes, one per input (a bilinear W (K, I, J): x1 (2, I), x2 (2, J))
    axes = [tuple(rng.standard_normal((2, width)) for _, width in templates)
            for templates, _, _ in axes_widths(names, held)]
    widths = list(dict.fromkeys(v.shape[0] for v in held.values() if v.ndim == 2))
    if len(widths) < len(names):
        return axes
    return axes + [tuple(rng.standard_normal((2, 3 + i, d)) for i, d in enumerate(ws))
                   for ws in itertools.permutations(widths, len(names))][:12]
