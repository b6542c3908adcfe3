"""A module-level loss function returning its own gradients, on the module's global weights
(min-char-rnn's ``lossFun(inputs, targets, hprev)`` returning ``loss, dWxh, dWhh, dWhy, dbh,
dby, hs[len(inputs) - 1]``, with ``Wxh``, ``Whh``... arrays of the module).

Such a function was "nothing recognised to check". It is recognised by its returns: every
``return`` a tuple written out whose first element is the loss and whose next ones are
names ``dX`` for module arrays ``X`` (any more after them, a last hidden state, are left
alone). Each returned ``dX`` is checked against finite differences of the loss with respect
to the module's ``X``, moved in place (and put back after). Its arguments are drawn by name:
sequences of character indices (``inputs``, ``targets``, ``xs``, ``ys``...) as lists of
``SEQ_LENGTH`` integers below the vocabulary size (the module's ``vocab_size``, else the
columns of its first non-square 2-D weight), a hidden state (``hprev``, ``h0``...) as a
column of the module's ``hidden_size`` (else the recurrent, square weight's size); other
arguments cannot be guessed.
"""
import ast
import inspect
import textwrap

import numpy as np

from oracle.compare import compare
from oracle.finite_diff import fd_vjp
from properties.user_entry import CannotCheck, Found
from properties.user_targets import is_state_name

SEQ_LENGTH = 4
SEQUENCE_NAMES = ("inputs", "targets", "xs", "ys", "x", "y", "ids", "idx", "indices", "tokens",
                  "chars", "seq", "labels", "input_ids", "target_ids")
STATE_NAMES = ("hprev", "h", "h0", "hidden", "state", "h_prev", "cprev", "c0", "c_prev")


def returned_gradients(fn, module_vars):
    """The module arrays ``X`` whose ``dX`` every return of ``fn`` gives right after the loss,
    in that order, or None when ``fn`` is not such a function."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return None
    returns = [n for n in ast.walk(tree.body[0]) if isinstance(n, ast.Return)]
    found = None
    for node in returns:
        if not isinstance(node.value, ast.Tuple) or len(node.value.elts) < 2:
            return None
        names = []
        for elt in node.value.elts[1:]:
            target = elt.id[1:] if isinstance(elt, ast.Name) and elt.id.startswith("d") else None
            if target is None or not isinstance(module_vars.get(target), np.ndarray) or \
                    module_vars[target].dtype.kind != "f":
                break
            names.append(target)
        if not names or (found is not None and names != found):
            return None
        found = names
    return found


def module_loss_item(name, fn, label, path):
    """A Found checking ``fn``'s returned gradients, or None when it does not return them."""
    module_vars = fn.__globals__
    params = returned_gradients(fn, module_vars)
    if params is None:
        return None
    args = _arguments(fn, module_vars, params)
    shown = ", ".join(f"d{p}" for p in params)
    return Found(label, path, "loss function", f"{name}(...) -> (loss, {shown}, ...) on the "
                 f"module's {', '.join(params)}, against finite differences of the loss; "
                 f"{_described(args)}",
                 check=lambda: check_module_loss(fn, name, label, params, args))


def _arguments(fn, module_vars, params):
    """{argument: value} for fn's required arguments, or CannotCheck naming those it cannot."""
    arrays = [module_vars[p] for p in params]
    square = next((a for a in arrays if a.ndim == 2 and a.shape[0] == a.shape[1]), None)
    hidden = module_vars.get("hidden_size")     # (an LSTM on [h; x] has no square weight)
    hidden = hidden if isinstance(hidden, int) else square.shape[0] if square is not None else None
    vocab = module_vars.get("vocab_size")
    if not isinstance(vocab, int):
        vocab = next((a.shape[1] for a in arrays if a.ndim == 2 and a.shape[0] != a.shape[1]), None)
    rng = np.random.default_rng(0)
    out, missing = {}, []
    for p in inspect.signature(fn).parameters.values():
        if p.default is not p.empty:
            continue
        low = p.name.lower()
        if low in SEQUENCE_NAMES and vocab:
            out[p.name] = [int(i) for i in rng.integers(0, vocab, SEQ_LENGTH)]
        elif (low in STATE_NAMES or is_state_name(p.name)) and hidden:
            out[p.name] = 0.5 * rng.standard_normal((hidden, 1))
        else:
            missing.append(p.name)
    if missing:
        raise CannotCheck(f"{fn.__name__} returns the gradients of {', '.join(params)}, but "
                          f"what to pass for {missing} cannot be told (sequences need a "
                          f"vocab_size or a non-square weight, states a hidden_size or a square "
                          f"weight)")
    return out


def _described(args):
    return "; ".join(f"{k} {len(v)} indices" if isinstance(v, list) else f"{k} {v.shape}"
                     for k, v in args.items())


def check_module_loss(fn, name, label, params, args):
    module_vars = fn.__globals__
    kept = {p: np.array(module_vars[p], copy=True) for p in params}

    def call():
        return fn(*[list(v) if isinstance(v, list) else np.array(v, copy=True)
                    for v in args.values()])
    try:
        got = call()
        grads = dict(zip(params, got[1:1 + len(params)]))
        got = {p: np.array(g, dtype=np.float64, copy=True) for p, g in grads.items()}

        def loss_at(arrays):
            for p, value in arrays.items():
                np.copyto(module_vars[p], value)      # in place: fn reads the module's arrays
            return np.float64(call()[0])
        fd = fd_vjp(loss_at, {p: kept[p] for p in params}, np.float64(1.0),
                    rng=np.random.default_rng(0))
    finally:
        for p in params:
            np.copyto(module_vars[p], kept[p])
    config = {k: (len(v) if isinstance(v, list) else list(v.shape)) for k, v in args.items()}
    results = []
    for p in params:
        mine, theirs, excused = fd[p].against(got[p])
        results.append(compare(mine, theirs, layer=label, prop="loss_gradient", tensor=f"d{p}",
                               oracle="fd", dtype="float64", config=config, excused=excused,
                               mode=fd[p].mode, verdict="layer bug", diagnosed=False,
                               explanation=f"{name}'s d{p} is not the derivative of the loss it "
                                           f"returns with respect to the module's {p}."))
    return results
