"""What a user's forward takes besides float inputs, and which of its arguments are data at all.

A forward's leading arguments are its data: the input ``x``, then any argument
named like a recurrent state (``prev_h``, ``h0``, ``c_prev``), an attention
operand (``q``, ``k``, ``v``), integer indices (``idx``, ``tokens``), labels
(``y``, ``t``) or a mask. In a functional pair what follows is a parameter
(``Wx``, ``Wh``, ``b``, ``gamma``...). Data the layer does not differentiate
is a :class:`Target`, drawn fresh for every case: integer indices with repeats
(where ``dW[idx] += dout`` loses gradients), labels, and masks whose rows end
in padding (where a forgotten mask leaks gradients).
"""
import ast
import inspect
import re
import textwrap
from dataclasses import dataclass
from typing import Optional

import numpy as np

from layers.attribute_probe import TRAINING_NAMES
from oracle.user_hyper import places, words
from oracle.user_twins_dense import LOSS_WORDS
from properties.sequence_strategies import index_tensor, padded_mask
from properties.values import domain_text, into_domain

BATCH = "N"
STATE = re.compile(r"^(?:prev|last|init|initial)?_?(?:h|c|s|hidden|cell|state|hx|cx)"
                   r"(?:_?(?:prev|0|t|tm1|last|in|init))?$")
INDEX_NAMES = ("idx", "ids", "indices", "index", "tokens", "token_ids", "words", "word_ids",
               "captions", "captions_in", "word_idx", "input_ids", "users", "items", "user_ids",
               "item_ids", "user_idx", "item_idx")
LABEL_NAMES = ("y", "t", "ys", "ts", "labels", "label", "targets", "target", "captions_out", "y_true",
               "y_onehot", "y_one_hot", "onehot", "one_hot", "tags", "tag")
OPERAND_NAMES = ("q", "k", "v", "query", "key", "value", "queries", "keys", "values",
                 "context", "memory", "enc_out", "features", "ctx", "mem", "enc",
                 "encoder_out", "encoder_output", "kv", "x_kv", "cond")


LENGTHS = ("lengths", "lens", "seq_lens", "seq_lengths", "seq_len", "sequence_lengths")


def is_state_name(name):
    """``prev_h``, ``h0``, ``c_prev``, ``hidden``, ``state``...: a recurrent state input."""
    return bool(STATE.match(name.lower()))


def is_index_name(name):
    return name.lower() in INDEX_NAMES


def is_mask_name(name):
    return "mask" in name.lower()


def is_label_name(name):
    """Labels by name: ``y``, ``targets``, a CRF's ``tags``; a mixup's pair ``y_a``, ``y_b``."""
    low = name.lower()
    return low in LABEL_NAMES or re.sub(r"_[ab12]$", "", low) in LABEL_NAMES


ADJACENCY = re.compile(r"^(a_hat|ahat|a_norm|a_tilde|adj|adj_norm|adjacency|adj_matrix|"
                       r"norm_adj|laplacian|graph)$", re.I)


def is_adjacency_name(name):
    """A graph's adjacency (``A_hat``, ``adj``): a constant (nodes, nodes) input, the nodes
    being the batch."""
    return bool(ADJACENCY.match(name))


def is_noise_name(name):
    """Noise its caller draws (a Gumbel-softmax's ``gumbel_noise``, ``noise``): data, never
    differentiated."""
    return bool(re.search(r"noise|gumbel", name, re.I))


def is_target_name(name):
    """Data a layer does not differentiate: labels, masks, a graph's adjacency and noise
    (indices are found by probing)."""
    return is_label_name(name) or is_mask_name(name) or name.lower() in LENGTHS or \
        is_adjacency_name(name) or is_noise_name(name)


def is_data_name(name):
    return (is_state_name(name) or is_index_name(name) or is_target_name(name)
            or name.lower() in OPERAND_NAMES or name.lower() in ("x", "inputs", "input", "xs"))


def split_arguments(names):
    """(data, params) of a functional forward's argument names (the options dict removed):
    the first argument and the data-named ones after it, then the params."""
    names = list(names)
    k = 1 if names else 0
    while k < len(names) and is_data_name(names[k]):
        k += 1
    return names[:k], names[k:]


def data_roles(names):
    """(inputs, targets) among a class forward's data arguments: labels and masks are targets."""
    inputs = [n for i, n in enumerate(names) if i == 0 or not is_target_name(n)]
    return tuple(inputs), tuple(n for n in names if n not in inputs)


