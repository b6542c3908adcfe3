"""Build a user's object from its constructor's signature, choosing arguments by their names.

Constructor arguments are chosen the way tutorials name them: weight arrays
(``W``, ``w``, ``weight``, ``filters``...), biases, ``gamma``/``beta``, sizes
(``input_size``, ``hidden_size``, ``num_filters``, ``nodes``, ``d_in``, ``fan_out``...; with
``num_heads`` 2, every size even), and the usual
hyperparameters (``stride``, ``pad``, ``pool_h``...). Anything else needs a
hint (``properties.user_hints``); the error names the arguments. Arrays are
placeholders: the check draws every parameter afresh.
"""
import ast
import inspect
import re

import numpy as np

from properties.user_targets import is_adjacency_name, normalized_adjacency, random_graph

WEIGHTS = {"w", "weight", "weights", "filters", "filter", "kernel", "kernels"}
BIASES = {"b", "bias", "biases"}
SCALES = {"gamma", "scale"}
SHIFTS = {"beta", "shift", "offset"}
SIZE_WORDS = ("size", "dim", "features", "inputs", "outputs", "units", "nodes", "len",
              "channels", "filters", "hidden", "n_in", "n_out", "neurons", "vocab", "embed",
              # in pinyin: input, output, hidden layer, nodes, neurons, dimension
              "shuru", "shuchu", "yinceng", "yincang", "jiedian", "shenjingyuan", "weidu")
SIZE_LETTERS = ("d", "m", "n", "k", "h", "v", "t", "e", "a", "c")  # D, H (hidden), V, T, A (actions), C
# a size letter numbered (``H1``, ``H2``: a stacked LSTM's) or after ``n_`` (deeplearning.ai's
# ``n_x``, ``n_h``, ``n_y``, ``n_a``)
NUMBERED_SIZE = re.compile(r"(?:[dmnkhvtec]\d+|n_?[xhyad]\d*)")
COUNT = re.compile(r"(?:num|n)_[a-z]+|[a-z]+_num|d_[a-z]+")  # a count of anything (a CRF's
# num_tags), or a width named d_ as a transformer's are (an AutoInt's d_att)
# a size named by a word of its own (``d_in``, ``fan_out``, ``c_in``, ``num_classes``, ``d_model``)
SIZE_TOKENS = {"in", "out", "fan", "classes", "model", "ff", "din", "dout", "cin", "cout", "ch",
               "chans", "width", "depth", "latent", "hid", "normalized", "embedding", "features",
               "nin", "nout",                                  # micrograd's Neuron(nin), Layer(nin, nout)
               "embd", "emb", "ctx", "k", "q", "v",            # nanoGPT's n_embd; d_k, d_ctx
               "actions", "states", "obs", "experts", "pieces", "groups"}   # an RL policy's
HEADS = {"heads", "num_heads", "n_heads", "n_head", "nhead", "num_head",
         "num_groups", "groups", "n_groups", "ngroups"}   # (a group norm's: 2 divides every size)
ROTARY = re.compile(r"rotary|rope", re.I)      # RoPE rotates pairs: an even width
HEAD_SIZES = (4, 6, 8)       # with heads: every size a multiple of their number (2)
SIZE_LISTS = ("_list", "sizes", "dims", "widths", "_layers", "nouts")   # a list of sizes
HYPER = {"stride": 1, "pad": 0, "padding": 0, "pool_h": 2, "pool_w": 2, "pool_size": 2,
         "pool_height": 2, "pool_width": 2, "dropout_ratio": 0.5, "p": 0.5, "keep_prob": 0.5,
         "alpha": 0.1, "eps": 1e-5, "epsilon": 1e-5, "momentum": 0.9, "ph": 2, "pw": 2,
         "kh": 3, "kw": 3, "rate": 0.5, "dropout_rate": 0.5, "drop_rate": 0.5, "drop_prob": 0.5,
         "filter_shape": (2, 2), "kernel_shape": (2, 2)}   # ML-From-Scratch's, numpy-ml's
SIZES = (3, 2, 4)            # in, out, then a third size (a hidden layer)
CONTEXT = {"block_size", "max_len", "max_length", "seq_len", "max_seq_len", "context_length",
           "context_size", "n_positions", "n_ctx", "max_position_embeddings", "maxlen"}
