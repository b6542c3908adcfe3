"""Where a user's layer's input shapes come from: its params, its docstring, its hyperparameters,
a short list of common shapes; several inputs; integer indices.

Each generator yields candidate templates (tuples of ints with "N" at the batch
axis), most likely first, with a line saying where each came from;
``properties.user_shapes`` runs the layer on each until one works. A dense
weight W (D, M) gives (N, D), one sample (D,), and a sequence (N, T, D); a
conv W (F, C, KH, KW) images with at least a 2x2 output; a norm's gamma (D,)
(N, D), (N, D, H, W) or a sequence (N, T, D); recurrent weights x (N, D) or (N, T, D) and every state
(N, H); a docstring's ``x: ... of shape (N, D)`` its letters, bound to the
params' sizes where the docstring gives the params' shapes too.
"""
import itertools
import re

import numpy as np

from oracle.user_hyper import find_hyper, hyper, pair, split_params
from oracle.user_twins_image import PAD_NAMES, POOL_H_NAMES, POOL_W_NAMES, STRIDE_NAMES
from properties.user_recurrent import T as STEPS
from properties.user_recurrent import concatenated_templates, recurrent_templates
from properties.user_doc_shapes import BATCH_LETTERS, _doc_entries, hyper_sizes, product_size
from properties.user_targets import BATCH, is_adjacency_name

# (channels a multiple of 4 last: a pixel shuffle's C = r^2 C', NCHW and NHWC)
PROBE_SHAPES = ((BATCH, 5), (BATCH, 3, 6, 6), (BATCH, 3, 5), (BATCH, 6, 6), (6, 6), (6, 6, 3), (5,),
                (BATCH, 8, 4, 6), (BATCH, 4, 6, 8))
DISTINCT_WIDTHS = (3, 5, 4, 6)
UNLIKE = "unlike widths"   # the source of inputs tried at different widths (taken where they run)
INPUT_NAMES = ("x", "X", "input", "inputs", "images", "image", "scores", "logits")


def params_of(layer):
    try:
        return {k: np.asarray(v) for k, v in layer.params.items()}
    except Exception:
        return {}


def one_input(layer, doc):
    """(template, source, how) for a layer with one input."""
    params = params_of(layer)
    yield from graph_nodes(layer, params)
    if any("." in k for k in params):       # a block: its first sublayer's weight says most
        for template, how in _from_first_weight(params):
            yield template, "params", how
    for template, how in _from_params(layer, params):
        yield template, "params", how
    for name, value in params.items():   # per channel with its axes kept: gamma (1, C, 1, 1)
        if value.ndim >= 3 and value.shape[0] == 1 and value.shape[1] > 1 and \
                all(d == 1 for d in value.shape[2:]):
            template = (BATCH, value.shape[1]) + (5, 6, 4)[:value.ndim - 2]
            yield template, "params", f"{_show(template)}: the channels of {name} {value.shape}"
    for templates, how in recurrent_templates(params, ("x",)):
        yield templates[0], "params", how
    first = next(iter(getattr(layer, "arg_names", None) or getattr(layer, "input_names", None)
                      or ()), None)
    for template, how in _from_doc(doc, params, hyper_sizes(layer), first):
        yield template, "docstring", how
    for template, how in _channel_images(params):
        yield template, "params", how
    for template, how in _from_first_weight(params):
        yield template, "params", how
    for template, how in _from_pool_hyper(layer):
        yield template, "probe", how
    for name, width in input_widths(layer):
        yield (BATCH, width), "params", f"(N, {width}) from its {name}"
    groups = find_hyper(layer, ("groups", "num_groups", "n_groups", "g"))
    if groups and isinstance(groups[1], (int, np.integer)) and groups[1] > 1:
        # several channels a group, as many as no group count: with one each a shuffle moves
        # nothing, and with as many as groups it is its own inverse (a square transposed)
        g = int(groups[1])
        k = 3 if g == 2 else 2
        yield (BATCH, g * k, 4, 5), "probe", f"(N, {g * k}, 4, 5): {k} channels in each of its " \
                                             f"{g} {groups[0]}"
    for template in PROBE_SHAPES:
        yield template, "probe", f"{_show(template)}: the first common shape on which forward and backward run"


