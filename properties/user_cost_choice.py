"""Which of a cost function's argument sets that run is kept (``properties.user_cost_args``):
labels as many as the rows they label, a row per example first beside labels, a point where
the cost is not flat, then the most distinct sizes."""
import re

import numpy as np

EXAMPLES = 6           # data's rows, and the labels beside them
WEIGHT = re.compile(r"[A-Z]\w*|w\d*|weights?|coef|params|theta\w*")   # (W, V, Theta1: weights)


def _sized(a):
    """An array, or a flat vector still to be made (it has a shape)."""
    return isinstance(a, np.ndarray) or hasattr(a, "make")


def rows_first(roles, name):
    """True for the first of a cost's plain arrays when labels come beside it (a center
    loss's feats, an ArcFace's embeddings): its rows are the examples the labels label."""
    plain = [n for n, r in roles if r not in ("labels", "mask", "hyper", "size")]
    return any(r == "labels" for _, r in roles) and plain[:1] == [name] and \
        dict(roles)[name] not in ("data", "predictions", "flat") and not WEIGHT.fullmatch(name)


def ranked(roles, args, flat):
    """The rank of an argument set that ran (``flat``: every gradient it returned is 0): a
    gradient not all 0 first (a load-balancing loss is flat where every token picks another
    expert), labels one per row before one label for all (a center loss's repeated labels
    show only among several), then the most distinct sizes, then the most labels (a
    sequence's (N, T) before a column (N, 1) its loss broadcasts over the steps)."""
    labels = [args.get(n) for n, r in roles if r == "labels"]
    arrays = all(np.ndim(v) > 0 for v in labels)
    return not flat, arrays, distinct(args, roles), sum(map(np.size, labels))


def labels_counted(roles, args):
    """False when labels come in a number no other array has on any axis (nor a size
    argument), a column of them in a number no array has rows: 6 labels beside embeddings
    (3, 3) run where ``p[np.arange(3), y]`` broadcasts a column of them to (6, 3), a
    meaningless cost; and a sequence's logits (N, T, V) take labels (N, T) alone."""
    axes = {d for n, r in roles if r != "labels" and n in args
            for d in (args[n].shape if _sized(args[n]) else
                      (args[n],) if r == "size" else ())}    # (num_movies beside Y)
    labels = [args[n] for n, r in roles if r == "labels" and n in args]
    steps = [np.shape(args[n])[:2] for n, r in roles
             if r == "predictions" and np.ndim(args.get(n)) == 3]
    if steps and not all(np.shape(v) == steps[0] for v in labels):
        return False
    rows = {args[n].shape[0] for n, r in roles if r != "labels" and n in args
            and isinstance(args[n], np.ndarray) and args[n].ndim}
    return all(np.ndim(v) == 0 or np.shape(v)[0] in (
        rows if np.ndim(v) == 2 and np.shape(v)[1] == 1 else axes)   # a column: one a row
        for v in labels) or not axes


def distinct(args, roles):
    """How many distinct sizes the arrays of ``args`` have (labels and masks aside: they
    follow the others), axes of size 1 aside."""
    shapes = [a.shape for n, r in roles for a in [args.get(n)]
              if _sized(a) and r not in ("labels", "mask")]
    return len({d for s in shapes for d in s if d > 1})
