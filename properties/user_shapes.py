"""Infer what a user's layer takes: input shapes from its params, its docstring, or by probing.

    spec = infer_input_shapes(layer, name="Affine", doc=fn.__doc__, rng=rng)
    spec.inputs       # (("N", 6),): one template per input, "N" marking the batch axis
    spec.shapes(3)    # ((3, 6),)
    spec.targets      # a loss's targets: "labels" (ints over spec.classes), "one_hot", "like_x"

Candidate templates come, in this order, from the params (a dense W (D, M)
takes (N, D); a conv W (F, C, KH, KW) takes (N, C, H, W) with H, W giving an
output of at least 2x2 for the layer's stride and pad; a norm's gamma (D,)
takes (N, D) or (N, D, H, W)), from a docstring in cs231n's ``x: ... of shape
(N, D)`` form (letters bound to the params' sizes where the docstring gives
the params' shapes too), and from a short list of common shapes. Each is
tried on a deep copy: forward then backward must run and give arrays of
consistent shapes, for two batch sizes (the output's first axis following
the batch). The first that works is returned; None when none does.
"""
import copy
import inspect
import re
from dataclasses import dataclass

import numpy as np

from oracle.user_hyper import find_hyper, hyper, pair, split_params, words
from oracle.user_twins_dense import LOSS_WORDS
from oracle.user_twins_image import PAD_NAMES, POOL_H_NAMES, POOL_W_NAMES, STRIDE_NAMES

BATCH = "N"
LETTER_SIZES = {"C": 4, "H": 6, "W": 7, "D": 5, "M": 6, "T": 4, "F": 5, "HH": 3, "WW": 3, "K": 4}
PROBE_SHAPES = ((BATCH, 5), (BATCH, 3, 6, 6), (BATCH, 6, 6), (6, 6), (6, 6, 3), (5,))
TARGET_KINDS = ("labels", "one_hot", "like_x")
INPUT_NAMES = ("x", "X", "input", "inputs", "images", "image", "scores", "logits")
TARGET_NAMES = ("y", "t", "labels", "targets", "target", "label")


@dataclass(frozen=True)
class InputSpec:
    """What a layer takes.

    inputs: one shape template per input, a tuple of ints with ``BATCH``
    ("N") at the batch axis; batched: False for a layer that takes one sample
    with no batch axis (seed 003's (h, w) / (h, w, c)). targets: for a loss,
    "labels" (ints in [0, classes)), "one_hot" (rows of the identity), or
    "like_x" (reals shaped like x); "" otherwise. source: "params",
    "docstring" or "probe"; how: one line saying where the shapes came from.
    """

    inputs: tuple
    batched: bool
    targets: str = ""
    classes: int = 0
    source: str = ""
    how: str = ""

    def shapes(self, batch=2):
        """Concrete input shapes for a batch of ``batch`` samples."""
        return tuple(tuple(batch if d == BATCH else d for d in t) for t in self.inputs)

    def draw(self, rng, batch=2):
        """(inputs, targets): standard normal inputs and targets of the spec's kind."""
        xs = tuple(rng.standard_normal(s) for s in self.shapes(batch))
        return xs, _targets(self.targets, xs[0].shape, rng)


def infer_input_shapes(layer, *, name, doc="", kind=None, rng):
    """An :class:`InputSpec` for ``layer`` (an adapted user layer), or None when nothing runs.

    name: the user's class or function name; doc: the forward's docstring;
    kind: a known kind (a twin match's, or the user's hint), which may say the
    layer is a loss and what its targets are; rng: a NumPy Generator for the
    probe inputs. The layer is only ever run on deep copies.
    """
    n_inputs = max(1, len(getattr(layer, "input_names", ("x",)) or ("x",)))
    loss = _is_loss(layer, name, kind)
    target_kinds = _target_kinds(name, doc, kind) if loss else ("",)
    # First the shapes on which every gradient has its tensor's shape; then, so that a layer
    # whose dW or dx has the wrong shape is checked (and that bug reported) rather than
    # skipped, the first on which forward and backward merely run.
    for strict in (True, False):
        seen = set()
        for template, source, how in _templates(layer, doc):
            if template in seen:
                continue
            seen.add(template)
            inputs = (template,) if loss else (template,) * n_inputs
            for targets in target_kinds:
                if _runs(layer, inputs, targets, rng, loss, strict):
                    classes = template[-1] if targets in ("labels", "one_hot") else 0
                    return InputSpec(inputs, BATCH in template, targets, classes, source, how)
    return None