def several_inputs(layer, doc, names):
    """(templates, source, how), one template per input of ``names``: from recurrent params, from
    the docstring's entry for each name, else every input alike."""
    params = params_of(layer)
    for templates, how in recurrent_templates(params, names):
        yield templates, "params", how
    for templates, how in concatenated_templates(layer, params, names):
        yield templates, "params", how
    found = _doc_entries(doc, params, hyper_sizes(layer))
    if found is not None:
        entries, sizes = found
        templates = tuple(_template(entries.get(n, ()), sizes) for n in names)
        if all(templates):
            how = "; ".join(f"{n} {_show(t)}" for n, t in zip(names, templates))
            yield templates, "docstring", f"{how} from the docstring"
            yield from _bound_widths(names, entries, templates, params)
    yield from axes_widths(names, params)
    if len(names) <= len(DISTINCT_WIDTHS):   # first unlike (a Concat's bug hides when they match)
        widths = DISTINCT_WIDTHS[:len(names)]
        yield tuple((BATCH, w) for w in widths), UNLIKE, "; ".join(
            f"{n} (N, {w})" for n, w in zip(names, widths)) + ": inputs of different widths"
    if len(names) >= 2:      # a row of scores, then one number per sample (an actor-critic's
        scores = (BATCH, DISTINCT_WIDTHS[2])       # logits (N, A) and values (N,))
        yield (scores,) + ((BATCH,),) * (len(names) - 1), "probe", f"{names[0]} {_show(scores)}; " + \
            "; ".join(f"{n} (N,)" for n in names[1:]) + ": a row of scores, then one number a sample"
    for template, source, how in one_input(layer, doc):
        yield (template,) * len(names), source, f"every input {how}"


GRAPH = "graph"   # the source of inputs whose rows are the nodes of a graph the layer holds


def graph_nodes(layer, params=None):
    """A layer holding a graph's adjacency (``self.A_hat``, given to its constructor) takes the
    features of that graph's nodes, one row each: (nodes, width) with no batch axis, the width
    a 2-D weight's rows, else a width it keeps (``in_dim``). ``params``: the layer's (None: its
    2-D float arrays, a user's object before its params are known)."""
    if params is None:
        params = {k: v for k, v in getattr(layer, "__dict__", {}).items()
                  if isinstance(v, np.ndarray) and v.ndim == 2 and v.dtype.kind == "f"
                  and v.shape[0] != v.shape[1]}
    for place in (layer, *(getattr(layer, "__dict__", {}).get(a) for a in ("layer", "obj"))):
        for name, value in getattr(place, "__dict__", {}).items():
            if not (isinstance(value, np.ndarray) and value.ndim == 2 and value.dtype.kind == "f"
                    and value.shape[0] == value.shape[1] and name not in params
                    and (is_adjacency_name(name) or name.lstrip("_") == "A")):
                continue
            nodes = value.shape[0]
            widths = [(f"{k} {v.shape}", v.shape[0]) for k, v in params.items() if v.ndim == 2]
            for said, width in widths + [(f"its {n}", w) for n, w in input_widths(layer)]:
                yield (nodes, width), GRAPH, f"({nodes}, {width}): the {nodes} nodes of " \
                                             f"its {name} {value.shape}, width from {said}"
            return


# the size of a sample a layer keeps beside its weights (a GraphSAGE's W is (2 in_dim, out))
WIDTH_NAMES = ("in_dim", "in_features", "input_dim", "input_size", "in_size", "n_in", "d_in",
               "dim_in", "n_inputs", "num_inputs", "n_features", "num_features", "fan_in")


def input_widths(layer):
    """(name, width) of each input-size hyperparameter the layer keeps (an int above 0)."""
    for name in WIDTH_NAMES:
        found = find_hyper(layer, (name,))
        if found is not None and isinstance(found[1], (int, np.integer)) and \
                not isinstance(found[1], bool) and found[1] > 0:
            yield name, int(found[1])


