"""Functions that return a cost with its gradient, and cost / gradient pairs.

What ``scipy.optimize.minimize(fun, theta0, args, jac=True)`` takes, and what the course
ports and word-vector assignments write::

    J, grad = costFunction(theta, X, y)                        # Ng's ex2, theta flat or a column
    J, grad = cofiCostFunc(params, Y, R, num_users, num_movies, num_features, lambda_)
    loss, gradCenterVec, gradOutsideVecs = naiveSoftmaxLossAndGradient(centerWordVec,
                                                 outsideWordIdx, outsideVectors, dataset)
    loss, dw0, dw, dV = fm_loss_and_grad(X, y, w0, w, V)
    J = cost(theta, X, y);  g = gradient(theta, X, y)          # a pair, for fmin_tnc

Each returned array is the gradient of the cost with respect to the argument of its shape
(in order; a dict by its keys), checked against float64 finite differences of the cost
(``owncode_networks.check_network``). The arguments are made by their names: sizes
(``num_labels``, ``dimensions``) distinct small numbers, a regularisation strength
(``lambda_``, even one with a default) nonzero so that its terms count, data ``X`` with
more rows than any size, labels 0 and 1 (or one-hot rows), masks of 0s and 1s, an index
and a list of indices with a repeat, a dataset whose ``sampleTokenIdx()`` draws the same
indices at every call; a flat parameter vector (``theta``, ``params``, ``nn_params``) is
tried at every length up to :data:`MAX_FLAT`, the other arrays at shapes made of those sizes,
until the function runs and returns one gradient per array in that array's shape. A hint
gives any of them (``# gradcheck: costFunction; theta=(3,); X=(N, 3); y=int(N,)<2``).
"""
import ast
import functools
import inspect
import re
import textwrap

import numpy as np

from properties.user_cost_args import _Flat, _roles, _Search
from properties.user_cost_grad_class import FORCES    # (a function named for forces: -grad)
from properties.user_cost_match import gradient_key
from properties.user_cost_hint import hinted_numbers, suggested_args
from properties.user_doc_shapes import documented_entries
from properties.user_entry import CannotCheck, Found
from properties.user_hinted import hinted_floats
from properties.user_token_dataset import DRAWN, TokenDataset
from properties.user_targets import _positional
from properties.user_variants import at_changed, changed_floats

# A cost named so is called; a training loop's or a step's name is none (its theta is no gradient)
SAYS_COST = re.compile(r"(loss|cost)$", re.I)   # a name ending so says what it is, whatever else
COST_NAME = re.compile(r"cost|loss|objective|entropy|hinge|xent|(^|_)b?ce($|_)|^f$|^fun$|func$|^j$|"
                       r"forward_backward|skipgram|cbow|"
                       r"^log_?(pi|prob|policy|likelihood|lik|p)$|and_?grad|nll|neg_?log|"
                       r"log_?lik|loglik|log_?post|log_?dens|logpdf|potential|energy|^u$", re.I)
NOT_A_COST = re.compile(r"descent|train|fit|step|update|optimi|minimi|predict|sgd|normali|"
                        r"init|plot|load|sample|check|save|write|print|show|draw|export|dump|"
                        r"download|read|open|history|curve", re.I)   # (never one that writes files)
GRAD_WORDS = (("Cost", "Gradient"), ("Cost", "Grad"), ("cost", "gradient"), ("cost", "grad"),
              ("Loss", "Gradient"), ("Loss", "Grad"), ("loss", "gradient"), ("loss", "grad"))
# scipy's names for an objective and its gradient (minimize(fun, jac=jac), fmin_bfgs(f, fprime))
SCIPY_PAIRS = {"fun": ("jac", "grad", "gradient", "fprime"),
               "func": ("fprime", "grad", "jac", "gradient"),
               "f": ("fprime", "grad", "jac", "gradient", "g"),
               "objective": ("gradient", "grad", "jac", "fprime"),
               "obj": ("grad", "gradient", "jac"), "value": ("gradient", "grad")}