# ---- where templates come from ----------------------------------------------------------------

def _templates(layer, doc):
    try:
        params = {k: np.asarray(v) for k, v in layer.params.items()}
    except Exception:
        params = {}
    for template, how in _from_params(layer, params):
        yield template, "params", how
    for template, how in _from_doc(doc, params):
        yield template, "docstring", how
    for template, how in _from_pool_hyper(layer):
        yield template, "probe", how
    for template in PROBE_SHAPES:
        yield template, "probe", f"{_show(template)}: the first common shape on which forward and backward run"


def _from_params(layer, params):
    per_sample = bool(getattr(layer, "per_sample", False))
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
        elif len(shape) == 4:
            F, C, KH, KW = shape
            (sh, sw), (ph, pw) = (pair(hyper(layer, STRIDE_NAMES, 1), "stride"),
                                  pair(hyper(layer, PAD_NAMES, 0), "pad"))
            H, W = _side(KH, sh, ph), _side(KW, sw, pw)
            yield (BATCH, C, H, W), (f"(N, {C}, {H}, {W}) from {weight} {shape}, stride {(sh, sw)}, "
                                     f"pad {(ph, pw)}: a {1 + (H + 2 * ph - KH) // sh}-row output")
        elif len(shape) == 3 and bias is None:
            side = shape[-1] + 3
            template = (BATCH, side, side) if per_sample else (side, side)
            yield template, f"{_show(template)}: one-channel images for {weight} {shape}"
    ones = [k for k in params if params[k].ndim == 1]
    if len(params) == 2 and len(ones) == 2 and params[ones[0]].shape == params[ones[1]].shape:
        d = params[ones[0]].size
        yield (BATCH, d), f"(N, {d}) from {ones[0]} ({d},)"
        yield (BATCH, d, 4, 4), f"(N, {d}, 4, 4) from {ones[0]} ({d},): per-channel (spatial)"
    for k in ones:              # a lone per-feature vector (a gain, a bias): x is (N, D)
        d = params[k].size
        yield (BATCH, d), f"(N, {d}) from {k} ({d},)"


def _side(k, stride, pad):
    """The smallest input side >= max(k, 4) whose output is at least 2 and divides evenly."""
    for rows in range(2, 20):
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
    template = (BATCH, 3, _side(kh, sh, ph), _side(kw, sw, pw))
    yield template, f"{_show(template)} from the pooling window {kh}x{kw}, stride {(sh, sw)}"


ENTRY = re.compile(r"(?:^|[\s,;(\-*])(\w+)\s*:[^:()]*?\(([^()]*)\)", re.M)


def _from_doc(doc, params):
    """Templates for the input from ``x: ... (N, D)`` entries; letters bound by the params' entries."""
    entries = {}
    for name, body in ENTRY.findall(doc or ""):
        entries.setdefault(name, [p.strip() for p in body.split(",") if p.strip()])
    sizes = dict(LETTER_SIZES)
    for name, letters in entries.items():
        if name in params and len(letters) == params[name].ndim:
            for letter, size in zip(letters, params[name].shape):
                if re.fullmatch(r"[A-Za-z]\w*", letter):
                    sizes[letter] = int(size)
    for name in INPUT_NAMES:
        if name in entries:
            template = _template(entries[name], sizes)
            if template:
                yield template, f"{_show(template)} from the docstring's {name}: ({', '.join(entries[name])})"
            return


