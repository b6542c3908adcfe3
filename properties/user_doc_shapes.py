"""Shapes a docstring gives: ``x: (N, D)`` entries, names listed before one shape (``gamma, beta:
(1, C, 1, 1)``) and a name before its shape with no colon (``x (N, C, H, W); w (2, 3, 3)``),
each letter at a size of its own (``properties.user_templates`` and the functional pairs'
param shapes read them)."""
import re

import numpy as np

LETTER_SIZES = {"C": 4, "H": 6, "W": 7, "D": 5, "M": 6, "T": 4, "F": 5, "HH": 3, "WW": 3, "K": 4}
BATCH_LETTERS = ("N", "n", "B", "batch", "batch_size", "n_ex", "n_samples")   # (numpy-ml's n_ex)


ENTRY = re.compile(r"(?:^|[\s,;(\-*])(\w+)\s*:[^:()]*?\(([^()]*)\)", re.M)
# names listed before one shape, at a line's start, after ; ( - * or right after a shape and
# its comma ("x: (N, D), W1, W3: (D, H)"; not a description's last word: "logits: (N, C)
# scores, y: (N,)" lists nothing)
LISTED = re.compile(r"(?:^|[;(\-*]|\),)[ \t]*(\w+(?:[ \t]*,[ \t]*\w+)+)[ \t]*:[^:()]*?\(([^()]*)\)",
                    re.M)


# a name then its shape in parentheses, no colon: ``x (N, C, H, W); w (2, 3, 3)`` (the shape
# letters and numbers alone, with a comma: a call's ``f(x, y)`` names no shape)
BARE = re.compile(r"(?:^|[\s,;(])(\w+)[ \t]+\(((?:[ \t]*(?:[A-Z]\w{0,3}|\d+)[ \t]*,)+"
                  r"(?:[ \t]*(?:[A-Z]\w{0,3}|\d+))?[ \t]*)\)", re.M)


# a docstring's letter is the size the layer keeps under one of these names (a RoPE built with
# head_dim=4 documenting x: (B, T, H, D)), the first found; a param's axis says more
LETTER_HYPERS = {
    "D": ("dim", "d_model", "embed_dim", "model_dim", "n_embd", "head_dim", "d_head",
          "in_features", "input_dim", "in_dim", "d_in"),
    "C": ("in_channels", "channels", "num_channels", "n_channels"),
    "H": ("n_heads", "num_heads", "n_head"),
    "V": ("vocab_size", "n_vocab"),
    "E": ("n_experts", "num_experts"),
    "T": ("seq_len", "block_size"),
}


def hyper_sizes(layer):
    """{letter: size} of the ``LETTER_HYPERS`` the layer keeps, and of its int attributes by
    their own names, each an int of 2 or more (a torch-style ``dim=1`` is an axis, and a width
    of 1 judges little)."""
    from oracle.user_hyper import find_hyper, places
    # an int the layer keeps under a docstring's own letter (x: (N, n) with self.n = 8; a
    # size named n_modes), first: its name says which
    sizes = {k: int(v) for place in places(layer) for k, v in getattr(place, "__dict__", {}).items()
             if re.fullmatch(r"[A-Za-z]\w*", k) and isinstance(v, (int, np.integer))
             and not isinstance(v, bool) and v >= 2}
    for letter, names in LETTER_HYPERS.items():
        found = find_hyper(layer, names)
        if found is not None and isinstance(found[1], (int, np.integer)) and \
                not isinstance(found[1], bool) and found[1] >= 2:
            sizes[letter] = int(found[1])
    return sizes


def _doc_entries(doc, params, hyper=None):
    """({name: [letters]}, {letter: size}) from a docstring's ``name: ... (N, D)`` entries, the
    letters bound to the params' sizes, else to the layer's ``hyper`` (``hyper_sizes``); None
    when it has none."""
    entries = {}
    for name, body in ENTRY.findall(doc or ""):
        entries.setdefault(name, [p.strip() for p in body.split(",") if p.strip()])
    for names, body in LISTED.findall(doc or ""):       # ``gamma, beta: (1, C, 1, 1)``
        for name in re.split(r"\s*,\s*", names):
            entries.setdefault(name, [p.strip() for p in body.split(",") if p.strip()])
    for name, body in BARE.findall(doc or ""):          # ``x (N, C, H, W); rois (R, 5)``
        entries.setdefault(name, [p.strip() for p in body.split(",") if p.strip()])
    if not entries:
        return None
    sizes = {**LETTER_SIZES, **(hyper or {})}
    for name, letters in entries.items():
        if name in params and len(letters) == params[name].ndim:
            for letter, size in zip(letters, params[name].shape):
                if re.fullmatch(r"[A-Za-z]\w*", letter):
                    sizes[letter] = int(size)
    # letters of no known size, each its own (Tq and Tk: a query and a key of one length hide
    # a backward that mixes their axes)
    unknown = [letter for letters in entries.values() for term in letters
               for letter in _factors(term)
               if re.fullmatch(r"[A-Za-z]\w*", letter) and letter not in sizes
               and letter not in BATCH_LETTERS
               and not re.fullmatch(r"d_?\w+", letter)]
    for letter, size in zip(dict.fromkeys(unknown), (4, 5, 6, 7, 8, 9)):
        sizes[letter] = size
    return entries, sizes


PRODUCT = re.compile(r"^(?:\d+|[A-Za-z]\w*|\d+[A-Za-z]\w*)(?:\s*\*\s*(?:\d+|[A-Za-z]\w*))*$")