def axes_widths(names, params):
    """Each input (N, width) with the widths a weight's axes give, one axis per input: a
    bilinear y_k = x1^T W_k x2 + b_k with W (K, I, J) takes x1 (N, I) and x2 (N, J). The axes
    the bias's size names (the outputs) are left out when that leaves one axis per input,
    in the weight's own order; otherwise each choice of distinct axes, in order."""
    sizes = {int(v.size) for k, v in params.items() if v.ndim == 1}
    for name, value in params.items():
        shape = tuple(int(d) for d in value.shape)
        if value.ndim < 3 or value.ndim < len(names):
            continue
        kept = tuple(d for d in shape if d not in sizes)
        choices = [kept] if len(kept) == len(names) else []
        choices += [c for c in itertools.combinations(shape, len(names)) if c not in choices]
        for widths in choices[:4]:
            yield tuple((BATCH, w) for w in widths), "params", "; ".join(
                f"{n} (N, {w})" for n, w in zip(names, widths)) + f": axes of {name} {shape}"


def _bound_widths(names, entries, templates, params):
    """The docstring's templates with each input's width of no known size (``d_model``,
    ``d_ctx``) bound to a 2-D param's first axis, a different one per width: a cross-attention's
    x through Wq (d_model, d_k), its ctx through Wk (d_ctx, d_k)."""
    widths = list(dict.fromkeys(int(v.shape[0]) for v in params.values() if v.ndim == 2))
    lasts = list(dict.fromkeys(entries[n][-1] for n in names))
    if len(lasts) < 2 or len(lasts) > len(widths):
        return
    for ws in list(itertools.permutations(widths, len(lasts)))[:6]:
        bound = dict(zip(lasts, ws))
        made = tuple(t[:-1] + (bound[entries[n][-1]],) for n, t in zip(names, templates))
        said = ", ".join(f"{k} = {v}" for k, v in bound.items())
        yield made, "docstring", "; ".join(f"{n} {_show(t)}" for n, t in zip(names, made)) + \
            f" from the docstring, {said} from the 2-D params' rows"


def index_inputs(layer):
    """(template, vocabulary, how) for a forward taking integer indices into the rows of a 2-D param."""
    tables = [(name, value) for name, value in params_of(layer).items() if value.ndim == 2]
    # the table of fewest rows first: indices into it index every other (a positional table
    # of block_size rows beside a token table of vocab_size rows)
    for name, value in sorted(tables, key=lambda nv: nv[1].shape[0])[:2]:
        vocab = value.shape[0]
        for template in ((BATCH, STEPS), (BATCH,)):
            yield template, vocab, f"integer indices {_show(template)} in [0, {vocab}) with " \
                                   f"repeats: the rows of {name} {value.shape}"