# what a (value, gradient) pair's second element is called: ``return f, g``
GRAD_VALUE = re.compile(r"^(g|grad\w*|gradient\w*|jac\w*|df\w*|d[A-Z_]\w*|d[a-z]{1,2}\d?|dtheta|"
                        r"dparams)$")      # (dx, dW, d_theta: not data, done, dist)


def gradient_partner(name, names):
    """The name of ``name``'s gradient function among ``names`` (``computeCost`` ->
    ``computeGradient``, ``cost`` -> ``gradient``, ``costReg`` -> ``gradientReg``), or None."""
    for grad in SCIPY_PAIRS.get(name, ()):
        if callable(names.get(grad)):
            return grad
    for cost, grad in GRAD_WORDS:
        if cost in name:
            other = name.replace(cost, grad, 1)
            if other != name and callable(names.get(other)):
                return other
    if name.lower().startswith("log"):       # log_pi(theta, s, a) beside grad_log_pi(...)
        return next((p + name for p in ("grad_", "grad", "d_", "d") if callable(names.get(p + name))),
                    None)
    return None


def cost_grad_item(name, fn, names, label, path, used, hint=None):
    """The Found of a function returning (cost, *gradients), or of a cost beside its
    gradient function; None when ``fn`` is neither."""
    if NOT_A_COST.search(name) and not SAYS_COST.search(name):   # (sampled_softmax_loss: one)
        return None
    partner = gradient_partner(name, names)
    args = _positional(fn)
    if partner is not None:
        if _positional(names[partner]) != args:
            return None
        found = pair_item(name, fn, partner, names[partner], label, path, hint)
        if found is not None:
            used.add(partner)
        return found
    if not (COST_NAME.search(name) or _returns_value_and_grad(fn) or hint is not None) or \
            not _returns_a_tuple(fn):       # (a hint naming it says it is one, whatever its name)
        return None
    fn = flattened(fn)
    calls = (f"{name}({', '.join(args)})", f"{name}({', '.join(args)})[0]")
    if FORCES.search(name):       # energy_and_forces(x) -> (U, F): F = -dU/dx
        fn, calls = as_forces(fn), (f"-{calls[0]}", calls[1])
    opened = _dict_opened(fn, args, names)
    if opened is not None:          # value_loss_and_grads(params, S, G) -> (loss, grads dict)
        fn, given = opened
        # (its first argument is the data then, not a vector optimised: the params are given)
        roles = hinted_roles([(a, "given" if a in given else "data" if r == "vector" else r)
                              for a, r in _roles(fn)], hint)
        return found_for(name, fn, label, path, hint, calls, pair=False, roles=roles,
                         search=_Search(fn, roles, hint, given=given, source=_source(fn)))
    set_by = {n for n, _ in _roles(fn)}        # (the search sets those: a lambda_ at 0.7)
    given = hinted_numbers(fn, hint, set_by)   # a hint's margin=0.7 beyond them: applied
    fn = at_changed(fn, given) if given else fn
    found = found_for(name, fn, label, path, hint, calls, pair=False)
    if found is not None and given:
        found.how += "; " + ", ".join(f"{k}={v}" for k, v in given.items()) + " from the hint"
    options = {k: v for k, v in changed_floats(fn).items()   # (a KDE's bandwidth=1.0 at 0.7)
               if k not in set_by and k not in given and not (hint and hint.array(k))}
    if found is not None and options:
        shown = ", ".join(f"{k}={v}" for k, v in options.items())
        variant = found_for(name, at_changed(fn, options), f"{label}({shown})", path, hint,
                            tuple(c.replace(")", f", {shown})", 1) for c in calls), pair=False)
        found.also += [variant] if variant is not None else []
    return found


