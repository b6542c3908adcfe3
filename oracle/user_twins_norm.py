"""Candidate TF twins for users' batch norm, layer norm and dropout.

Batch and layer norm reuse the project's twins (:mod:`oracle.twins_norm`) on a
view of the user's layer built when the twin runs: ``eps`` from an attribute or
the options dict, or (when the code hard-codes it, as deep-learning-from-scratch
does with 10e-7) a constant found by probing; running statistics from
``running_mean`` / ``running_var``. Dropout multiplies by the very mask the
layer drew, read off the layer or a functional layer's cache.
"""
import copy
from types import SimpleNamespace

import numpy as np

from oracle import twins_norm
from oracle.tape import TwinCannotSay
from oracle.tf_runtime import tf
from oracle.twin_match import TwinMatch
from oracle.user_hyper import drawn_mask, find_hyper, hyper

EPS_NAMES = ("eps", "epsilon", "variance_epsilon")
COMMON_EPS = (1e-5, 1e-6, 1e-7, 1e-8, 1e-3, 1e-4, 1e-12, 0.0)
MEAN_NAMES = ("running_mean", "moving_mean", "mean_running")
VAR_NAMES = ("running_var", "moving_var", "running_variance", "var_running")


def _training(layer):
    """The layer's mode; a layer keeping no training flag (a protocol layer, seed style) has one
    mode, and a norm without running statistics computes batch statistics: training."""
    return bool(getattr(layer, "training", True))


def _eps(layer, fixed):
    return float(hyper(layer, EPS_NAMES)) if fixed is None else fixed


def _bn_twin(scale, shift, layout, fixed_eps):
    def twin(layer, x, **p):
        view = SimpleNamespace(training=_training(layer), eps=_eps(layer, fixed_eps),
                               running_mean=None, running_var=None)
        if not view.training:
            try:
                view.running_mean = np.asarray(hyper(layer, MEAN_NAMES), np.float64).reshape(-1)
                view.running_var = np.asarray(hyper(layer, VAR_NAMES), np.float64).reshape(-1)
            except LookupError as exc:      # not written before a training forward
                raise TwinCannotSay(f"inference uses running statistics the layer has not "
                                    f"stored yet ({exc})") from exc
        if layout == "flat":      # a (N, C, H, W) input normalised per feature of x.reshape(N, -1)
            out = twins_norm.batch_norm(view, tf().reshape(x, (x.shape[0], -1)), p[scale], p[shift])
            return tf().reshape(out, x.shape)
        return twins_norm.batch_norm(view, x, p[scale], p[shift])
    return twin


def _ln_twin(scale, shift, fixed_eps):
    def twin(layer, x, **p):
        view = SimpleNamespace(normalized_shape=tuple(p[scale].shape), eps=_eps(layer, fixed_eps))
        return twins_norm.layer_norm(view, x, p[scale], p[shift])
    return twin


def _eps_choices(layer):
    """(fixed eps or None, how): the attribute when there is one, else common values to probe."""
    found = find_hyper(layer, EPS_NAMES)
    if found is not None:
        return [(None, f"{found[0]}={found[1]!r} from the layer")]
    return [(e, f"eps={e:g} found by probing (no eps attribute: hard-coded in the forward)")
            for e in COMMON_EPS]


def norm_kinds(text):
    if "layer" in text or "ln" == text[:2]:
        return ["layer_norm"]
    if "batch" in text or "bn" in text:
        return ["batch_norm"]
    return ["batch_norm", "layer_norm"]


