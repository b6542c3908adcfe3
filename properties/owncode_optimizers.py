"""Style 6: a user's optimizer with ``update(params, grads)`` on dicts (deep-learning-from-scratch style).

``check_dict_optimizer(make_opt)`` runs a fresh optimizer from ``make_opt()``
(the user's own class, rebuilt for every run) for a few steps on drawn float64
params and gradients, and compares each param's trajectory with the tf.keras
optimizer of the same kind, given the hyperparameters read off the user's
object (``lr``, ``momentum``, ``decay_rate``, ``beta1``, ``beta2``, ...).

* The trajectory matches Keras exactly (to float64 rounding): PASS.
* It matches Keras only under another form of the same algorithm, as the paper or
  PyTorch writes it (Adam's epsilon added to the bias-corrected root, epsilon outside
  the root in RMSprop and AdaGrad, AdaGrad's accumulator starting at 0): a WARN
  (passed, verdict "convention") naming the form; the trajectories part by about
  epsilon, and the project's own ``layers.optimizers.Adam`` is the paper's form.
* It matches Keras only under a convention that changes what training does
  (momentum as an average ``v = b v + (1 - b) g`` with ``p -= lr v``, a bias-corrected
  RMSprop, Adam without bias correction): FAIL with verdict "convention" and a
  sentence saying what differs. Each convention is itself a Keras run
  (oracle/keras_optimizers.py maps it onto Keras exactly), never a formula of ours.
* Weight decay read off the optimizer (``weight_decay``, ``wd``...) is given to Keras
  decoupled, as Keras's ``weight_decay`` and AdamW apply it (passes), or coupled into the
  gradient as PyTorch's SGD and Adam do (another form: a WARN), except in an AdamW, whose
  point is not to couple it (a failing convention).
* It matches nothing: FAIL with verdict "layer bug".
"""
import itertools
from dataclasses import replace

import numpy as np

from layers import optimizers as O
from layers.schedules import PerEpoch
from oracle.compare import compare
from oracle.keras_direct import DIRECT_KINDS, adagrad_eps_outside, run_direct
from oracle.keras_optimizers import run_keras
from oracle.result import Result, join_notes
from properties.optimizer_checks import TRAJECTORY_TOLERANCE, parting_note, step_note
from properties.optimizer_hyper import (COMMON_EPS, EPS_NAMES, HYPER_NAMES, LR_NAMES, PSI_NAMES,
                                        WD_NAMES, flag, number)
from properties.owncode_clipping import clippings, with_clipping
from properties.owncode_schedules import scheduled
from properties.owncode_step_optimizers import StepOptimizer

# Longest names first: "adamax" and "nadam" hold "adam", an "adadelta" is no AdaGrad.
KIND_BY_NAME = (("nesterov", "Nesterov"), ("adagrad", "AdaGrad"), ("rmsprop", "RMSProp"),
                ("adamax", "Adamax"), ("nadam", "Nadam"), ("amsgrad", "AMSGrad"),
                ("adadelta", "Adadelta"), ("lion", "Lion"),
                ("adam", "Adam"), ("momentum", "Momentum"), ("sgd", "SGD"),
                ("gradientdescent", "SGD"),     # ML-From-Scratch's StochasticGradientDescent
                ("_gd", "SGD"))                 # deeplearning.ai's update_parameters_with_gd


def optimizer_kind(opt):
    """"SGD", "Momentum", "Nesterov", "AdaGrad", "RMSProp" or "Adam", from the class name
    (else: an SGD class with a ``momentum`` attribute is Momentum). Raises ValueError."""
    written = _class_of(opt).__name__
    name = written.lower()
    for key, kind in KIND_BY_NAME:
        if key in name and _begins_a_word(written, name.index(key), key):
            if kind == "Adam" and flag(opt, "amsgrad"):
                return "AMSGrad"
            if kind in ("SGD", "Momentum") and flag(opt, "nesterov"):
                return "Nesterov"      # PyTorch's SGD(momentum, nesterov=True)
            momentum = number(opt, HYPER_NAMES["momentum"]) if kind == "SGD" else None
            return "Momentum" if momentum and momentum[1] != 0 else kind
    raise ValueError(f"{_class_of(opt).__name__}: cannot tell which optimizer this is from its name; "
                     f"known kinds: {[k for _, k in KIND_BY_NAME]}; a class named after its "
                     f"kind (MyAdam, SGDWithDecay) is checked as that kind")