def _returned(fn):
    """The expressions ``fn``'s returns give, from its source; None when that cannot be read."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return None
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Return) and n.value is not None]


def _returns_value_and_grad(fn):
    """A function whose ``return f, g`` names a gradient second (Beale's ``beale(x)``, any name;
    ``dlogits`` for an argument ``logits``)."""
    own = {f"{p}{a}{s}" for a in _positional(fn) for p, s in
           (("d", ""), ("d_", ""), ("grad_", ""), ("", "_grad"))}
    return any(isinstance(v, ast.Tuple) and len(v.elts) == 2 and isinstance(v.elts[1], ast.Name)
               and (GRAD_VALUE.match(v.elts[1].id) or v.elts[1].id in own)
               for v in _returned(fn) or ())


def _names_gradients(fn):
    """A function whose every ``return`` is a value, then only gradients by their names
    (``return loss, dtheta``, ``return J, dP, dQ``): a cost and its gradients beyond doubt."""
    returns = _returned(fn) or ()
    grad = re.compile(GRAD_VALUE.pattern + r"|^d_?\w+$")

    def named(e):     # (or a tuple of them: return loss, (d_log_a, d_log_b))
        return isinstance(e, ast.Name) and bool(grad.match(e.id)) or \
            isinstance(e, ast.Tuple) and bool(e.elts) and all(map(named, e.elts))

    def gradients(e):    # ... or them put into one vector: np.array(grads), np.append(dw, db)
        return named(e) or isinstance(e, ast.Call) and getattr(e.func, "attr", "") in (
            "array", "concatenate", "hstack", "ravel", "append", "r_") and bool(e.args) and all(
            named(a) or isinstance(a, ast.Name) and "grad" in a.id or
            isinstance(a, (ast.List, ast.Tuple)) and all(map(named, a.elts)) for a in e.args)
    return bool(returns) and all(
        isinstance(v, ast.Tuple) and len(v.elts) >= 2 and not named(v.elts[0]) and
        all(gradients(e) for e in v.elts[1:]) for v in returns)


def flattened(fn):
    """``fn`` returning its gradients as one tuple after the cost (``return loss, (d_anchor,
    d_positive, d_negative)``) as one returning them after it, or ``fn`` as it is."""
    if not any(isinstance(v, ast.Tuple) and len(v.elts) == 2 and
               isinstance(v.elts[1], (ast.Tuple, ast.List)) for v in _returned(fn) or ()):
        return fn

    @functools.wraps(fn)
    def flat(*args, **kwargs):
        out = fn(*args, **kwargs)
        if isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], (tuple, list)):
            return (out[0], *out[1])
        return out
    return flat


def as_forces(fn):
    """``fn`` returning (energy, forces) as one returning (energy, gradients): each array after
    the first negated."""
    @functools.wraps(fn)
    def negated(*args, **kwargs):
        out = fn(*args, **kwargs)
        if not isinstance(out, tuple):
            return out
        return (out[0], *(-np.asarray(g) if isinstance(g, (np.ndarray, float, int)) else g
                          for g in out[1:]))
    return negated


def _returns_a_tuple(fn):
    """Whether ``fn`` has a ``return a, b`` (a cost with its gradients) or a return of what its
    source cannot show; a cost returning one value (``compute_cost(AL, Y)``) is searched for
    no shapes at all."""
    returns = _returned(fn)
    return returns is None or any(
        isinstance(v, (ast.Tuple, ast.Name, ast.Call, ast.Subscript)) and
        not (isinstance(v, ast.Call) and getattr(v.func, "attr", "") in ("sum", "mean",
                                                                         "squeeze", "item"))
        for v in returns)


def pair_item(name, fn, gname, gfn, label, path, hint=None):
    """The Found of a cost ``fn`` beside its gradient function ``gfn`` taking the same
    arguments (one gradient, or a tuple of them: ``(g_theta, g_log_sigma)``), or None."""
    args = _positional(fn)

    def joined(*a, **kw):
        grads = gfn(*a, **kw)
        cost = fn(*a, **kw)
        cost = np.sum(cost) if np.ndim(cost) == 1 and np.ndim(grads) == 2 else cost  # per row
        return (cost, *grads) if isinstance(grads, (tuple, list)) else (cost, grads)
    joined.__signature__ = inspect.signature(fn)
    joined.__wrapped__ = gfn       # (its source: where margins show)
    calls = (f"{gname}({', '.join(args)})", f"{name}({', '.join(args)})")
    return found_for(name, joined, label, path, hint, calls, pair=True)


def gradient_pair_item(name, fn, dname, dfn, label, path):
    """The Found of a scalar function of one array beside its gradient (``rosenbrock(x)`` /
    ``rosenbrock_grad(x)``, an HMC's ``U(q)`` / ``grad_U(q)``): checked as a cost and its
    gradient at a vector (of 5, 4, 3 or 2 entries, a scalar, a matrix: the first both take)."""
    arg = _positional(fn)[0]

    def joined(v):          # (a log-density of each row of a batch of points: their sum)
        return np.sum(fn(v)), dfn(v)
    joined.__signature__ = inspect.signature(fn)
    joined.__wrapped__ = dfn
    roles = [(arg, "vector")]
    search = _Search(joined, roles, None)
    search.extra_tries = 0       # the vector first, as most such functions are written for
    return found_for(name, joined, label, path, None, (f"{dname}({arg})", f"{name}({arg})"),
                     pair=True, roles=roles, search=search)


def _keys_read(fn, held):
    """The string keys ``fn``'s own source reads out of its argument ``held`` (``held["k"]``),
    in order; () when there are none or the source cannot be read."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return ()
    return tuple(dict.fromkeys(
        n.slice.value for n in ast.walk(tree) if isinstance(n, ast.Subscript) and
        isinstance(n.value, ast.Name) and n.value.id == held and
        isinstance(n.slice, ast.Constant) and isinstance(n.slice.value, str)))


def _dict_opened(fn, args, names):
    """``fn`` taking its params as one dict (``params``, ``model``) that a module-level dict of
    that name or an initializer beside it makes: (a function taking the dict's entries one by
    one in its place and returning (cost, *their gradients), {entry: its array}); else None."""
    from properties.user_dict_params import DICT_NAMES, initializer
    held = next((a for a in args if a.lower() in DICT_NAMES[:4]), None)
    if held is None:
        return None
    made = fn.__globals__.get(held)
    if not isinstance(made, dict):
        found = initializer(fn.__name__, names)
        from properties.user_build import constructor_args
        try:
            made = found[1](**constructor_args(found[1])) if found else None
        except Exception:
            return None
    if made is None:     # a dict it reads by key: numbers (a spring's params["k"], ["c"]), or
        shaped = documented_entries(fn)     # arrays of the shapes its docstring gives them
        made = {k: 0.5 * np.random.default_rng(i).standard_normal(shaped[k]) if k in shaped
                else 0.5 + 0.25 * i for i, k in enumerate(_keys_read(fn, held))} or None
    if not isinstance(made, dict) or not made or not all(
            isinstance(v, (np.ndarray, float, int)) and np.asarray(v).dtype.kind in "fi"
            for v in made.values()):
        return None
    entries = {k: np.asarray(v, dtype=np.float64) for k, v in made.items()}
    keys, at = list(entries), args.index(held)

    def opened(*values):     # (the others it requires, the entries, then those defaulted)
        n = len(args) - 1
        rest, inside, extra = list(values[:n]), values[n:n + len(keys)], values[n + len(keys):]
        got = fn(*rest[:at], dict(zip(keys, inside)), *rest[at:], *extra)
        if not (isinstance(got, tuple) and len(got) == 2 and isinstance(got[1], dict)):
            return got
        # then those of its other arguments the dict holds too (a simulation's "u0")
        return (got[0], *[got[1].get(gradient_key(got[1], k)) for k in keys],
                *[got[1][a] for a in args if a != held and a in got[1]])

    others = [p for p in inspect.signature(fn).parameters.values() if p.name != held]
    required = [p for p in others if p.default is p.empty]
    opened.__signature__ = inspect.Signature(
        [*required, *[inspect.Parameter(f"{held}_{k}", inspect.Parameter.POSITIONAL_OR_KEYWORD)
                      for k in keys], *[p for p in others if p not in required]])
    opened.__name__ = fn.__name__
    opened.__wrapped__ = fn            # (its source: where margins show)
    return opened, {f"{held}_{k}": v for k, v in entries.items()}


def hinted_roles(roles, hint):
    """``roles`` with an argument named as labels or a mask (``y``, ``Y``, ``target``) that the
    hint gives as floats (``Y=(6, 2)``: a t-SNE embedding, a second point set) made an array
    with a gradient of its own."""
    return [(n, "array" if r in ("labels", "mask") and hinted_floats(hint, n) else r)
            for n, r in roles]


# ---- the check --------------------------------------------------------------------------------

def found_for(name, fn, label, path, hint, calls, pair, roles=None, search=None):
    """The Found checking ``fn`` (-> (cost, *gradients)); None when no arguments tried fit."""
    roles = hinted_roles(roles or _roles(fn), hint)
    if not roles:
        return None
    search = search or _Search(fn, roles, hint, source=_source(fn))
    got = search.run() if search.calls == 0 else search.found
    if got is None:
        if hint is not None or pair or _names_gradients(fn):
            why = search.last_error
            raise CannotCheck(
                f"{name}: no arguments tried made it return (cost, gradient) with the gradient "
                f"in its argument's shape" + (f" (the last try raised {type(why).__name__}: "
                                               f"{str(why)[:160]})" if why else "") +
                f"; give every argument in a hint, as in # gradcheck: {name}; " +
                suggested_args(fn, roles))
        return None
    args, matched = got
    values = {n: (a.make() if isinstance(a, _Flat) else a) for n, a in args.items()}
    learn = list(matched)
    dataset = search.dataset
    order = [n for n, _ in roles]

    class CostFunction:
        batch_axis = 0

        def __init__(self):
            self.params = {n: np.array(values[n], dtype=np.float64) for n in learn}
            self.calls = calls

        @staticmethod
        def grad_key(n):
            """Where the user's call returns ``n``'s gradient: its index in the tuple, its key
            in a dict, or all of a gradient function's one result (shown ``[:]``)."""
            k = matched[n]
            if not pair or isinstance(k, str):
                return k
            return k - 1 if len(matched) > 1 else _WHOLE

        def _run(self):
            dataset.reset()
            return fn(*[self.params[n] if n in self.params else
                        (np.array(values[n], copy=True) if isinstance(values[n], np.ndarray)
                         else values[n]) for n in order])

        def loss(self, x, t):
            return float(np.squeeze(self._run()[0]))

        def gradient(self, x, t):
            result = self._run()
            got = {n: (result[1][k] if isinstance(k, str) else result[k])
                   for n, k in matched.items()}
            return {n: np.reshape(g, self.params[n].shape) if np.size(g) == self.params[n].size
                    else g for n, g in got.items()}

    from properties.owncode_networks import check_network
    shown = "; ".join(_shown(n, r, values[n]) for n, r in roles)
    what = "a cost and its gradient function" if pair else "(cost, *gradients)" if \
        not calls[0].startswith("-") else "(energy, forces), the forces minus its gradient"
    how = (f"{what}: the gradient of the cost with respect to {', '.join(learn)}, "
           f"against finite differences; {shown}")
    x = next((values[n] for n, r in roles if r == "data"), np.float64(0.0))   # (no batch: none)
    t = next((values[n] for n, r in roles if r == "labels"), None)
    return Found(label, path, "network", how,
                 check=lambda: check_network(CostFunction, x, t, label=label))


def _source(obj):
    """The source of ``obj`` (a function, or the functions a pair is made of), or ""."""
    try:
        return inspect.getsource(getattr(obj, "__wrapped__", obj))
    except (OSError, TypeError):
        return ""


class _Whole:
    def __repr__(self):
        return ":"


_WHOLE = _Whole()


def _shown(name, role, value):
    if isinstance(value, TokenDataset):
        return f"{name}: a dataset drawing {list(DRAWN)}"
    if isinstance(value, np.ndarray):
        kind = "ints" if value.dtype.kind in "iu" else role if role in ("labels", "mask") else ""
        return f"{name} {value.shape}{' ' + kind if kind else ''}"
    return f"{name}={value!r}"
