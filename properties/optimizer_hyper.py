"""Where a user's optimizer keeps its hyperparameters, and under which names.

An attribute (``self.lr``, ``self.beta1``), or, as PyTorch keeps them, an entry of
``param_groups[0]`` or of ``defaults`` (``lr``, ``momentum``, ``betas=(0.9, 0.999)``,
``alpha``, ``nesterov``, ``amsgrad``).
"""
import numpy as np

# A schedule's base rate is the rate of its first step (lr0, base_lr: what the user's own
# update() scales; ``owncode_schedules`` fits the rest)
LR_NAMES = ("lr", "learning_rate", "learn_rate", "eta", "alpha", "lr0", "base_lr", "initial_lr",
            "init_lr", "base_learning_rate", "initial_learning_rate", "learning_rate_init")
EPS_NAMES = ("eps", "epsilon", "e", "delta")
COMMON_EPS = (1e-7, 1e-8, 1e-6, 1e-10, 1e-5)     # tried when eps is hard-coded in update()
HYPER_NAMES = {"momentum": ("momentum", "beta", "mu", "gamma"),
               "rho": ("decay_rate", "rho", "decay", "beta", "gamma", "beta2", "beta_2"),
               "beta1": ("beta1", "beta_1", "b1", "decay1"),      # (numpy-ml's decay1, decay2)
               "beta2": ("beta2", "beta_2", "b2", "decay2"),
               "initial_accumulator": ("initial_accumulator_value", "initial_accumulator")}
WD_NAMES = ("weight_decay", "wd", "weight_decay_rate", "l2", "l2_reg", "l2_lambda", "lambda_l2")
# Nadam's momentum schedule 0.96^(psi t): Keras's is psi = 1, PyTorch's NAdam psi = 0.004.
PSI_NAMES = ("momentum_decay", "psi", "schedule_decay")


def number(obj, names):
    """(where, value) of the first of ``names`` the optimizer holds as a number: an attribute,
    or, as PyTorch keeps its hyperparameters, an entry of ``param_groups[0]`` or ``defaults``;
    Adam's two betas also as ``betas=(0.9, 0.999)``."""
    for where, get in holders(obj):
        for n in names:
            v = get(n)
            if isinstance(v, (int, float, np.floating)) and not isinstance(v, bool):
                return where.format(n), float(v)
        betas = get("betas")
        for k, key in enumerate(("beta1", "beta2")):
            if names == HYPER_NAMES[key] and isinstance(betas, (tuple, list)) and \
                    len(betas) == 2 and all(isinstance(b, (int, float, np.floating)) for b in betas):
                return where.format("betas") + f"[{k}]", float(betas[k])
    return None


def holders(obj):
    """(how a name is shown, name -> value) for where an optimizer may keep a hyperparameter."""
    out = [("{}", lambda n: getattr(obj, n, None))]
    groups, defaults = getattr(obj, "param_groups", None), getattr(obj, "defaults", None)
    if isinstance(groups, (list, tuple)) and groups and isinstance(groups[0], dict):
        out.append(("param_groups[0]['{}']", groups[0].get))
    if isinstance(defaults, dict):
        out.append(("defaults['{}']", defaults.get))
    hyper = getattr(obj, "hyperparameters", None)       # numpy-ml's
    if isinstance(hyper, dict):
        out.append(("hyperparameters['{}']", hyper.get))
    return out


def flag(obj, name):
    """A boolean hyperparameter (nesterov, amsgrad) as an attribute or in PyTorch's places."""
    return any(get(name) is True for _, get in holders(obj))