def _class_of(opt):
    """The user's class (a step() optimizer's own, not its adapter's)."""
    return type(opt.optimizer) if isinstance(opt, StepOptimizer) else type(opt)


def _begins_a_word(written, at, key):
    """Whether ``key`` found at ``at`` of the class name begins a word there, for the names
    that end other words ("PlainAdam" holds "nadam", "Million" "lion"): at the start, after
    "_", or a capital (NAdam, Lion) after a lowercase letter. The other names are taken
    anywhere."""
    if key not in ("nadam", "lion") or at == 0 or written[at - 1] == "_":
        return True
    return written[at].isupper() and not written[at - 1].isupper()


def _required(opt, what, names):
    found = number(opt, names)
    if found is None:
        raise ValueError(f"{_class_of(opt).__name__}: cannot read its {what}: no number attribute "
                         f"(nor entry of param_groups[0] or defaults) "
                         f"named any of {list(names)}; keep it as a number attribute under "
                         f"one of those names")
    return found[1]


def readable(opt):
    """Raises ValueError naming what cannot be read off ``opt`` (its kind, a hyperparameter)."""
    _candidates(optimizer_kind(opt), opt)


def _candidates(kind, opt):
    """[(convention sentence or "" for Keras's own, epsilon note, runner, same)] to try.

    ``run(params0, grad_steps)`` gives Keras's trajectory and a description of the Keras
    configuration; ``same``: the convention is another form of the same algorithm (the
    paper's or PyTorch's: where epsilon goes, an accumulator's start), not one that trains
    differently (momentum as an average, bias correction added or left out).
    """
    lr_name = number(opt, LR_NAMES)
    lr = _learning_rate(opt, kind)
    others = lambda names: tuple(n for n in names if not lr_name or n != lr_name[0])
    eps_attr = number(opt, EPS_NAMES)
    eps_values = (eps_attr[1],) if eps_attr else COMMON_EPS
    eps_note = "" if eps_attr else "epsilon {eps:g} (hard-coded in update(), found by trying common values)"
    out = []
    wd_found = number(opt, WD_NAMES)
    wd = wd_found[1] if wd_found else 0.0
    adamw = "adamw" in _class_of(opt).__name__.lower()

    def ours(differs, build, eps=None, same=True):
        note = eps_note.format(eps=eps) if eps is not None and eps_note else ""
        if not wd:
            out.append((differs, note, _runner(build), same))
            return
        # weight decay: decoupled as Keras (and AdamW) do it, else coupled into the gradient
        # (L2, as PyTorch's SGD and Adam do): another form of the algorithm, except for an
        # AdamW, whose whole point is not to couple it
        out.append((differs, note, _runner(build, weight_decay=wd), same))
        coupled = COUPLED.format(name=wd_found[0]) + (
            "where AdamW decouples it (params -= lr * weight_decay * params): coupling it is "
            "what AdamW exists to avoid" if adamw else COUPLED_AS)
        out.append(("; ".join(filter(None, [differs, coupled])), note,
                    _runner(build, weight_decay=wd, coupled=True), same and not adamw))

    if kind == "SGD":
        ours("", lambda: O.SGD(lr))
    elif kind == "Momentum":
        b = _required(opt, "momentum", HYPER_NAMES["momentum"])
        ours("", lambda: O.Momentum(lr, b, convention="velocity"))
        ours("momentum is kept as an average v = momentum*v + (1-momentum)*g with params -= lr*v, "
             "where Keras keeps a velocity v = momentum*v - lr*g with params += v",
             lambda: O.Momentum(lr, b, convention="ema"), same=EMA_MOMENTUM)
    elif kind == "Nesterov":
        b = _required(opt, "momentum", HYPER_NAMES["momentum"])
        ours("", lambda: O.Nesterov(lr, b))
    elif kind == "RMSProp":
        momentum = number(opt, ("momentum",))
        if flag(opt, "centered") or (momentum and momentum[1] != 0):
            form = "a centered RMSprop" if flag(opt, "centered") else "an RMSprop with momentum"
            raise ValueError(f"{_class_of(opt).__name__}: {form} is not checked: no twin of that "
                             f"form is mapped onto Keras here")
        rho = _required(opt, "decay rate", others(HYPER_NAMES["rho"] + ("alpha",)))  # PyTorch's alpha
        for eps in eps_values:
            for inside, bc in itertools.product((True, False), (False, True)):
                differs = "; ".join(filter(None, [
                    "" if inside else "epsilon is added outside the square root "
                    "(sqrt(h) + eps), where Keras adds it inside (sqrt(h + eps))",
                    "" if not bc else "the mean square is bias-corrected (h / (1 - rho^t)), "
                    "which Keras's RMSprop does not do"]))
                ours(differs, lambda eps=eps, inside=inside, bc=bc: O.RMSProp(
                    lr, rho, eps, eps_inside_sqrt=inside, bias_correction=bc), eps, same=not bc)
    elif kind == "Adam":
        b1 = _required(opt, "beta1", HYPER_NAMES["beta1"])
        b2 = _required(opt, "beta2", HYPER_NAMES["beta2"])
        for eps in eps_values:
            ours("", lambda eps=eps: O.Adam(lr, b1, b2, eps, epsilon_on="v"), eps)
            ours("epsilon is added to the bias-corrected root sqrt(v_hat), where Keras adds it to "
                 "sqrt(v) and folds the bias correction into the learning rate",
                 lambda eps=eps: O.Adam(lr, b1, b2, eps, epsilon_on="v_hat"), eps)
            ours("there is no bias correction (m and v are used as they are), where Keras "
                 "multiplies the learning rate by sqrt(1-beta2^t)/(1-beta1^t)",
                 lambda eps=eps: O.Adam(lr, b1, b2, eps, bias_correction=False), eps, same=False)
    elif kind == "AdaGrad":
        init = number(opt, HYPER_NAMES["initial_accumulator"])
        keras_init = 0.1
        for eps in eps_values:
            inits = (init[1],) if init else (keras_init, 0.0)
            for a0 in inits:
                init_note = "" if a0 == keras_init or init else (
                    f"the accumulator h starts at {a0:g}, where Keras's Adagrad starts it at "
                    f"{keras_init:g}")
                ours(init_note, lambda eps=eps, a0=a0: O.AdaGrad(lr, eps, initial_accumulator=a0), eps)
            for a0 in inits:
                note = "; ".join(filter(None, [
                    "epsilon is added outside the square root (sqrt(h) + eps), where Keras adds it "
                    "inside (sqrt(h + eps))",
                    "" if init or a0 == keras_init else f"the accumulator h starts at {a0:g}, "
                    f"where Keras's Adagrad starts it at {keras_init:g}"]))
                out.append((note, eps_note.format(eps=eps) if eps_note else "",
                            lambda p, g, lrs=None, eps=eps, a0=a0:
                            adagrad_eps_outside(lr, eps, p, g, lrs, initial=a0), True))
    elif kind in DIRECT_KINDS:
        _direct(kind, opt, lr, others, eps_values, eps_note, wd_found, out)
    if kind == "Momentum" and "momentum" not in _class_of(opt).__name__.lower() and \
            number(opt, HYPER_NAMES["momentum"])[0] == "gamma":
        # an SGD's gamma may be a schedule's factor (PyTorch's StepLR), not a momentum
        ours("its gamma is no momentum: the update is plain SGD's (gamma is also what "
             "PyTorch's StepLR calls a schedule's factor)", lambda: O.SGD(lr))
    return with_clipping(out, clippings(opt, number))