def _template(letters, sizes):
    dims, variadic = [], False
    for letter in letters:
        if letter in ("N", "n", "B", "batch", "batch_size"):
            dims.append(BATCH)
        elif letter.isdigit():
            dims.append(int(letter))
        elif letter in ("...", "…") or re.fullmatch(r"d_?\w+", letter):
            if not variadic:
                dims.append(sizes.get("D", 5))
            variadic = True
        elif re.fullmatch(r"[A-Za-z]\w*", letter):
            dims.append(sizes.get(letter, 4))
        else:
            return None
    return tuple(dims) or None


def _show(template):
    return "(" + ", ".join(str(d) for d in template) + ("," if len(template) == 1 else "") + ")"


# ---- losses and their targets -----------------------------------------------------------------

def _is_loss(layer, name, kind):
    text = words(kind or "") + " " + words(name)
    if getattr(layer, "is_loss", False) or "loss" in text or any(
            w in words(kind or "") for ws in LOSS_WORDS.values() for w in ws):
        return True
    inner = getattr(layer, "__dict__", {}).get("layer") or getattr(layer, "__dict__", {}).get("obj")
    forward = getattr(inner, "forward", None)
    try:
        required = [p for p in inspect.signature(forward).parameters.values()
                    if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        return False
    return len(required) == 2 and len(getattr(layer, "input_names", ("x",))) == 1


def _target_kinds(name, doc, kind):
    text = words(kind or "") + " " + words(name)
    if any(w in text for w in LOSS_WORDS["mse"] + LOSS_WORDS["bce_with_logits"][:2]):
        return ("like_x", "labels", "one_hot")
    if "onehot" in words(doc):
        return ("one_hot", "labels", "like_x")
    return TARGET_KINDS


def _targets(kind, x_shape, rng):
    if not kind:
        return ()
    if kind == "like_x":
        return (rng.standard_normal(x_shape),)
    labels = rng.integers(0, x_shape[-1], x_shape[:-1])
    return (labels,) if kind == "labels" else (np.eye(x_shape[-1])[labels],)


# ---- does it run? -----------------------------------------------------------------------------

def _runs(layer, templates, targets, rng, loss, strict=True):
    """Forward then backward run on a deep copy, with consistent shapes, for two batch sizes."""
    batched = any(BATCH in t for t in templates)
    spec = InputSpec(tuple(templates), batched, targets)
    for batch in ((2, 3) if batched else (None,)):
        xs, ts = spec.draw(rng, batch or 2)
        try:
            trial = copy.deepcopy(layer)
            with np.errstate(all="ignore"):
                out = np.asarray(trial.forward(*xs, *ts))
                if not _output_ok(out, loss, batch):
                    return False
                dout = 1.0 if loss else rng.standard_normal(out.shape)
                dx = trial.backward(dout)
                grads = dict(trial.grads) if trial.params else {}
                params = {k: np.shape(v) for k, v in trial.params.items()}
        except Exception:
            return False
        if strict and not _gradients_ok(dx, xs, grads, params):
            return False
    return True


def _output_ok(out, loss, batch):
    if out.dtype.kind != "f" or out.size == 0 or not np.all(np.isfinite(out)):
        return False
    if loss:
        return out.size == 1
    return batch is None or (out.ndim >= 1 and out.shape[0] == batch)


def _gradients_ok(dx, xs, grads, params):
    if any(np.shape(grads.get(k, np.zeros(s))) != s for k, s in params.items()):
        return False
    if dx is None:              # seed 003's first layer returns no dx; its params carry the check
        return bool(params) and all(k in grads for k in params)
    dxs = dx if isinstance(dx, tuple) else (dx,)
    return len(dxs) == len(xs) and all(np.shape(d) == x.shape for d, x in zip(dxs, xs))