@dataclass(frozen=True)
class Target:
    """One input the layer does not differentiate.

    kind: "index" (integers in [0, bound) with repeats on purpose), "labels"
    (integers in [0, bound), bound defaulting to the first input's last axis),
    "mask" (booleans, each row ending in padding) or "float" (standard normal, moved into
    ``domain`` when one is given: a hint's ``y=(N, 1) in (0, 1)``).
    template: its shape with "N" for the batch; None: the first input's shape
    (labels and masks: without its last axis).
    """

    name: str
    kind: str
    template: Optional[tuple] = None
    bound: int = 0
    domain: tuple = ()

    def shape(self, batch, xs):
        if self.template is not None:
            return tuple(batch if d == BATCH else d for d in self.template)
        if self.kind == "adjacency":       # nodes by nodes, the nodes the first input's rows
            n = np.shape(xs[0])[0] if xs else batch
            return (n, n)
        if not xs:
            raise ValueError(f"{self.name}: a {self.kind} target needs a shape (no input to take it from)")
        x = np.shape(xs[0])
        return x if self.kind == "float" else x[:-1] if len(x) > 1 else x

    def draw(self, rng, batch, xs):
        shape = self.shape(batch, xs)
        if self.kind == "adjacency":
            return normalized_adjacency(rng, shape[0])
        if self.kind == "lengths":        # each row's steps, 1 to T; the last row padded
            steps = np.shape(xs[0])[1] if xs and np.ndim(xs[0]) > 1 else 1
            lengths = rng.integers(1, steps + 1, shape)
            if steps > 1 and lengths.size:
                lengths.reshape(-1)[-1] = rng.integers(1, steps)
            return lengths.astype(np.int64)
        if self.kind == "index":
            return index_tensor(rng, shape, self.bound)
        if self.kind == "labels":
            return rng.integers(0, self.bound or np.shape(xs[0])[-1], shape).astype(np.int64)
        if self.kind == "mask":
            if len(shape) == 2:
                return padded_mask(rng, *shape)
            mask = np.ones(shape, bool)
            if mask.size > 1:
                mask.reshape(-1)[-1] = False
            return mask
        return into_domain(rng.standard_normal(shape), self.domain)

    def describe(self):
        dims = ("like x" if self.kind == "float" else "over x's leading axes") \
            if self.template is None else \
            "(" + ", ".join(str(d) for d in self.template) + ("," if len(self.template) == 1 else "") + ")"
        if self.kind == "index":
            return f"{self.name}: integers {dims} in [0, {self.bound}) with repeats"
        if self.kind == "mask":
            return f"{self.name}: a mask {dims}, rows ending in padding"
        if self.kind == "adjacency":
            return f"{self.name}: a normalised adjacency (nodes, nodes) of a random graph"
        if self.kind == "lengths":
            return f"{self.name}: each sequence's length, 1 to x's steps, the last one padded"
        return f"{self.name}: {self.kind} {dims}" + (f" in {domain_text(self.domain)}"
                                                     if self.domain else "")


def constant_mask(shape):
    """A fixed 0/1 float array of ``shape``, about 7 in 10 ones and never all alike (a MADE's
    connectivity mask, handed to its forward as a constant)."""
    mask = (np.random.default_rng(7).random(shape) < 0.7).astype(np.float64)
    if mask.size > 1:
        mask.reshape(-1)[:2] = (1.0, 0.0)
    return mask


def random_graph(rng, n):
    """The 0/1 adjacency of a random undirected graph of ``n`` nodes, each linked to about half
    the others, none to itself."""
    a = np.triu((rng.random((n, n)) < 0.5).astype(np.float64), 1)
    return a + a.T


def normalized_adjacency(rng, n):
    """D^-1/2 (A + I) D^-1/2 of a random undirected graph of ``n`` nodes (each node linked to
    about half the others, and to itself): what a GCN is handed."""
    a = random_graph(rng, n) + np.eye(n)
    d = 1.0 / np.sqrt(a.sum(axis=1))
    return a * d[:, None] * d[None, :]


def target_for(name, template=None):
    """The Target a loss's extra argument ``name`` gets: a mask, labels, a graph's adjacency,
    or floats like x."""
    if is_adjacency_name(name):
        return Target(name, "adjacency", template)
    if is_mask_name(name):
        return Target(name, "mask", template)
    if name.lower() in LENGTHS:
        return Target(name, "lengths", (BATCH,))
    if is_label_name(name):
        return Target(name, "labels", template)
    return Target(name, "float", template)


