"""Candidate TF twins for users' dense layers, activations and losses.

Each ``*_candidates`` function yields :class:`~oracle.twin_match.TwinMatch`
objects, most likely first, filtered by the params' shapes; the caller keeps
the first one a probe confirms. Twins take params by the user's names and
read hyperparameters (``alpha``) off the layer when they are called.
"""
import numpy as np

from oracle import twins
from oracle.tf_runtime import tf
from oracle.twin_match import TwinMatch
from oracle.user_hyper import hyper

ALPHA_NAMES = ("alpha", "negative_slope", "slope", "leak", "leakiness", "a")


# ---- dense ---------------------------------------------------------------------------------

def _dense_variants(x_shape, W_shape):
    """(layout, transposed, how) for every way x of ``x_shape`` fits a weight of ``W_shape``."""
    n_in = {False: W_shape[0], True: W_shape[1]}
    flat = int(np.prod(x_shape[1:])) if len(x_shape) > 1 else None
    for transposed in (False, True):
        d = n_in[transposed]
        w = "{W}.T" if transposed else "{W}"
        if flat == d and len(x_shape) > 2:
            yield "batch", transposed, f"x.reshape(N, -1) @ {w}"
        if x_shape[-1] == d:
            yield "last", transposed, f"x @ {w}"
        if len(x_shape) > 1 and int(np.prod(x_shape)) == d:
            yield "sample", transposed, f"x.flatten() @ {w} (one sample, no batch axis)"


def _affine(x, W, b, layout, transposed):
    t = tf()
    W = t.transpose(W) if transposed else W
    if layout == "batch":
        out = twins.dense(None, x, W, 0.0)
    elif layout == "sample":
        out = t.reshape(t.reshape(x, (1, -1)) @ W, (-1,))
    else:
        out = t.tensordot(x, W, axes=1)
    return out if b is None else out + t.reshape(b, (-1,))


ACTIVATED = {"softmax": lambda y: tf().nn.softmax(y, axis=-1), "sigmoid": lambda y: tf().math.sigmoid(y),
             "tanh": lambda y: tf().math.tanh(y), "relu": lambda y: tf().nn.relu(y)}


def dense_candidates(params, weight, bias, x_shape, text):
    """x @ W + b in every layout that fits, then followed by an activation (seed 003's Softmax)."""
    W_shape = np.shape(params[weight])
    if bias is not None and np.size(params[bias]) not in W_shape:
        return
    variants = list(_dense_variants(x_shape, W_shape))
    named = [a for a in ACTIVATED if a in text]
    for act in [None, *named, *[a for a in ACTIVATED if a not in named]]:
        for layout, transposed, how in variants:
            if bias is not None and np.size(params[bias]) != W_shape[1 if not transposed else 0]:
                continue
            yield TwinMatch(_dense_twin(weight, bias, layout, transposed, act),
                            "dense" if act is None else f"dense+{act}",
                            _dense_how(how.format(W=weight), bias, act, transposed))


def _dense_how(expr, bias, act, transposed):
    expr = expr + (f" + {bias}" if bias else " (no bias)")
    if act:
        expr = f"{act}({expr})"
    note = "; weight stored (out, in), PyTorch-style" if transposed else ""
    return f"dense: {expr}{note}"


def _dense_twin(weight, bias, layout, transposed, act):
    def twin(layer, x, **p):
        out = _affine(x, p[weight], p.get(bias) if bias else None, layout, transposed)
        return ACTIVATED[act](out) if act else out
    return twin


# ---- activations -------------------------------------------------------------------------

def _leaky(layer, x):
    alpha = float(hyper(layer, ALPHA_NAMES, 0.01))
    return tf().where(x > 0, x, alpha * x)


def _elu(layer, x):
    alpha = float(hyper(layer, ALPHA_NAMES, 1.0))
    return tf().where(x > 0, x, alpha * (tf().exp(tf().minimum(x, 0.0)) - 1.0))