CONTAINED = ("module", "layer", "block", "child")   # Sequential(*modules): what it holds
CONV_NAME = re.compile(r"conv", re.I)
TRANSPOSED = re.compile(r"transpose|deconv", re.I)


class CannotBuild(Exception):
    """The object cannot be built without a hint; ``missing`` names the arguments."""

    def __init__(self, message, missing=(), partial=None):
        super().__init__(message)
        self.missing = tuple(missing)
        self.partial = dict(partial or {})   # every argument in order: a guess, or ... (missing)


def constructor_args(cls, even=False):
    """kwargs for ``cls(...)`` chosen by the arguments' names; raises CannotBuild. ``even``:
    every size even (a constructor that refused odd ones: a coupling layer halving its width)."""
    try:
        sig = inspect.signature(cls)
    except (TypeError, ValueError):
        return {}
    kwargs, missing = {}, []
    # heads (every size a multiple of their number), or a rotary embedding's rotated pairs
    even = even or any(n.lower() in HEADS or n.lower() in ("head_dim", "head_size", "rotary_dim")
                       for n in sig.parameters) or bool(ROTARY.search(cls.__name__))
    sizes = list(HEAD_SIZES if even else SIZES)
    conv = bool(CONV_NAME.search(cls.__name__))
    # a kernel (F, C, KH, KW) with F != C (equal, a backward reading F for C is right), or
    # (F, C, K) for a 1-D convolution
    kernel = ((3, 2, 3) if "1d" in cls.__name__.lower() else (3, 2, 3, 3)) if conv else (3, 2)
    for name, p in sig.parameters.items():
        if p.kind == p.VAR_POSITIONAL and any(w in name.lower() for w in CONTAINED):
            raise CannotBuild(f"{cls.__name__}(*{name}): a container, and built with no "
                              f"{name} it would check nothing but the identity; give it some "
                              f"of yours and its input", [name], {"*" + name: Ellipsis})
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.default is not p.empty:
            continue
        low = name.lower()
        if _graph_adjacency(cls, name):
            kwargs[name] = constructor_adjacency(name)
        elif low in WEIGHTS:
            kwargs[name] = np.random.default_rng(0).standard_normal(kernel)
        elif low in BIASES:      # a conv's bias is per filter (a transposed one's per C_out)
            kwargs[name] = np.zeros(kernel[1] if not conv or TRANSPOSED.search(cls.__name__)
                                    else kernel[0])
        elif low in SCALES:
            kwargs[name] = np.ones(3)
        elif low in SHIFTS:
            kwargs[name] = np.zeros(3)
        elif low in ("rng", "random_state", "generator"):
            kwargs[name] = np.random.default_rng(0)
        elif low == "seed":
            kwargs[name] = 0
        elif low in HYPER:
            kwargs[name] = HYPER[low]
        elif low in CONTEXT:      # a positional table's length: longer than any sequence drawn
            kwargs[name] = 8
        elif low in HEADS:
            kwargs[name] = 2
        elif low.endswith(SIZE_LISTS):      # hidden_size_list, layer_sizes: several sizes
            kwargs[name] = list(SIZES[2:]) + [3]
        elif any(w in low for w in SIZE_WORDS) or low in SIZE_LETTERS or \
                SIZE_TOKENS & set(re.split(r"[_\d]+", low)) or NUMBERED_SIZE.fullmatch(low) or \
                COUNT.fullmatch(low):
            kwargs[name] = sizes.pop(0) if sizes else 2
        elif _looked_up(cls, name) is not None:     # Activation('relu'): a key of its table
            kwargs[name] = _looked_up(cls, name)
        else:
            missing.append(name)
            kwargs[name] = Ellipsis
    if missing:
        raise CannotBuild(f"{cls.__name__}(): cannot tell what to pass for {missing}", missing,
                          kwargs)
    return kwargs


GRAPH_WORDS = re.compile(r"graph|gcn|gnn|gat\b|sage|adjacen|node", re.I)
NODES = 5      # a graph given to a constructor: its nodes are every input's rows