def _positional(fn):
    """The names of ``fn``'s positional arguments that have no default."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            and p.default is p.empty]


def method_roles(cls, forward="forward", backward="backward"):
    """(inputs, targets, outputs) of a class's methods, by their arguments' names.

    inputs / targets: the forward's data arguments (the first, then those named
    like states, operands, indices, labels, masks), labels and masks being
    targets, and so is every other argument it requires; but a backward that returns a
    gradient for each of the forward's first k arguments (``return dout, dout`` from
    ``forward(self, x, y)``, ``return dx1, dx2`` from ``forward(self, input1, input2)``)
    differentiates all k, whatever their names.
    outputs: one name per upstream gradient the backward takes
    (``backward(self, dh_next, dc_next)`` -> ``("h_next", "c_next")``), or ("out",).
    """
    names = _positional(getattr(cls, forward, None))[1:]      # without self
    data, rest = split_arguments(names)
    inputs, targets = data_roles(data)
    # a class's params are its own attributes: any other argument its forward requires is
    # data it is handed, not differentiated (a distillation loss's teacher_logits)
    targets += tuple(n for n in rest if n not in TRAINING_NAMES)     # (a flag: set as one)
    k = returned_gradients(getattr(cls, backward, None))
    named = gradients_named(getattr(cls, backward, None), names)
    if named and named != tuple(names[:len(named)]):    # (d_xhat, d_mu, d_logvar) of forward(
        # x_hat, x, mu, logvar): x is data, the adapter calls forward in its own order
        return named, tuple(n for n in names if n not in named), _outputs_of(cls, backward)
    if k == 0 and len(inputs) > 1 and returns_one_array(getattr(cls, backward, None)):
        # one gradient returned for forward(logits, x): the first differentiated, x is data
        inputs, targets = inputs[:1], tuple(n for n in names if n not in inputs[:1])
    if len(inputs) < k <= len(names) and not any(
            is_index_name(n) or is_mask_name(n) for n in names[:k]):
        inputs = tuple(names[:k])
        # every argument after them is passed too (a contrastive loss's y after x1, x2),
        # not differentiated: a class's forward takes data, its params are attributes
        targets = tuple(names[k:])
    return inputs or ("x",), targets, _outputs_of(cls, backward)


def _outputs_of(cls, backward):
    grads = _positional(getattr(cls, backward, None))[1:]
    if len(grads) >= 2:
        return tuple(g[1:] if g.startswith("d") and len(g) > 1 else g for g in grads)
    return ("out",)


GRAD_PREFIX = re.compile(r"^(grad_|d_|dl_d|dloss_d|d)", re.I)


def gradients_named(method, names):
    """The forward's arguments (of ``names``) the gradients ``method`` returns are named for,
    in its order, when every return is one tuple of names each naming a distinct argument
    (``return d_xhat, d_mu, d_logvar`` for ``x_hat``, ``mu``, ``logvar``); else ()."""
    returns = {tuple(getattr(e, "id", None) for e in v.elts) if isinstance(v, ast.Tuple) else None
               for v in _returns(method) or ()}
    if len(returns) != 1 or None in returns or None in next(iter(returns)):
        return ()
    plain = {n.replace("_", "").lower(): n for n in names}
    found = tuple(plain.get(GRAD_PREFIX.sub("", r).replace("_", "").lower()) for r in returns.pop())
    return found if found and None not in found and len(set(found)) == len(found) else ()


GROUPED = re.compile(r"^(grads?|gradients?|grad_inputs|dinputs|douts|dxs|results?|outs?|ret|res)$",
                     re.I)        # a name that may hold several gradients (a tuple built before)


def returns_one_array(method):
    """Every ``return`` of ``method``'s body gives one array (``return dout * self.mask``)."""
    returns = _returns(method) or []
    return bool(returns) and all(
        v is not None and not isinstance(v, (ast.Tuple, ast.List, ast.Dict, ast.Constant))
        and not (isinstance(v, ast.Name) and GROUPED.match(v.id))
        and not (isinstance(v, ast.Call) and getattr(v.func, "id", "") in ("tuple", "list", "dict"))
        for v in returns)