ACTIVATIONS = {   # kind -> (twin, how, words in a name that select it)
    "leaky_relu": (_leaky, "where(x > 0, x, alpha * x), alpha from the layer (default 0.01)",
                   ("leaky", "lrelu")),
    "relu": (twins.relu, "tf.nn.relu (gradient 0 at x == 0)", ("relu",)),
    "elu": (_elu, "where(x > 0, x, alpha * (exp(x) - 1)), alpha from the layer (default 1)", ("elu",)),
    "sigmoid": (twins.sigmoid, "tf.math.sigmoid", ("sigmoid", "logistic")),
    "tanh": (twins.tanh, "tf.math.tanh", ("tanh",)),
    "softmax": (twins.softmax, "tf.nn.softmax over the last axis", ("softmax",)),
    "softplus": (lambda layer, x: tf().nn.softplus(x), "tf.nn.softplus, log(1 + exp(x))",
                 ("softplus",)),
    "silu": (lambda layer, x: tf().nn.silu(x), "tf.nn.silu, x * sigmoid(x)", ("silu", "swish")),
    # GELU written out: tf.nn.gelu is off by up to 3e-7 (exact) and 4e-6 (tanh) in float64
    "gelu": (lambda layer, x: 0.5 * x * (1.0 + tf().math.erf(x / np.sqrt(2.0))),
             "exact: 0.5 * x * (1 + tf.math.erf(x / sqrt(2)))", ("gelu",)),
    "gelu_tanh": (lambda layer, x: 0.5 * x * (1.0 + tf().math.tanh(
        np.sqrt(2.0 / np.pi) * (x + 0.044715 * x ** 3))),
                  "the tanh approximation: 0.5 * x * (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))",
                  ("gelu",)),
    # defined on part of the line: inputs are drawn in (0, inf) for these (user_shapes)
    "log": (lambda layer, x: tf().math.log(x), "tf.math.log", ("log",)),
    "sqrt": (lambda layer, x: tf().math.sqrt(x), "tf.math.sqrt", ("sqrt",)),
    "exp": (lambda layer, x: tf().math.exp(x), "tf.math.exp", ("exp",)),
}


def activation_kinds(text):
    """The activation kinds ``text`` names (leaky relu is not relu; relu is not elu)."""
    found = [k for k, (_, _, names) in ACTIVATIONS.items() if any(n in text for n in names)]
    if "leaky_relu" in found and "relu" in found:
        found.remove("relu")
    if "elu" in found and ("relu" in text or "gelu" in text):
        found.remove("elu")
    return found


def activation_candidates(kinds):
    for kind in kinds:
        fn, how, _ = ACTIVATIONS[kind]
        yield TwinMatch(fn, kind, f"{kind}: {how}")


# ---- losses --------------------------------------------------------------------------------

def _picked_probability(x, t):
    return _picked_probability_of(tf().nn.softmax(x, axis=-1), t)


def _picked_probability_of(p, t):
    """Each row's probability of its target (int labels), or p weighted by t (one-hot)."""
    if t.dtype.is_integer:
        return tf().gather(p, t, batch_dims=1)
    return tf().reduce_sum(p * t, axis=-1)


# The values added to p inside the log against log(0): which one a layer uses shows only where
# p is below it (``user_twins.match_twin`` probes there too).
LOG_GUARDS = ("1e-7", "1e-8", "1e-9", "1e-10", "1e-12", "1e-15", "1e-6", "1e-5", "1e-20",
              "1e-30", "1e-100", "1e-300")


def _ce_with_delta(delta):
    """The guarded loss's value, the exact cross-entropy's gradient: what the textbook layer
    computes (its backward is (p - t) / N whatever the guard), so a backward that follows the
    convention is judged right even where p is below the guard, and one that differentiates
    the guard too is the convention showing (its verdict says so)."""
    def twin(layer, x, t):
        exact = twins.softmax_cross_entropy(layer, x, t)
        guarded = -tf().reduce_mean(tf().math.log(_picked_probability(x, t) + delta))
        return exact + tf().stop_gradient(guarded - exact)
    return twin


def _ce_clipped(delta):
    """As ``_ce_with_delta``, p clipped to [delta, 1 - delta] instead of delta added (nnfs's
    ``np.clip(y_pred, 1e-7, 1 - 1e-7)``): the clipped loss's value, the exact gradient."""
    def twin(layer, x, t):
        exact = twins.softmax_cross_entropy(layer, x, t)
        p = tf().clip_by_value(tf().nn.softmax(x, axis=-1), delta, 1.0 - delta)
        clipped = -tf().reduce_mean(tf().math.log(_picked_probability_of(p, t)))
        return exact + tf().stop_gradient(clipped - exact)
    return twin


def _bce_on_probabilities(reduce):
    def twin(layer, p, t):
        t = tf().cast(t, p.dtype)
        each = -(t * tf().math.log(p) + (1.0 - t) * tf().math.log(1.0 - p))
        if reduce == "mean":
            return tf().reduce_mean(each)
        return tf().reduce_sum(each) / float(p.shape[0])
    return twin


