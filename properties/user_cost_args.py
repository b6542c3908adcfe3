"""The arguments a cost function is called with, made by their names, and the search for
the shapes at which it returns (cost, *gradients) (``properties.user_cost_grad``).

Sizes are distinct small numbers (:data:`SIZES`), data has :data:`EXAMPLES` rows (more than
any size), labels come one-hot first (a softmax's ``yhat - labels`` is right only for rows
that sum to 1), then as 0s and 1s, a flat parameter vector at every length up to
:data:`MAX_FLAT`, other arrays at shapes made of the sizes. Of the argument sets that run,
the one with the most distinct sizes is kept (users != items != factors: where a
transpose or a wrong axis shows).
"""
import inspect
import itertools
import re
import time
import warnings
import zlib

import numpy as np

from properties.user_cost_choice import EXAMPLES, labels_counted, ranked, rows_first
from properties.user_cost_match import match_gradients
from properties.user_doc_shapes import documented_arrays
from properties.user_targets import is_label_name, is_mask_name
from properties.user_token_dataset import TokenDataset
from properties.values import into_domain

FLAT = {"theta", "thetas", "params", "nn_params", "parameters", "x0", "theta_flat",
        "flat_params", "weights_flat", "w_flat", "theta0"}
HYPER = {"lambda", "lambda_", "lambd", "lmbda", "lmbd", "lam", "lamb", "reg", "l2", "_lambda",
         "lambda_reg", "reg_lambda", "reg_strength", "weight_decay", "la", "learningrate",  # (a port's lambda)
         "alpha", "prior_var", "prior_precision", "tau", "sigma2", "noise_var", "c"}
DATA = {"x", "data", "inputs", "features", "xs", "x_train", "a"}
# a loss's predictions: one per example, as its labels (y_pred (N,), logits (N, C) for y (N,))
PREDICTIONS = {"logits", "scores", "preds", "y_pred", "ypred", "predictions", "yhat", "y_hat",
               "probs"}
DATASET = {"dataset", "data_set", "corpus"}
SIZE_LISTS = {"dimensions", "dims", "layer_sizes", "sizes", "layers", "layer_dims", "shape"}
SIZE = re.compile(r"size|^num_|^n_|^n[A-Z]|_num$|dim$|^dim|^k$|^d$|^h$|^n$|^v$|^c$|features$|"
                  r"units$|window")
SIZE_CASED = re.compile(r"size|^num|^n_|dim|features$|units$|window", re.I)
INDEX = re.compile(r"(idx|index|_ind)$")
INDICES = re.compile(r"(indices|idxs|indexes|^rows|^cols|^i_idx|^j_idx|(^|_)users|(^|_)items|"
                     r"(^|_)ids)$", re.I)      # (BPR's pos_items, neg_items; item_ids)
OBSERVED = ("observed", "rated", "is_rated")
POSITIVE = {"counts", "count", "cooccurrence", "cooccurrences", "x_ij", "xij",
            "var", "variance", "sigma2", "sigma_sq", "sigma_squared"}   # (a Gaussian NLL's var)
WORD = re.compile(r"word$|^center$|^target_word$", re.I)          # a word as a string
WORDS = re.compile(r"words$|^context$", re.I)                      # a window of them
VOCAB = re.compile(r"^word2ind$|^word2idx$|^tokens$|^vocab$|^word_to_ind", re.I)

SIZES = (3, 4, 5)      # sizes in the order the arguments come; data has EXAMPLES rows
STEPS = 4              # a sequence's steps (logits (N, T, V), labels (N, T))
HYPER_VALUE = 0.7
SPARSITY = {"sparsity_param", "sparsity", "rho", "sparsity_target", "target_sparsity"}
MAX_FLAT = 300         # a flat vector's lengths tried, 1 to this
BUDGET_CALLS, BUDGET_SECONDS = 30000, 6.0
EXTRA_TRIES = 400
MARGINS = re.compile(r"hinge|margin|svm|perceptron|maximum\(\s*0(\.0*)?\s*,\s*1(\.0*)?\s*-",
                     re.I)