def _graph_adjacency(cls, name):
    """Is the constructor's ``name`` a graph's adjacency (``A_hat``, ``adj``; a bare ``A`` in a
    class whose name or docstring speaks of graphs)?"""
    if is_adjacency_name(name):
        return True
    return name == "A" and bool(GRAPH_WORDS.search(f"{cls.__name__} {inspect.getdoc(cls) or ''}"))


def constructor_adjacency(name):
    """The graph a constructor is given: a random undirected graph of ``NODES`` nodes, every
    node with a neighbour; as 0/1 entries for a bare adjacency (the layer may add its self
    loops and normalise), normalised D^-1/2 (A + I) D^-1/2 for one named so (``A_hat``)."""
    rng = np.random.default_rng(0)
    if re.search(r"hat|norm|tilde|laplacian", name, re.I):
        return normalized_adjacency(rng, NODES)
    a = random_graph(rng, NODES)
    lonely = np.flatnonzero(a.sum(axis=1) == 0)
    a[lonely, (lonely + 1) % NODES] = a[(lonely + 1) % NODES, lonely] = 1.0
    return a


def call_expression(cls, overrides=None, failed=False):
    """``Bilinear(in1_features=2, in2_features=3, out_features=4)``: the call the harness made to
    build ``cls`` from its arguments' names, for a hint to start from (an array it chose
    shows as ``...``, for the user to fill in; a generator as the call that makes one).
    ``failed``: that call raised, so every argument it guessed shows as ``...``."""
    try:
        kwargs = {**constructor_args(cls), **(overrides or {})}
    except CannotBuild as exc:
        kwargs = {**exc.partial, **(overrides or {})}
    shown = (_shown_argument(k, v, failed and k not in (overrides or {}))
             for k, v in kwargs.items())
    return f"{cls.__name__}({', '.join(shown)})"


def _shown_argument(name, value, unknown):
    if name.startswith("*"):
        return "..."
    if isinstance(value, np.random.Generator):
        return f"{name}=np.random.default_rng(0)"
    if unknown or isinstance(value, np.ndarray) or value is Ellipsis:
        return f"{name}=..."
    try:
        ast.literal_eval(repr(value))
    except (ValueError, SyntaxError):
        return f"{name}=..."       # an object's printed form is no Python to paste
    return f"{name}={value!r}"



def shown_kwargs(kwargs):
    """``a=1, W=<array (3, 4)>``: keyword arguments as a message shows them."""
    return ", ".join(f"{k}={v!r}" if not isinstance(v, np.ndarray) else f"{k}=<array {v.shape}>"
                     for k, v in kwargs.items())


def empty_container(obj):
    """Why ``obj`` would check nothing but the identity (a model filled by ``add()`` after it
    is built: ``self.layers = []`` and no arrays of its own), or ""."""
    attrs = vars(obj) if hasattr(obj, "__dict__") else {}
    empty = [k for k, v in attrs.items() if isinstance(v, (list, dict, tuple)) and not v
             and any(w in k.lower() for w in CONTAINED)]
    if not empty or any(isinstance(v, np.ndarray) or isinstance(v, (list, dict, tuple)) and v
                        for v in attrs.values()):
        return ""
    return (f"{type(obj).__name__}() holds no layers ({empty[0]} is empty: filled after it is "
            f"built, by add() or by hand), so it would check nothing but the identity; give it "
            f"some of yours and its input in a hint: # gradcheck: {type(obj).__name__}(...); "
            f"x=(N, ...)")


def _looked_up(cls, name):
    """The first key of the string-keyed dict that ``__init__`` indexes with the argument
    ``name`` (``self.functions[name]()``, ``activation_functions[name]``): a class attribute or a
    global of its module. None when it indexes none."""
    import sys
    import textwrap
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls.__init__)))
    except (OSError, TypeError, SyntaxError):
        return None
    module = vars(sys.modules.get(cls.__module__, object))
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Name) and \
                node.slice.id == name:
            held = node.value.attr if isinstance(node.value, ast.Attribute) else \
                node.value.id if isinstance(node.value, ast.Name) else None
            table = getattr(cls, held, None) if held and hasattr(cls, held) else module.get(held)
            if isinstance(table, dict) and table and all(isinstance(k, str) for k in table):
                return next(iter(table))
    return None