def norm_candidates(layer, kinds, scale, shift, params, x_shape):
    """Batch norm per feature (N, D), per channel (N, C, H, W) or per flattened feature; layer norm."""
    size = int(np.size(params[scale]))
    for kind in kinds:
        for fixed, eps_how in _eps_choices(layer):
            if kind == "layer_norm" and x_shape[-1] == size:
                yield TwinMatch(_ln_twin(scale, shift, fixed), kind,
                                f"layer_norm: statistics per sample over the last axis, "
                                f"{scale} * xhat + {shift}; {eps_how}")
            if kind != "batch_norm":
                continue
            stats = ("running_mean / running_var" if not _training(layer)
                     else "the batch's mean and variance")
            if len(x_shape) >= 2 and x_shape[1] == size:
                where = "per feature (N, D)" if len(x_shape) == 2 else "per channel (spatial, NCHW)"
                yield TwinMatch(_bn_twin(scale, shift, "axis1", fixed), kind,
                                f"batch_norm: {where} with {stats}, {scale} * xhat + {shift}; {eps_how}")
            if len(x_shape) > 2 and int(np.prod(x_shape[1:])) == size:
                yield TwinMatch(_bn_twin(scale, shift, "flat", fixed), kind,
                                f"batch_norm: per feature of x.reshape(N, -1) with {stats}, "
                                f"{scale} * xhat + {shift}; {eps_how}")


# ---- dropout --------------------------------------------------------------------------------

DROP_NAMES = ("dropout_ratio", "drop_ratio", "dropout_rate", "drop_rate", "rate", "drop_prob", "ratio",
              "p_drop", "dropout")
KEEP_NAMES = ("keep_prob", "keep_ratio", "keep_rate", "p_keep", "keep")


def _keep(layer, source):
    name, meaning = source
    value = float(hyper(layer, (name,)))
    return value if meaning == "keep" else 1.0 - value


def _dropout_twin(source, inverted):
    def twin(layer, x):
        keep = _keep(layer, source)
        if not _training(layer):
            return tf().identity(x) if inverted else x * keep
        mask = drawn_mask(layer, tuple(x.shape))
        if mask is None:
            raise ValueError("the dropout twin needs the mask of the layer's last forward "
                             "(an attribute named mask, or a mask in the functional cache)")
        m = tf().constant(mask, x.dtype)
        return x * m / keep if inverted else x * m
    return twin


def _rate_sources(layer):
    """(attribute, "drop" | "keep") pairs: a drop ratio, a keep probability, or an ambiguous ``p``
    (cs231n's keeps, PyTorch's drops), read as the share of units the layer's mask keeps says."""
    sources = []
    drop, keep = find_hyper(layer, DROP_NAMES), find_hyper(layer, KEEP_NAMES)
    if drop is not None:
        sources.append((drop[0], "drop"))
    if keep is not None:
        sources.append((keep[0], "keep"))
    if find_hyper(layer, ("p",)) is not None:
        kept = _kept_share(layer)
        p = float(hyper(layer, ("p",)))
        readings = [("keep", p), ("drop", 1 - p)]
        if p == 0.5:            # either reading keeps half
            sources.append(("p", "either"))
        else:
            sources += [("p", m) for m, k in readings
                        if kept is None or abs(kept - k) < KEPT_SLACK] or \
                [("p", "keep"), ("p", "drop")]
    return sources


KEPT_SLACK = 0.1     # 4096 units: the share kept is within 0.03 of its probability, nearly always


def _kept_share(layer):
    """The share of 4096 units the layer's mask keeps in a training forward on a copy, or None."""
    shape = (64, 64)
    try:
        trial = copy.deepcopy(layer)
        trial.training = True
        with np.errstate(all="ignore"):
            trial.forward(np.ones(shape))
        mask = drawn_mask(trial, shape)
    except Exception:
        return None
    return None if mask is None else float(mask.mean())


def dropout_candidates(layer):
    for source in _rate_sources(layer):
        meaning = {"keep": "keep probability", "drop": "drop ratio: keep = 1 - it",
                   "either": "keep probability or the drop ratio, alike at 0.5"}[source[1]]
        yield TwinMatch(_dropout_twin(source, True), "dropout",
                        f"dropout (inverted): training x * mask / keep, identity at inference; "
                        f"mask read from the layer's last forward; {source[0]} is the {meaning}")
        yield TwinMatch(_dropout_twin(source, False), "dropout",
                        f"dropout (non-inverted): training x * mask, x * keep at inference; "
                        f"mask read from the layer's last forward; {source[0]} is the {meaning}",
                        f"non-inverted dropout: scales by keep at inference instead of dividing by "
                        f"keep in training ({source[0]} is the {meaning})")