def returned_gradients(method, nested=False):
    """How many arrays ``method`` returns when every ``return`` in its own body is a tuple
    written out, of one length, with no ``None`` in it (``return dx, dy``); else 0.
    ``nested``: a pair whose second is a tuple written out counts its items too (``return
    loss, (d_user, d_item)``: 3)."""
    lengths = set()
    for value in _returns(method) or ():
        if not isinstance(value, ast.Tuple) or any(
                isinstance(e, ast.Constant) and e.value is None for e in value.elts):
            return 0
        inner = value.elts[1] if len(value.elts) == 2 else None
        lengths.add(1 + len(inner.elts) if nested and isinstance(inner, (ast.Tuple, ast.List))
                    else len(value.elts))
    return lengths.pop() if len(lengths) == 1 else 0


def _returns(method):
    """The values of the ``return`` statements of ``method``'s own body (not of functions
    defined in it; a bare ``return`` gives None), or None when its source cannot be read."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(method)))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return None
    body = tree.body[0] if tree.body and isinstance(tree.body[0], (ast.FunctionDef,
                                                                   ast.AsyncFunctionDef)) else None
    return [n.value for n in _own_nodes(body) if isinstance(n, ast.Return)] if body else None


def _own_nodes(fn):
    """The nodes of ``fn``'s body, not descending into functions or classes defined in it."""
    todo = list(fn.body)
    while todo:
        node = todo.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            todo.extend(ast.iter_child_nodes(node))


def target_kinds(name, doc, kind):
    """The kinds of targets a loss named ``name`` is tried with, most likely first."""
    text = words(kind or "") + " " + words(name)
    if any(w in text for w in LOSS_WORDS["bce_with_logits"][:2]):
        # a binary loss's targets are 0 or 1 (a forward reading ``np.where(y == 1, ...)`` beside
        # a backward reading 2y - 1 is right there, and nowhere else)
        return ("binary", "like_x", "labels", "one_hot")
    if any(w in text for w in LOSS_WORDS["mse"]):
        return ("like_x", "labels", "one_hot")
    if "onehot" in words(doc):
        return ("one_hot", "labels", "like_x")
    return ("labels", "one_hot", "like_x")


def draw_targets(kind, x_shape, rng, classes=0):
    """Targets of ``kind`` for an x of ``x_shape``: labels over ``classes`` (0: x's width, a
    class per output; a pair loss's 2: similar or not), one-hot rows, or reals like x."""
    if not kind:
        return ()
    if kind == "like_x":
        return (rng.standard_normal(x_shape),)
    if kind == "binary":
        return (rng.integers(0, 2, x_shape).astype(np.float64),)
    classes = classes or x_shape[-1]
    labels = rng.integers(0, classes, x_shape[:-1])
    return (labels,) if kind == "labels" else (np.eye(classes)[labels],)


# a loss's first target named so holds any reals (a teacher's logits, a ranker's scores):
# drawn like x first, not as labels or one-hot rows (probabilities are not: their rows sum to 1)
FREE_REALS = re.compile(r"logit|score", re.I)


def loss_targets_tried(layer, name, doc, kind, names, loss):
    """The kinds of targets (``target_kinds``'s, "" for none) a layer of inputs ``names`` is
    tried with, in order."""
    named = tuple(getattr(layer, "target_names", ()) or ())
    # a loss of several inputs (a triplet's anchor, positive, negative) takes targets only
    # where its forward names them (a contrastive loss's y); one naming none may take none
    if not loss or not named and len(names) > 1:
        return ("",)
    tried = target_kinds(name, doc, kind) + (() if named else ("",))
    if not named and _optional_not_targets(layer, names):
        tried = ("",) + tried[:-1]      # forward(x, eps=None): its noise left to it first
    if named and FREE_REALS.search(named[0]):
        tried = ("like_x",) + tuple(k for k in tried if k != "like_x")
    return tried


def _optional_not_targets(layer, names):
    """True when the user's forward takes, after its inputs, an optional argument named as no
    target is (a VAE's ``forward(x, eps=None)``): labels passed there would be its noise."""
    user = list(places(layer))[-1]      # (the object an adapter wraps)
    try:
        params = list(inspect.signature(type(user).forward).parameters.values())[1:]
    except (TypeError, ValueError, AttributeError):
        return False
    spare = params[len(names):len(names) + 1]
    return bool(spare) and spare[0].default is not spare[0].empty and not \
        is_target_name(spare[0].name) and spare[0].kind == spare[0].POSITIONAL_OR_KEYWORD