def _learning_rate(opt, kind):
    """The optimizer's learning rate; an Adadelta needs none (the paper's step has no
    learning rate: Keras's 1 is that). Raises ValueError when there is none to read."""
    if kind == "Adadelta" and number(opt, LR_NAMES) is None:
        return 1.0
    return _required(opt, "learning rate", LR_NAMES)


# Momentum as an average (deeplearning.ai's form): Keras's steps at (1 - momentum) times the rate.
EMA_MOMENTUM = ("It takes the steps Keras's momentum takes at (1 - momentum) times this learning "
                "rate (the form deeplearning.ai teaches): the same algorithm, the learning rate "
                "meaning another thing. Under it the trajectory matches {how} exactly; a "
                "warning, not a failure.")
COUPLED = "weight decay is added to the gradient (g + {name} * params, an L2 term), "
COUPLED_AS = ("as PyTorch's optimizers do, where Keras decouples it (params -= lr * weight_decay "
              "* params)")


def _direct(kind, opt, lr, others, eps_values, eps_note, wd_found, out):
    """Candidates of a kind the project has no class of (``oracle.keras_direct``); a weight
    decay decoupled as Keras applies it, or coupled into the gradient."""
    wd = wd_found[1] if wd_found else 0.0
    hyper = {"lr": lr}
    if kind == "Adadelta":
        hyper["rho"] = _required(opt, "decay rate", others(HYPER_NAMES["rho"]))
    else:
        hyper["beta1"] = _required(opt, "beta1", HYPER_NAMES["beta1"])
        hyper["beta2"] = _required(opt, "beta2", HYPER_NAMES["beta2"])
    if kind == "Nadam":
        psi = number(opt, PSI_NAMES)
        if psi is not None and psi[1] != 1.0:
            raise ValueError(f"{_class_of(opt).__name__}: its momentum schedule is 0.96^({psi[0]} t) "
                             f"with {psi[0]} = {psi[1]:g} (PyTorch's NAdam); Keras's Nadam fixes "
                             f"it at 0.96^t, so no twin can check it exactly")
    if wd:
        hyper["weight_decay"] = wd
    for eps in (eps_values if kind != "Lion" else (None,)):
        h = dict(hyper) if eps is None else {**hyper, "eps": eps}
        note = eps_note.format(eps=eps) if eps is not None and eps_note else ""
        for hat in ((False, True) if kind == "AMSGrad" else (False,)):
            differs = ("epsilon is added to the bias-corrected root sqrt(v_hat), where Keras "
                       "adds it to sqrt(v) and folds the bias correction into the learning "
                       "rate") if hat else ""
            for coupled in ((False, True) if wd else (False,)):
                out.append(("; ".join(filter(None, [differs, COUPLED.format(
                    name=wd_found[0]) + COUPLED_AS if coupled else ""])), note,
                    lambda p, g, lrs=None, h=h, hat=hat, c=coupled: run_direct(
                        kind, h, p, g, lrs=lrs, eps_on_hat=hat, coupled=c), True))


