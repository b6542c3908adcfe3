"""Candidate TF twins for users' sequence layers: recurrent steps and sequences, embeddings, and
temporal softmax losses with a mask.

The project's own twins (:mod:`oracle.twins_sequence`) do the work wherever the
user's parameter layout is theirs, which is cs231n's: Wx (D, G*H), Wh (H, G*H),
b (G*H,), an LSTM's gates i, f, o, g in blocks of H. An LSTM keeping its gates
in another order (PyTorch's and Keras's i, f, g, o; deep-learning-from-scratch
2's f, g, i, o) has its weight columns rearranged inside the twin, so TF's
gradients come back in the user's layout. Which weight is which comes from
the names or the shapes (``oracle.user_hyper.recurrent_roles``); as for every
candidate, only a probe of the user's forward confirms a match.
"""
from types import SimpleNamespace

import numpy as np

from oracle import twins_sequence as TS
from oracle.tf_runtime import tf
from oracle.twin_match import TwinMatch
from oracle.user_hyper import recurrent_roles

LSTM_ORDERS = (("ifog", "cs231n"), ("ifgo", "PyTorch / Keras"), ("fgio", "deep-learning-from-scratch 2"))


def sequence_candidates(probe):
    """Every sequence-layer twin that fits the probed layer's params, inputs and targets."""
    yield from _recurrent(probe.params, probe.inputs)
    yield from _embedding(probe.params, probe.inputs, probe.targets)
    yield from _temporal_loss(probe.params, probe.inputs, probe.targets)


# ---- recurrent steps and sequences ---------------------------------------------------------

def _recurrent(params, xs):
    if len(xs) not in (2, 3) or any(np.asarray(x).dtype.kind != "f" for x in xs):
        return
    x, states = xs[0], xs[1:]
    for wx, wh, b, gates in recurrent_roles(params):
        d, h = np.shape(params[wx])[0], np.shape(params[wh])[0]
        if x.ndim not in (2, 3) or x.shape[-1] != d or any(s.shape[-1:] != (h,) for s in states):
            continue
        where = f"input weight {wx}, hidden weight {wh}" + ("" if b else ", no bias")
        step = x.ndim == 2
        if gates == 1 and len(xs) == 2:
            what = "rnn step: tanh(x @ {} + h @ {} + {})" if step else \
                "rnn over T steps from h0, every h_t = tanh(x_t @ {} + h_(t-1) @ {} + {})"
            yield TwinMatch(_rnn_twin(wx, wh, b, step), "rnn_cell" if step else "rnn",
                            what.format(wx, wh, b or 0))
        elif gates == 4 and (len(xs) == 3 or not step):
            for order, who in LSTM_ORDERS:
                what = "lstm step, returns (next_h, next_c)" if step else \
                    f"lstm over T steps from h0 and {'c0' if len(xs) == 3 else 'c0 = 0'}, returns every h_t"
                yield TwinMatch(_lstm_twin(wx, wh, b, order, step), "lstm_cell" if step else "lstm",
                                f"{what}; gates {', '.join(order)} ({who}); {where}")
        elif gates == 3 and len(xs) == 2 and step:
            yield TwinMatch(_gru_twin(wx, wh, b), "gru_cell",
                            "gru step, gates z, r, n with the reset applied before Wh_n "
                            f"(next_h = (1 - z) * n + z * h); {where}")


def _bias(p, b, width, like):
    return p[b] if b else tf().zeros((width,), dtype=like.dtype)


def _rnn_twin(wx, wh, b, step):
    def twin(layer, x, h, **p):
        bias = _bias(p, b, p[wh].shape[1], x)
        if step:
            return TS.rnn_cell(None, x, h, p[wx], p[wh], bias)
        return TS.rnn(None, x, h, p[wx], p[wh], bias)
    return twin


def _in_project_order(w, order, hidden):
    """w's gate blocks (along the last axis), kept in ``order``, rearranged into i, f, o, g."""
    if order == "ifog":
        return w
    blocks = {g: w[..., k * hidden:(k + 1) * hidden] for k, g in enumerate(order)}
    return tf().concat([blocks[g] for g in "ifog"], axis=-1)


def _lstm_twin(wx, wh, b, order, step):
    def twin(layer, x, *states, **p):
        hidden = p[wh].shape[0]
        view = SimpleNamespace(hidden_size=hidden)
        Wx, Wh, bias = (_in_project_order(w, order, hidden)
                        for w in (p[wx], p[wh], _bias(p, b, 4 * hidden, x)))
        if step:
            return TS.lstm_cell(view, x, *states, Wx, Wh, bias)
        if len(states) == 1:
            return TS.lstm(view, x, *states, Wx, Wh, bias)
        (h, c), hs = states, []          # a given c0: the cell stepped over T
        for t in range(x.shape[1]):
            h, c = TS.lstm_cell(view, x[:, t], h, c, Wx, Wh, bias)
            hs.append(h)
        return tf().stack(hs, axis=1)
    return twin


def _gru_twin(wx, wh, b):
    def twin(layer, x, h, **p):
        view = SimpleNamespace(hidden_size=p[wh].shape[0])
        return TS.gru_cell(view, x, h, p[wx], p[wh], _bias(p, b, p[wh].shape[1], x))
    return twin


# ---- embeddings and the temporal loss --------------------------------------------------------

def _embedding(params, xs, ts):
    weights = [k for k, v in params.items() if np.ndim(v) == 2]
    if xs or len(ts) != 1 or np.asarray(ts[0]).dtype.kind not in "iu" or len(params) != 1 or not weights:
        return
    W = weights[0]

    def twin(layer, idx, **p):
        out = TS.embedding(None, idx, p[W])
        pad = getattr(layer, "padding_idx", None)
        if isinstance(pad, (int, np.integer)) and not isinstance(pad, bool):
            # PyTorch's padding_idx: that row's output is the row, and it gets no gradient
            t = tf()
            hit = t.cast(t.equal(t.cast(idx, t.int64), int(pad) % int(p[W].shape[0])), out.dtype)
            out = out * (1 - hit[..., None]) + t.stop_gradient(out) * hit[..., None]
        return out
    yield TwinMatch(twin, "embedding", f"embedding: {W}[idx] (tf.gather; the rows of a repeated "
                                       "index get the sum of its gradients; a padding_idx row "
                                       "none, as PyTorch's)")


NORMALISERS = (("batch", "divided by N (cs231n)"),
               ("mask", "divided by the number of unmasked steps"),
               ("all", "divided by N * T"))


def _temporal_loss(params, xs, ts):
    if params or len(xs) != 1 or np.ndim(xs[0]) != 3 or len(ts) != 2:
        return
    y, mask = (np.asarray(t) for t in ts)
    if y.dtype.kind not in "iu" or y.shape != xs[0].shape[:2] or mask.shape != y.shape:
        return
    for norm, how in NORMALISERS:
        yield TwinMatch(_loss_twin(norm), "temporal_softmax_cross_entropy",
                        "temporal softmax cross-entropy: -sum over the steps of mask * "
                        f"log softmax(x)[y], {how}")


def _loss_twin(norm):
    def twin(layer, x, y, mask):
        t = tf()
        loss = TS.temporal_softmax_cross_entropy(None, x, y, mask)   # divided by N
        if norm == "batch":
            return loss
        n = t.cast(x.shape[0], x.dtype)
        count = t.reduce_sum(t.cast(mask, x.dtype)) if norm == "mask" else \
            t.cast(x.shape[0] * x.shape[1], x.dtype)
        return loss * n / t.maximum(count, 1.0)
    return twin