# ---- the arguments ----------------------------------------------------------------------------

def _roles(fn):
    """[(name, role)] for every positional argument ``fn`` takes (a number-default argument
    other than a regularisation strength is left at its default: not listed)."""
    out = []
    names = list(inspect.signature(fn).parameters)
    first = names[0] if names else ""
    masked = any(is_mask_name(n) or n.lower() in OBSERVED for n in names)   # R beside: ratings
    sparse = any(n.lower() in SPARSITY for n in names)     # (beta: the sparsity penalty's weight)
    for p in inspect.signature(fn).parameters.values():
        if p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            break
        low = p.name.lower()
        has_number = p.default is not p.empty and isinstance(p.default, (int, float)) \
            and not isinstance(p.default, bool)
        if low == "c" and "b" in names:     # W, b, c: an RBM's or an autoencoder's two biases
            role = "array"
        elif low in HYPER or low in SPARSITY or low == "beta" and sparse:
            role = "hyper"        # (UFLDL's sparse autoencoder: sparsity_param and its weight beta)
        elif has_number or (p.default is not p.empty and p.default is not None
                            and not isinstance(p.default, np.ndarray)):
            break                      # K=10, x_max=100.0, mode="train": left at the default
        elif p.name == first and p.name in ("x", "x0", "z", "w", "v", "q", "p", "xk", "beta"):
            role = "vector"       # scipy's objective(x, *args): x is what is optimised
        elif low in DATASET:
            role = "dataset"
        elif p.name in ("a", "action", "act", "a_t", "action_taken"):    # (A is a matrix)
            role = "action"       # an index for a discrete policy, a vector for a Gaussian one
        elif low in ("actions", "acts", "taken", "a_batch"):
            role = "actions"      # one action index per example
        elif low in SIZE_LISTS:
            role = "sizes"
        elif VOCAB.search(p.name):
            role = "vocab"
        elif WORDS.search(p.name):
            role = "words"
        elif WORD.search(p.name):
            role = "word"
        elif low in POSITIVE:
            role = "positive"
        elif INDICES.search(p.name) and not SIZE_CASED.search(p.name) or \
                low in ("negsamplewordindices", "neg_indices", "negatives"):
            role = "indices"
        elif INDEX.search(low) or p.name.endswith("Ind") and not low.startswith("word2"):
            role = "index"
        elif low in DATA:
            role = "data"
        elif low in PREDICTIONS:
            role = "predictions"
        elif is_mask_name(p.name) or low in OBSERVED or \
                low == "r" and not masked:
            role = "mask"
        elif is_label_name(p.name) or low in ("r", "ratings", "targets_matrix"):
            role = "labels"
        elif low in FLAT:
            role = "flat"
        elif (SIZE.search(p.name) or SIZE_CASED.search(p.name) and len(p.name) > 1) and \
                not re.search(r"vec|matrix|weights?$", low):
            role = "size"
        else:
            role = "array"
        out.append((p.name, role))
    return out


def _shapes(name):
    """The shapes an array argument ``name`` is tried at, in the order most likely first."""
    dims = (*SIZES, EXAMPLES)
    one = [(d,) for d in dims]
    two = [(a, b) for a in dims for b in dims]
    if re.search(r"0$|^bias$|^b$|_0$|sigma|std|^[a-z]$", name):   # (a scalar state s, log_sigma)
        return [(), *one, *two]
    if name[:1].isupper() or re.search(r"vectors|vecs|matrix|emb", name, re.I):
        return [*two, *one, ()]
    return [*one, *two, ()]