def _from_params(layer, params):
    per_sample = getattr(layer, "per_sample", False) is True     # (not "row": a batch of rows)
    roles = split_params(params) if params else None
    if roles is not None:
        weight, bias = roles
        shape = params[weight].shape
        b = None if bias is None else params[bias].size
        if len(shape) == 2:
            ins = [shape[0]] if b == shape[1] and b != shape[0] else \
                  [shape[1]] if b == shape[0] else [shape[0], shape[1]]
            for d in ins:
                yield (BATCH, d), f"(N, {d}) from {weight} {shape}"
            for d in ins:
                yield (d,), f"({d},) one sample, from {weight} {shape}"
            for d in ins:
                yield (BATCH, STEPS, d), f"(N, {STEPS}, {d}): a sequence, from {weight} {shape}"
        elif len(shape) == 4:
            F, C, KH, KW = shape
            try:
                (sh, sw), (ph, pw) = (pair(hyper(layer, STRIDE_NAMES, 1), "stride"),
                                      pair(hyper(layer, PAD_NAMES, 0), "pad"))
            except ValueError:     # padding="same" and the like: sized as if unpadded
                (sh, sw), (ph, pw) = (1, 1), (0, 0)
            H, W = _sides(KH, KW, sh, sw, ph, pw)
            yield (BATCH, C, H, W), (f"(N, {C}, {H}, {W}) from {weight} {shape}, stride {(sh, sw)}, "
                                     f"pad {(ph, pw)}: a {1 + (H + 2 * ph - KH) // sh}-row output")
            if F != C:          # a transposed convolution's weight is (C_in, C_out, KH, KW)
                yield (BATCH, F, 3, 4), (f"(N, {F}, 3, 4) from {weight} {shape}, x's channels "
                                         f"on its first axis (C_in, C_out, KH, KW), as a "
                                         f"transposed or a depthwise convolution takes them")
            kh, kw, c_in, _ = shape   # TF's layout: a kernel (KH, KW, C_in, C_out) on (N, H, W, C)
            h, w = _sides(kh, kw, sh, sw, ph, pw)
            yield (BATCH, h, w, c_in), (f"(N, {h}, {w}, {c_in}) from {weight} {shape} read as "
                                        f"(KH, KW, C_in, C_out): channels last")
        elif len(shape) == 3 and bias is None:
            side = shape[-1] + 3
            template = (BATCH, side, side) if per_sample else (side, side)
            yield template, f"{_show(template)}: one-channel images for {weight} {shape}"
        if len(shape) == 3:         # a 1-D convolution's W (F, C, K): sequences (N, C, L)
            F, C, K = shape
            try:
                s1, p1 = (pair(hyper(layer, STRIDE_NAMES, 1), "stride")[0],
                          pair(hyper(layer, PAD_NAMES, 0), "pad")[0])
            except ValueError:
                s1, p1 = 1, 0
            length = _side(K, s1, p1, least=3)    # 3 outputs: a stride ignored shows
            yield (BATCH, C, length), (f"(N, {C}, {length}) from {weight} {shape}, stride {s1}, "
                                       f"pad {p1}: a 1-D convolution's sequences")
    # a lone 1-element vector is a scalar kept as an array (a learnable slope, Swish's beta):
    # it broadcasts over any width, and (N, 1) would hide a gradient summed over one axis only
    ones = [k for k in params if params[k].ndim == 1 and params[k].size > 1]
    if len(params) == 2 and len(ones) == 2 and params[ones[0]].shape == params[ones[1]].shape:
        d = params[ones[0]].size
        yield (BATCH, d), f"(N, {d}) from {ones[0]} ({d},)"
        yield (BATCH, d, 4, 4), f"(N, {d}, 4, 4) from {ones[0]} ({d},): per-channel (spatial)"
        yield (BATCH, STEPS, d), f"(N, {STEPS}, {d}) from {ones[0]} ({d},): a sequence, " \
                                 f"its features the last axis"
    for k in ones:              # a lone per-feature vector (a gain, a bias): x is (N, D)
        d = params[k].size
        yield (BATCH, d), f"(N, {d}) from {k} ({d},)"


def _channel_images(params):
    """Sequences (N, T, D) whose features a lone per-feature vector scales, then images whose
    channels it scales, last then first (a PReLU's slope (C,) on (N, H, W, C)): after the
    docstring, which says which."""
    if len(params) != 1:        # (a gamma beside a beta: a norm's, sized as one)
        return
    (k, v), = params.items()
    if v.ndim == 1 and v.size > 1:
        d = v.size
        yield (BATCH, STEPS, d), f"(N, {STEPS}, {d}) from {k} ({d},): a sequence"
        yield (BATCH, 4, 5, d), f"(N, 4, 5, {d}) from {k} ({d},): channels last"
        yield (BATCH, d, 4, 5), f"(N, {d}, 4, 5) from {k} ({d},): channels first"


def _from_first_weight(params):
    """A layer of several weights (an attention's Wq, Wk, Wv; a bidirectional RNN's; a block's
    sublayers', named by their paths): its input from the first 2-D weight, (N, D), then a
    sequence (N, T, D). (One weight and a bias: ``_from_params``.)"""
    if split_params(params) is not None:
        return
    kernel = next(((k, v.shape) for k, v in params.items() if v.ndim == 4), None)
    if kernel is not None and "." in kernel[0]:   # a block of convolutions (a residual block)
        name, (_, c, c_last, _) = kernel
        yield (BATCH, c, 8, 9), f"(N, {c}, 8, 9) from its first kernel {name} {kernel[1]}: " \
                                f"images wide enough for a strided block"
        yield (BATCH, 8, 9, c_last), f"(N, 8, 9, {c_last}) from its first kernel {name} " \
                                     f"{kernel[1]} read as (KH, KW, C_in, C_out): channels last"
    first = next(((k, v.shape) for k, v in params.items() if v.ndim == 2), None)
    if first is not None:
        name, (d, m) = first
        steps = STEPS if STEPS != d else STEPS + 1     # T unlike D: a swap of the two shows
        yield (BATCH, d), f"(N, {d}) from its first 2-D param {name} {first[1]}"
        yield (BATCH, steps, d), f"(N, {steps}, {d}): a sequence, from its first 2-D param " \
                                 f"{name} {first[1]}"
        yield (BATCH, m), f"(N, {m}) from its first 2-D param {name} {first[1]} read as " \
                          f"PyTorch keeps a weight, (out, in)"


