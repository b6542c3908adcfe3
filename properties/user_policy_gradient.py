"""Policy-gradient networks in the style of Karpathy's "Pong from Pixels"::

    model = {"W1": ..., "W2": ...}                 # a module dict, or handed in: f(model, x)
    def policy_forward(x):            -> (p, h)    # one step: the action probability, the hidden
    def policy_backward(eph, epdlogp[, epx]) -> {"W1": dW1, "W2": dW2}   # epx: a global or an arg

``epdlogp`` is the gradient with respect to the logits of the steps (stacked), ``eph`` the
hidden states, ``epx`` the inputs: the backward is the vector-Jacobian product of the logits.
Checked so: an episode of random inputs is run step by step, the backward handed random
upstream rows, and its gradients compared with finite differences of sum(G * logits), the
logits read back from the probabilities (log(p / (1 - p)) for a sigmoid; log p for a softmax,
whose rows of G sum to 0 so that log p's shift does not count). The params are the model's
arrays (the module's dict, or an initializer's: ``init_model(...)``).
"""
import inspect

import numpy as np

from properties.user_entry import CannotCheck, Found

STEPS = 5
ROLES = {"model": ("model", "params", "parameters", "weights"),
         "hidden": ("eph", "hs", "h", "ephs", "hidden", "eph_"),
         "upstream": ("epdlogp", "dlogp", "epdlogits", "dlogits", "epdlogit", "dlogps", "epgrad"),
         "inputs": ("epx", "xs", "x", "ep_x", "obs", "states")}


def is_policy_pair(name, bwd):
    """``X_forward`` beside an ``X_backward`` taking hidden states and logit gradients."""
    if not name.endswith("_forward"):
        return False
    args = [a.lower() for a in inspect.signature(bwd).parameters]
    return any(a in ROLES["hidden"] for a in args) and any(a in ROLES["upstream"] for a in args)


def _role(arg):
    return next((r for r, names in ROLES.items() if arg.lower() in names), None)


def _model(fwd, names):
    """The params dict: the module's ``model``, else what an initializer beside it makes."""
    held = fwd.__globals__.get("model")
    if isinstance(held, dict) and held and all(isinstance(v, np.ndarray) for v in held.values()):
        return held, False
    from properties.user_build import CannotBuild, constructor_args
    for n, fn in names.items():
        if inspect.isfunction(fn) and n.lower().startswith(("init", "make", "create")):
            try:
                made = fn(**constructor_args(fn))
            except (CannotBuild, Exception):
                continue
            if isinstance(made, dict) and made and all(isinstance(v, np.ndarray) for v in made.values()):
                return made, True
    raise CannotCheck("no model dict: neither a module-level model = {...} nor an init function "
                      "returning one")


def policy_item(name, fwd, bwd, label, path, names):
    """The Found checking ``bwd`` against finite differences of the logits ``fwd`` gives."""
    model, _ = _model(fwd, names)
    fwd_args = list(inspect.signature(fwd).parameters)
    bwd_args = list(inspect.signature(bwd).parameters)
    takes_model = bool(fwd_args) and _role(fwd_args[0]) == "model"

    def forward(params, x):
        if takes_model:
            return fwd(params, x)
        fwd.__globals__["model"] = params      # the functions read the module's model
        return fwd(x)

    rng = np.random.default_rng(0)
    widths = sorted({d for v in model.values() for d in np.shape(v)})
    xs = next((X for d in widths for X in [rng.standard_normal((STEPS, d))]
               if _runs(forward, model, X[0])), None)
    if xs is None:
        raise CannotCheck(f"{name}: no input width its model's arrays have made it run")
    p0 = np.asarray(forward(model, xs[0])[0], dtype=np.float64)
    softmax = p0.size > 1 and abs(float(p0.sum()) - 1.0) < 1e-6
    width = p0.size
    g = rng.standard_normal((STEPS, width))
    if softmax:
        g -= g.mean(axis=1, keepdims=True)          # rows summing to 0: log p's shift drops out

    def episode(params):
        ps, hs = zip(*(forward(params, x) for x in xs))
        return np.array([np.ravel(p) for p in ps], dtype=np.float64), np.vstack(hs)

    def logits(p):
        return np.log(p) if softmax else np.log(p) - np.log1p(-p)

    def call_backward(params):
        _, eph = episode(params)
        given = {"model": params, "hidden": eph, "upstream": g, "inputs": xs}   # g (steps, A)
        if "epx" in bwd.__code__.co_names or "epx" in fwd.__globals__ and "epx" not in bwd_args:
            fwd.__globals__["epx"] = xs        # Karpathy's backward reads the global epx
        return bwd(*[given[_role(a)] for a in bwd_args if _role(a)])

    keys = list(model)

    class PolicyNetwork:
        batch_axis, calls = 0, (f"{bwd.__name__}({', '.join(bwd_args)})",
                                f"sum(G * logits of {fwd.__name__} over an episode)")

        def __init__(self):
            self.params = {k: np.array(model[k], dtype=np.float64) for k in keys}

        def loss(self, x, t):
            return float(np.sum(g * logits(episode(self.params)[0])))

        def gradient(self, x, t):
            got = call_backward(self.params)
            return {k: np.reshape(got[k], self.params[k].shape) if np.size(got[k]) ==
                    self.params[k].size else got[k] for k in keys if k in got}

    from properties.owncode_networks import check_network
    shown = ", ".join(f"{k} {np.shape(v)}" for k, v in model.items())
    how = (f"{name}/{bwd.__name__}: the logits' vector-Jacobian product over an episode of "
           f"{STEPS} steps, against finite differences ({'softmax' if softmax else 'sigmoid'} "
           f"policy); model {shown}")
    return Found(label, path, "network", how,
                 check=lambda: check_network(PolicyNetwork, xs, None, label=label))


def _runs(forward, model, x):
    try:
        with np.errstate(all="ignore"):
            p, h = forward(model, x)
        return np.all(np.isfinite(p)) and np.all((np.asarray(p) > 0) & (np.asarray(p) < 1))
    except Exception:
        return False