class _Search:
    """Calls ``fn`` on argument sets until one returns (cost, *gradients in the arrays'
    shapes), within a budget of calls and seconds."""

    def __init__(self, fn, roles, hint, given=None, budget=BUDGET_CALLS, source=""):
        self.fn, self.roles, self.hint, self.given = fn, roles, hint, dict(given or {})
        # labels of -1 and +1 first where the code takes margins (y * score, a hinge): there
        # 0/1 labels make every sample a violator, and a mask left out shows nowhere
        self.margins = bool(MARGINS.search(source))
        # where it takes margins of its arrays themselves (a triplet's distances: no data or
        # scores beside them), they are spread, so some are beyond the margin and some inside
        self.spread = 3.0 if self.margins and not any(r in ("data", "predictions", "labels")
                                                      for _, r in roles) else 1.0
        self.calls, self.start, self.last_error = 0, time.perf_counter(), None
        self.budget = budget
        self.dataset = TokenDataset()
        self.other, self.flat, self.documented = False, False, {}
        self.extra_tries = EXTRA_TRIES       # past the first that runs (0: the first is kept)

    def spent(self):
        """Out of calls or time, or the function returned something else than a tuple (a
        compute_cost(AL, Y) returning the cost alone: no shape makes it a (cost, grad))."""
        return self.other or self.calls >= self.budget or time.perf_counter() - self.start > BUDGET_SECONDS

    def run(self):
        """The docstring's shapes first (a simulation's ``x_obs: (T, N)``), else any."""
        self.documented = {n: v * self.spread if np.asarray(v).dtype.kind == "f" else v
                           for n, v in documented_arrays(self.fn, [n for n, r in self.roles if r in (
                               "data", "array", "size")], EXAMPLES).items()}
        self.documented.update(self._documented_ids())
        self.found = self._search() if self.documented else None
        if self.found is None:
            if self.documented:      # (a budget of its own, as before the docstring was read)
                self.documented, self.calls, self.start = {}, 0, time.perf_counter()
            self.found = self._search()
        return self.found

    def _documented_ids(self):
        """{argument: ids} for the index arguments (``neg_ids: (N, K)``) the docstring shapes,
        each below the rows of the tables it documents (``W_out: (V, D)``: the fewest rows of a
        documented float array not one row per example), with a repeat; {} when it documents
        no such table."""
        wanted = [n for n, r in self.roles if r in ("indices", "index")]
        shaped = documented_arrays(self.fn, wanted, EXAMPLES) if wanted else {}
        rows = [np.shape(v)[0] for v in self.documented.values()
                if np.ndim(v) == 2 and np.shape(v)[0] != EXAMPLES]
        if not shaped or not rows:
            return {}
        out = {}
        for n, v in shaped.items():
            ids = np.random.default_rng(zlib.crc32(n.encode())).integers(0, min(rows), np.shape(v))
            if ids.size > 1:
                ids.flat[-1] = ids.flat[0]         # a repeat: gradients must add up there
            out[n] = ids
        return out

    def fixed_and_free(self):
        """({argument: its value} for those made by name or given, [(name, role)] of those
        searched, labels last: they vary fastest, a few forms each, then a flat vector's
        lengths, then arrays)."""
        hinted = {n: self._hinted(n) for n, _ in self.roles}
        sizes = iter(SIZES * 3)
        fixed = {}
        for n, role in self.roles:
            if n in self.given:
                fixed[n] = self.given[n]
            elif hinted[n] is not None or n in self.documented:
                fixed[n] = hinted[n] if hinted[n] is not None else self.documented[n]
            elif role == "hyper":
                fixed[n] = HYPER_VALUE
            elif role == "size":
                fixed[n] = next(sizes)
            elif role == "sizes":
                fixed[n] = list(SIZES)
            elif role == "index":
                fixed[n] = 1
            elif role == "indices":
                fixed[n] = np.array([0, 2, 2])
            elif role == "dataset":
                fixed[n] = self.dataset
            elif role == "vocab":
                fixed[n] = self.dataset.tokens()
            elif role == "word":
                fixed[n] = "w1"
            elif role == "words":
                fixed[n] = ["w0", "w2", "w2", "w1"]        # a repeat, as a window has
        rank = {"labels": 2, "flat": 1}
        return fixed, sorted([(n, r) for n, r in self.roles if n not in fixed],
                             key=lambda nr: rank.get(nr[1], 0))

    def _search(self):
        fixed, free = self.fixed_and_free()
        best, score, after = None, None, 0
        varied = sum(r == "labels" for _, r in free)     # (last in free: they vary fastest)
        lone = len(free) == 1      # (with labels beside it, their forms are still searched)
        # params given whole (a dict the module makes): the data as wide as their axes first
        given = list(dict.fromkeys(d for v in self.given.values() for d in np.shape(v)[:1]
                                   if np.ndim(v) == 2))
        for width in [*given, *(s for s in SIZES if s not in given)]:
            options = [self.options(n, r, width) for n, r in free]
            dead = set()
            for combo in itertools.product(*options):
                # a flat vector of a length its function cannot reshape fails whatever the
                # labels: the other labels are not tried with it (nnCostFunction's 41 of 300)
                prefix = tuple(id(v) for v in combo[:len(combo) - varied])
                if prefix in dead:
                    continue
                args = {**fixed, **dict(zip([n for n, _ in free], combo))}
                if not labels_counted(self.roles, args):
                    continue
                # a mask takes the shape of the labels beside it (Ng's R beside Y)
                args = self.masks_like_labels(args)
                got = self._try(args)
                flat = next((a for a in combo if isinstance(a, _Flat)), None)
                if got is None and flat is not None and \
                        f"array of size {flat.length} into" in str(self.last_error):
                    dead.add(prefix)
                rank = ranked(self.roles, args, self.flat) if got is not None else None
                if rank is not None and (score is None or rank > score):
                    best, score = (args, got), rank
                lone_done = lone and score is not None and score[0]
                after += best is not None
                # past the first that runs, a few more tries for one with more distinct sizes
                # (users != items != factors: where a transpose or a wrong axis shows)
                # (one array searched: the first shape it runs at, a vector before a table:
                # a generator's loss over logits (N,) divides by N, right there alone)
                if after > self.extra_tries or self.spent() or after and lone_done:
                    return best
        return best

    def options(self, name, role, width):
        """The values argument ``name`` of ``role`` is tried at, with data ``width`` columns wide."""
        rng = np.random.default_rng(zlib.crc32(name.encode()))
        if role == "data":          # examples by features; else a square table (co-occurrences)
            spread = 3.0 if self.margins else 1.0     # scores beyond the margin, and inside
            return [spread * rng.standard_normal((EXAMPLES, width)),
                    spread * rng.standard_normal((width, EXAMPLES)),    # examples as columns
                    *[np.abs(rng.standard_normal((s, s))) + 0.5 for s in SIZES]]
        if role == "predictions":   # one per example, a row of scores each, or a sequence's
            return [rng.standard_normal(EXAMPLES), rng.standard_normal((EXAMPLES, width)),
                    rng.standard_normal((EXAMPLES, STEPS, width))]
        if role == "labels":
            # a second set of labels unlike the first (a mixup's y_a and y_b: alike, a
            # gradient taking y_a where y_b belongs is right)
            shift = [n for n, r in self.roles if r == "labels"].index(name)
            labels = (np.arange(EXAMPLES) + shift) % 2
            # one-hot rows first: a softmax's gradient (yhat - labels) is right for rows that
            # sum to 1; labels as numbers would run there too (broadcast) and fail it
            signed = 2 * labels - 1       # -1 and +1: a hinge's or a perceptron's margins
            plain = [labels, labels.reshape(-1, 1)]
            return [*[np.eye(k)[(np.arange(EXAMPLES) + shift) % k] for k in (2, *SIZES)],
                    *([signed, signed.reshape(-1, 1), *plain] if self.margins else
                      [*plain, signed]),
                    *[rng.integers(0, 2, s).astype(np.float64) for s in _shapes("Y") if len(s) == 2],
                    *[rng.standard_normal(k) for k in SIZES],     # ratings, one per index
                    1,                    # a target word's index (CS224n's target)
                    (np.arange(EXAMPLES * STEPS) % 2).reshape(EXAMPLES, STEPS)]   # a sequence's
        if role == "mask":
            return [None]                 # made like the labels (or all ones): masks_like_labels
        if role == "vector":      # a scalar function's one argument: a vector first
            return [np.asarray(rng.standard_normal(s)) for s in ((5,), (4,), (3,), (2,), (), (4, 3))]
        if role == "actions":
            return [np.arange(EXAMPLES) % 2, np.arange(EXAMPLES) % 3]
        if role == "action":
            return [1, *[np.asarray(0.5 * rng.standard_normal(s)) for s in ((), *[(k,) for k in SIZES])]]
        if role == "positive":
            return [np.abs(rng.standard_normal(s)) + 0.5 for s in _shapes(name)]
        if role == "flat":
            return [_Flat(length, column) for column in (False, True)
                    for length in range(1, MAX_FLAT + 1)]
        if self.given:      # beside params given whole: (examples, an axis of theirs) first
            axes = dict.fromkeys(d for v in self.given.values() for d in np.shape(v))
            return [*[np.asarray(0.5 * rng.standard_normal((EXAMPLES, d))) for d in axes],
                    *[np.asarray(0.5 * rng.standard_normal(s)) for s in _shapes(name)]]
        shapes = _shapes(name)
        if rows_first(self.roles, name):       # beside labels, a row per example first (one each)
            shapes = sorted(shapes, key=lambda s: not (s and s[0] == EXAMPLES))
        return [np.asarray(0.5 * self.spread * rng.standard_normal(s)) for s in shapes]

    def masks_like_labels(self, args):
        labels = next((v for n, r in self.roles if r == "labels" and n in args
                       for v in [args[n]] if np.ndim(v) == 2), None)
        out = dict(args)
        for n, r in self.roles:
            if r == "mask" and out.get(n) is None:
                shape = np.shape(labels) if labels is not None else (EXAMPLES,)
                mask = np.ones(shape, dtype=np.int64)
                mask.reshape(-1)[1::3] = 0        # some entries unobserved
                out[n] = mask
        return out

    def _hinted(self, name):
        given = self.hint.array(name) if self.hint is not None else None
        if given is None:
            return None
        if given.kind == "value":
            return given.value
        shape = tuple(EXAMPLES if d == "N" else d for d in given.shape)
        rng = np.random.default_rng(zlib.crc32(name.encode()))    # (two alike shapes: unlike)
        if given.kind == "int":
            return rng.integers(0, given.bound or 2, shape)
        if given.kind == "mask":
            return (rng.random(shape) < 0.7).astype(np.int64)
        return into_domain(0.5 * rng.standard_normal(shape), given.domain)   # P=(6, 6) in (0, 1)

    def _try(self, args):
        values = [a.make() if isinstance(a, _Flat) else a for a in
                  (args[n] for n, _ in self.roles)]
        self.calls += 1
        self.dataset.reset()
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")       # (np.matrix's, where warnings are errors)
                result = self.fn(*[np.array(v, copy=True) if isinstance(v, np.ndarray) else v
                                   for v in values])
        except Exception as exc:
            self.last_error = exc
            return None
        if not isinstance(result, (tuple, list)) or len(result) < 2:
            self.other = True    # it ran and returned no (cost, *gradients): a plain cost
        arrays = {n: v for (n, _), v in zip(self.roles, values) if isinstance(v, np.ndarray)
                  and v.dtype.kind == "f"}
        matched = match_gradients(result, arrays, self.roles)
        if matched:       # every gradient 0: a point where the cost is flat judges nothing
            grads = [result[1][k] if isinstance(k, str) else result[k] for k in matched.values()]
            self.flat = not any(np.any(np.asarray(g) != 0) for g in grads)
        return matched


class _Flat:
    """A flat parameter vector of ``length`` (a column (length, 1) with ``column``)."""

    def __init__(self, length, column):
        self.length, self.column = length, column
        self.shape = (length, 1) if column else (length,)

    def make(self):
        v = 0.5 * np.random.default_rng(self.length).standard_normal(self.length)
        return v.reshape(-1, 1) if self.column else v