def _sides(kh, kw, sh, sw, ph, pw):
    """(H, W): the smallest height as ``_side`` gives it, and a width whose output has one
    column more than the output has rows: on a square input or output, a backward that swaps
    the output's height and width (``range(Ho)`` for ``range(Wo)``) is right."""
    h = _side(kh, sh, ph)
    rows = 1 + (h + 2 * ph - kh) // sh
    return h, _side(kw, sw, pw, least=rows + 1)


def _side(k, stride, pad, least=2):
    """The smallest input side >= max(k, 4) whose output is at least ``least`` and divides
    evenly."""
    for rows in range(least, 20):
        side = k - 2 * pad + stride * (rows - 1)
        if side >= max(k - 2 * pad, 4, 1):
            return side
    return k + stride


def _from_pool_hyper(layer):
    found = find_hyper(layer, POOL_H_NAMES)
    if found is None:
        return
    try:
        kh, kw = pair(found[1], found[0])[0], pair(hyper(layer, POOL_W_NAMES, found[1]), "pool_w")[-1]
        sh, sw = pair(hyper(layer, STRIDE_NAMES, (kh, kw)), "stride")
        ph, pw = pair(hyper(layer, PAD_NAMES, 0), "pad")
    except (ValueError, TypeError):
        return
    template = (BATCH, 3, *_sides(kh, kw, sh, sw, ph, pw))
    # (a size of no pool's name is only read as one: an LRN's is a window across channels)
    window = "the pooling window" if found[0] != "size" else "its size read as a window"
    yield template, f"{_show(template)} from {window} {kh}x{kw}, stride {(sh, sw)}"


def _from_doc(doc, params, hyper=None, first=None):
    """Templates for the input from ``x: ... (N, D)`` entries (or the entry of ``first``, the
    input's own name: an MDN loss's ``out: (N, 3K)``); letters bound by the params' entries,
    else by the layer's sizes ``hyper`` (``hyper_sizes``)."""
    found = _doc_entries(doc, params, hyper)
    if found is None:
        return
    entries, sizes = found
    bound = {letter for n, letters in entries.items() if n in params
             and len(letters) == params[n].ndim for letter in letters}   # (a size kept: a guess)
    for name in dict.fromkeys([first, *INPUT_NAMES] if first else INPUT_NAMES):
        if name in entries:
            template = _template(entries[name], sizes)
            said = f"from the docstring's {name}: ({', '.join(entries[name])})"
            if template:
                yield template, f"{_show(template)} {said}"
            last = entries[name][-1]
            weight = next(((k, v.shape) for k, v in params.items() if v.ndim == 2), None)
            if template and weight and last not in bound and not last.isdigit() and \
                    template[-1] != weight[1][0]:   # an unbound width: x @ W takes W's rows
                wide = template[:-1] + (int(weight[1][0]),)
                yield wide, f"{_show(wide)} {said}, {last} = {weight[1][0]} from {weight[0]} {weight[1]}"
            return


def _template(letters, sizes):
    dims, variadic = [], False
    for letter in letters:
        if letter in BATCH_LETTERS and BATCH not in dims:   # (x: (N, n): n is a size)
            dims.append(BATCH)
        elif letter.isdigit():
            dims.append(int(letter))
        elif letter in ("...", "…") or re.fullmatch(r"d_?\w+", letter):
            if not variadic:
                dims.append(sizes.get("D", 5))
            variadic = True
        elif re.fullmatch(r"[A-Za-z]\w*", letter):
            dims.append(sizes.get(letter, 4))
        elif product_size(letter, sizes):
            dims.append(product_size(letter, sizes))
        else:
            return None
    return tuple(dims) or None


def _show(template):
    return "(" + ", ".join(str(d) for d in template) + ("," if len(template) == 1 else "") + ")"