def _runner(build, **keras_kw):
    """``run(params0, grad_steps, lrs=None)``: Keras's trajectory and what it ran, for the
    optimizer ``build()`` makes, at its own learning rate or at ``lrs``, one per step."""
    def run(params0, grad_steps, lrs=None):
        opt = build()
        if lrs is not None:
            opt.schedule = PerEpoch(lrs)    # the twin steps one epoch a step (steps_per_epoch 1)
        return _keras_only(run_keras(opt, params0, grad_steps, **keras_kw))
    return run


def _keras_only(run):
    """Keep what Keras ran ("keras Adam with ..."), not the descriptor used to configure it."""
    trajectory, how = run
    return trajectory, how.split(" checked as ", 1)[-1]


def draw_problem(shapes, steps, seed, grad_scale=1.0):
    """(params0, grad_steps): float64 params and ``steps`` lists of gradients, from ``seed``."""
    rng = np.random.default_rng([seed, 1])
    params0 = [rng.standard_normal(s) for s in shapes]
    rng = np.random.default_rng([seed, 2])
    grad_steps = [[rng.standard_normal(s) * grad_scale for s in shapes] for _ in range(steps)]
    return params0, grad_steps


def run_user(make_opt, names, params0, grad_steps):
    """The user's trajectory: a fresh ``make_opt()`` stepping a dict of float64 copies."""
    opt = make_opt()
    params = {n: np.array(p, copy=True) for n, p in zip(names, params0)}
    trajectory = []
    for grads in grad_steps:
        opt.update(params, {n: np.array(g, copy=True) for n, g in zip(names, grads)})
        trajectory.append([np.array(params[n], np.float64, copy=True) for n in names])
    return trajectory


# Keras's Nadam takes its momentum schedule's 0.96 exactly for the running product and rounded
# to float32 for mu_t (update_step casts the Python float): its float64 trajectory is off the
# exact formula by about 2e-9 relative over the checked steps (measured; everything else in it
# is exact), so a Nadam is judged at 1e-8 instead of 1e-11. A slip in the formula is far more.
NADAM_TOLERANCE = {"tf": {"rtol": 1e-8, "atol": 1e-9}}


def _tolerance(kind):
    return NADAM_TOLERANCE if kind == "Nadam" else TRAJECTORY_TOLERANCE


# Two params share a shape (a net's W1 and W2 often do): state kept by shape, not by name, mixes
# their moments, and with one param of each shape it went unseen.
SHAPES = ((3, 2), (2,), (3, 2))