def _mse(scale, reduce):
    def twin(layer, x, t):
        sq = tf().square(x - tf().cast(t, x.dtype))
        if reduce == "mean":
            return scale * tf().reduce_mean(sq)
        if reduce == "sum":
            return scale * tf().reduce_sum(sq)
        return scale * tf().reduce_sum(sq) / float(x.shape[0])
    return twin


def _svm(layer, x, t):
    """Multiclass hinge, margin 1, averaged over the batch (cs231n svm_loss)."""
    t_ = tf()
    labels = t if t.dtype.is_integer else t_.argmax(t, axis=-1)
    onehot = t_.one_hot(labels, x.shape[-1], dtype=x.dtype)
    correct = t_.reduce_sum(x * onehot, axis=-1, keepdims=True)
    margins = t_.nn.relu(x - correct + 1.0) * (1.0 - onehot)
    return t_.reduce_sum(margins) / float(x.shape[0])


def _labels_fit(x_shape, t):
    t = np.asarray(t)
    if t.dtype.kind in "iu":
        return t.shape == tuple(x_shape[:-1])
    return t.shape == tuple(x_shape)


LOSS_WORDS = {"softmax_cross_entropy": ("softmax", "crossentropy", "entropy", "nll", "xent"),
              "mse": ("mse", "squared", "l2", "meansquare", "quadratic"),
              "svm": ("svm", "hinge", "margin"),
              "bce_with_logits": ("bce", "binary", "sigmoid", "logistic")}


def loss_kinds(text):
    return [k for k, names in LOSS_WORDS.items() if any(n in text for n in names)]


def loss_candidates(kinds, x_shape, t):
    """The twins of each loss kind that fit labels ``t`` for scores of ``x_shape``."""
    t = np.asarray(t)
    labels = t.dtype.kind in "iu"
    for kind in kinds:
        if kind == "softmax_cross_entropy" and _labels_fit(x_shape, t):
            form = "int labels" if labels else "one-hot (or soft) targets"
            yield TwinMatch(twins.softmax_cross_entropy, kind,
                            f"{kind}: mean over the batch of -log softmax(x)[t], {form}")
            for delta in LOG_GUARDS:
                yield TwinMatch(_ce_with_delta(float(delta)), kind,
                                f"{kind}: mean over the batch of -log(softmax(x)[t] + {delta}), "
                                f"{form}",
                                f"log(p + {delta}) inside the cross-entropy (a guard against "
                                f"log(0), as deep-learning-from-scratch's cross_entropy_error has "
                                f"with 1e-7; or p clipped at {delta}): the loss differs from the "
                                f"exact cross-entropy by about {delta} / p, and the backward is "
                                f"checked against the exact gradient (p - t) / N")
            for delta in LOG_GUARDS[:7]:
                yield TwinMatch(_ce_clipped(float(delta)), kind,
                                f"{kind}: mean over the batch of -log(clip(softmax(x)[t], {delta}, "
                                f"1 - {delta})), {form}",
                                f"p clipped to [{delta}, 1 - {delta}] inside the cross-entropy (a "
                                f"guard against log(0), as Neural Networks from Scratch's loss "
                                f"has with 1e-7): the loss differs from the exact cross-entropy "
                                f"where p is below {delta} or above 1 - {delta}, and the backward "
                                f"is checked against the exact gradient (p - t) / N")
        elif kind == "svm" and _labels_fit(x_shape, t):
            yield TwinMatch(_svm, kind, "svm: multiclass hinge loss, margin 1, summed over "
                                        "classes and averaged over the batch")
        elif kind == "mse" and not labels and t.shape == tuple(x_shape):
            for scale, reduce, expr in ((1.0, "mean", "mean((x - t)**2)"),
                                        (0.5, "mean", "0.5 * mean((x - t)**2)"),
                                        (1.0, "batch", "sum((x - t)**2) / N"),
                                        (0.5, "batch", "0.5 * sum((x - t)**2) / N"),
                                        (0.5, "sum", "0.5 * sum((x - t)**2)"),
                                        (1.0, "sum", "sum((x - t)**2)")):
                yield TwinMatch(_mse(scale, reduce), kind, f"mse: loss = {expr}",
                                "" if expr.startswith("mean") else f"squared error reduced as {expr}, "
                                "not the mean over every element")
        elif kind == "bce_with_logits" and not labels and t.shape == tuple(x_shape):
            yield TwinMatch(twins.bce_with_logits, kind,
                            "bce_with_logits: mean of sigmoid cross-entropy on logits")
            for reduce, expr in (("mean", "mean"), ("batch", "sum / N")):
                yield TwinMatch(_bce_on_probabilities(reduce), "bce",
                                f"bce on probabilities p: {expr} of -(t log p + (1 - t) log(1 - p))")