def _factors(term):
    """A size's factors: ``3K`` -> 3, K; ``n_heads*hd`` -> n_heads, hd; ``D`` -> D; the names
    of an arithmetic size: ``L // 2 + 1`` -> L."""
    if not PRODUCT.match(term):
        return re.findall(r"[A-Za-z_]\w*", term) if _arithmetic(term) is not None else [term]
    out = []
    for factor in re.split(r"\s*\*\s*", term):
        lead = re.match(r"^(\d+)([A-Za-z]\w*)$", factor)
        out += list(lead.groups()) if lead else [factor]
    return out


def _arithmetic(term):
    """The parsed expression of a size written with + - * // and at least one of them
    (``L // 2 + 1``, ``D // 2``, ``2 * D``), or None."""
    import ast
    try:
        tree = ast.parse(term.strip(), mode="eval").body
    except SyntaxError:
        return None
    ok = isinstance(tree, ast.BinOp) and all(
        isinstance(n, (ast.BinOp, ast.Name, ast.Load, ast.Add, ast.Sub, ast.Mult, ast.FloorDiv))
        or isinstance(n, ast.Constant) and type(n.value) is int for n in ast.walk(tree))
    return tree if ok else None


def _evaluated(node, sizes):
    import ast
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        value = sizes.get(node.id)
        return value if isinstance(value, int) else None
    a, b = _evaluated(node.left, sizes), _evaluated(node.right, sizes)
    if a is None or b is None or isinstance(node.op, ast.FloorDiv) and b == 0:
        return None
    return {ast.Add: a + b, ast.Sub: a - b, ast.Mult: a * b}.get(type(node.op)) \
        if not isinstance(node.op, ast.FloorDiv) else a // b


def product_size(term, sizes):
    """The size of a product of sizes (an MDN's ``3K`` outputs, a GQA's ``n_heads*hd``) or of an
    arithmetic one (a coupling layer's ``D // 2``, a spectrum's ``L // 2 + 1``), each letter at
    its size in ``sizes``; None for anything else, a letter of no size or a size below 1."""
    tree = _arithmetic(term)
    if tree is not None and not PRODUCT.match(term):
        value = _evaluated(tree, sizes)
        return value if isinstance(value, int) and value >= 1 else None
    factors = _factors(term)
    if len(factors) < 2:
        return None
    size = 1
    for f in factors:
        value = int(f) if f.isdigit() else sizes.get(f)
        if not isinstance(value, int):
            return None
        size *= value
    return size


def doc_param_shapes(doc, names, every=True):
    """{param: shape} from a docstring's entries for ``names`` (a functional pair's ``w: pieces
    weights, shape (K, D, M)``), each letter at its size (those of no known size each their
    own); None unless every param (``every`` False: one) has an entry of letters and numbers."""
    found = _doc_entries(doc, {})
    if found is None or not names:
        return None
    entries, sizes = found
    shapes = {}
    for name in names:
        letters = entries.get(name) or ()
        dims = [int(v) if v.isdigit() else sizes.get(v) or product_size(v, sizes)
                for v in letters]
        if dims and None not in dims and not any(v in BATCH_LETTERS for v in letters):
            shapes[name] = tuple(dims)
        elif every:
            return None
    return shapes or None


def documented_arrays(fn, names, rows):
    """{name: an array of the shape ``fn``'s docstring gives it} for those of ``names`` it
    gives one of letters and numbers (``x0, v0: (N,)``; ``x_obs: (T, N)``), the batch letter
    ``rows`` long, a size a method's object keeps (``fn.owner``: ``(n_steps,)``) that size,
    each drawn from its name; {} when it gives none."""
    import inspect
    import zlib
    try:
        doc = inspect.getdoc(inspect.unwrap(fn)) or ""
    except ValueError:
        return {}
    owner = getattr(fn, "owner", None)      # a method's object: its int sizes (n_steps) too
    found = _doc_entries(doc, {}, {k: v for k, v in vars(owner).items() if type(v) is int and
                                   v >= 2} if owner is not None else None)
    if found is None:
        return {}
    entries, sizes = found
    out = {}
    for name in names:
        dims = [rows if d in BATCH_LETTERS else int(d) if d.isdigit() else
                sizes.get(d) or product_size(d, sizes) for d in entries.get(name) or ()]
        if dims and None not in dims:
            out[name] = 0.5 * np.random.default_rng(zlib.crc32(name.encode())).standard_normal(dims)
    return out


DICT_ENTRY = re.compile(r"[\"'](\w+)[\"']\s*:\s*\(([^()]*)\)")


def documented_entries(fn):
    """{key: shape} a docstring gives a params dict's entries (``params: {"w": (D,)}``), each
    letter at its size; {} when it gives none."""
    import inspect
    try:
        doc = inspect.getdoc(inspect.unwrap(fn)) or ""
    except ValueError:
        return {}
    sizes, out = dict(LETTER_SIZES), {}
    for key, body in DICT_ENTRY.findall(doc):
        dims = [int(d) if d.isdigit() else sizes.get(d) or product_size(d, sizes)
                for d in (p.strip() for p in body.split(",")) if d]
        if None not in dims:
            out[key] = tuple(dims)
    return out


def documented_batched(fn):
    """The arguments ``fn``'s docstring gives a batch axis first (``mu, logvar, eps: (N, K)``):
    data, one row a sample, whatever their names (a functional pair's, not its params)."""
    import inspect
    found = _doc_entries(inspect.getdoc(fn) or "", {})
    return {n for n, letters in (found[0] if found else {}).items()
            if letters and letters[0] in BATCH_LETTERS}