def check_dict_optimizer(make_opt, *, shapes=SHAPES, steps=5, seed=0, grad_scale=1.0,
                         label=None):
    """Results, one per param, for the user's optimizer against Keras (see the module docstring).

    make_opt: a no-argument callable returning a fresh user optimizer (its own
    class: replaying rebuilds it, never one of ours). Raises ValueError when the
    kind or a hyperparameter cannot be read off the object.
    """
    probe = make_opt()
    kind = optimizer_kind(probe)
    label = label or _class_of(probe).__name__
    names = [f"p{i}" for i in range(len(shapes))]
    params0, grad_steps = draw_problem(shapes, steps, seed, grad_scale)
    config = {"kind": kind, "class": f"{_class_of(probe).__module__}.{_class_of(probe).__qualname__}",
              "shapes": [list(s) for s in shapes], "steps": steps, "seed": seed,
              "grad_scale": grad_scale}
    read_momentum = number(probe, HYPER_NAMES["momentum"]) if kind in ("Momentum", "Nesterov") \
        else None
    if read_momentum:
        config["momentum"] = read_momentum[1]
    try:
        mine = run_user(make_opt, names, params0, grad_steps)
    except Exception as exc:
        return [Result(layer=label, prop="keras_trajectory", tensor="update(params, grads)",
                       oracle="law", passed=False, dtype="float64", config=config,
                       ratio=float("inf"), verdict="contract",
                       explanation="update(params, grads) failed", note=f"{type(exc).__name__}: {exc}")]
    candidates = _candidates(kind, probe)
    tried, first = [], None
    for differs, eps_note, run, same in candidates:
        theirs, how = run(params0, grad_steps)
        results = _compare(label, names, mine, theirs, {**config, "twin": how}, params0)
        tried.append(how)
        if first is None:
            first = results
        if all(r.passed for r in results):
            if not differs:
                return [r.with_note(eps_note) for r in results]
            if same:
                tail = same.format(how=how) if isinstance(same, str) else (
                    f"That form is the paper's or PyTorch's; under it the trajectory matches "
                    f"{how} exactly. A warning, not a failure: it parts from Keras's by about "
                    f"epsilon.")
                return [replace(r, passed=True, warning=True, verdict="convention",
                                note=join_notes(r.note, eps_note),
                                explanation=f"{label} writes {kind} another way than Keras: "
                                            f"{differs}. {tail}")
                        for r in results]
            return [replace(base, verdict="convention", note=join_notes(base.note, eps_note),
                            explanation=f"{label} follows another convention than Keras: {differs}. "
                                        f"Under that convention it matches {how} exactly.")
                    for base in first]
    matches_nothing = (f"{label}'s trajectory matches neither Keras's {kind} nor any known "
                       f"convention variant of it (tried: {'; '.join(dict.fromkeys(tried))}).")
    words, verdict = "", "layer bug"
    if steps > 1:     # at a learning rate of its own at every step, maybe (a schedule inside)
        found, words, verdict = _at_per_step_rates(make_opt, probe, label, names, candidates,
                                                   mine, (params0, grad_steps), config,
                                                   (shapes, steps, seed, grad_scale))
        if found:
            return found
    explanation = words if verdict == "convention" else " ".join(filter(None, [matches_nothing,
                                                                                words]))
    return [r if r.passed else replace(r, verdict=verdict, explanation=explanation)
            for r in first]


def _at_per_step_rates(make_opt, probe, label, names, candidates, mine, problem, config, drawn):
    """``owncode_schedules.scheduled`` for this optimizer, with a second draw of gradients."""
    shapes, steps, seed, grad_scale = drawn
    params1, grad_steps1 = draw_problem(shapes, steps, seed + 1, grad_scale)
    try:
        mine1 = run_user(make_opt, names, params1, grad_steps1)
    except Exception:          # it ran on the first draw: the failure stands as it is
        return None, "", "layer bug"
    compare_all = lambda theirs, how: _compare(label, names, mine, theirs,
                                               {**config, "twin": how}, problem[0])
    return scheduled(label, _learning_rate(probe, config["kind"]), candidates, mine, problem,
                     (params1, grad_steps1, mine1), compare_all, _tolerance(config["kind"]),
                     config.get("momentum"))      # read once, beside the kind


def _compare(label, names, mine, theirs, config, params0):
    results = []
    for i, name in enumerate(names):
        got = np.stack([step[i] for step in mine])
        want = np.stack([step[i] for step in theirs])
        r = compare(got, want, layer=label, prop="keras_trajectory", tensor=f"{name} (step, ...)",
                    oracle="tf", dtype="float64", config=config,
                    overrides=_tolerance(config["kind"]), diagnosed=False)
        # where they part says it all: it stands in for the comparison's own note
        results.append(r if r.passed or not r.worst else replace(r, note=join_notes(
            parting_note(got, want, r),
            step_note(got, want, params0[i], r, config.get("momentum")))))
    return results
