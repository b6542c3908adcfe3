"""Keras twins of optimizers the project has no class of: Adamax, AMSGrad, Nadam, Adadelta, Lion
(and AdaGrad with epsilon outside the root, ``adagrad_eps_outside``).

A user's optimizer of one of these kinds is checked against Keras's own class, run here
directly on float64 variables, with every hyperparameter float64 (``np.float64`` constants,
the learning rate and a per-step epsilon as float64 variables: Keras 3 rounds plain Python
floats to float32, see ``oracle.keras_optimizers``). ``run_direct`` gives the trajectory, at
the optimizer's own learning rate or at one per step (``lrs``, a schedule inside the user's
``update()``, see ``properties.owncode_schedules``).

What each is, in Keras's words (its ``update_step``):

* Adamax: m += (g - m)(1 - beta1); u = max(beta2 u, |g|); p -= lr m / ((1 - beta1^t)(u + eps)).
* AMSGrad (``Adam(amsgrad=True)``): Adam's m and v, v_max = max(v_max, v), and
  p -= lr sqrt(1 - beta2^t) / (1 - beta1^t) m / (sqrt(v_max) + eps). Epsilon added to the
  bias-corrected root (PyTorch's form) is that with epsilon eps sqrt(1 - beta2^t).
* Nadam: Dozat's momentum schedule mu_t = beta1 (1 - 0.5 0.96^t); PyTorch's NAdam
  takes 0.96^(0.004 t) (its ``momentum_decay``), which Keras does not offer.
* Adadelta: E[g^2] and E[dx^2] averaged with rho, dx = -sqrt(E[dx^2] + eps) / sqrt(E[g^2] + eps) g,
  p += lr dx (lr 1 in the paper).
* Lion: p -= lr sign(beta1 m + (1 - beta1) g); m = beta2 m + (1 - beta2) g.
"""
import math

import numpy as np

from oracle.tf_runtime import Packed, tf

DIRECT_KINDS = ("Adamax", "AMSGrad", "Nadam", "Adadelta", "Lion")


def _build(kind, lr, eps, hyper, coupled=False):
    k = tf().keras.optimizers
    f = lambda name: np.float64(hyper[name])   # noqa: E731
    built = _built(k, kind, lr, eps, f)
    if hyper.get("weight_decay") and not coupled:      # decoupled, as Keras applies it
        built.weight_decay = f("weight_decay")
    return built


def _built(k, kind, lr, eps, f):
    if kind == "Adamax":
        return k.Adamax(learning_rate=lambda: lr, beta_1=f("beta1"), beta_2=f("beta2"), epsilon=eps)
    if kind == "AMSGrad":
        return k.Adam(learning_rate=lambda: lr, beta_1=f("beta1"), beta_2=f("beta2"), epsilon=eps,
                      amsgrad=True)
    if kind == "Nadam":
        return k.Nadam(learning_rate=lambda: lr, beta_1=f("beta1"), beta_2=f("beta2"), epsilon=eps)
    if kind == "Adadelta":
        return k.Adadelta(learning_rate=lambda: lr, rho=f("rho"), epsilon=eps)
    if kind == "Lion":
        return k.Lion(learning_rate=lambda: lr, beta_1=f("beta1"), beta_2=f("beta2"))
    raise ValueError(f"run_direct: unknown kind {kind!r}; known: {DIRECT_KINDS}")


def describe(kind, hyper, eps_on_hat=False, coupled=False):
    """The Keras configuration ``run_direct`` runs, in words."""
    wd = hyper.get("weight_decay", 0.0)
    shown = ", ".join(f"{k}={v:g}" for k, v in hyper.items()
                      if k != "lr" and not (k == "weight_decay" and coupled))
    name = {"AMSGrad": "Adam(amsgrad=True)"}.get(kind, kind)
    return f"keras {name}({shown})" + (" with epsilon eps sqrt(1 - beta2^t) (epsilon added to "
                                       "the bias-corrected root)" if eps_on_hat else "") + \
        (f", on gradients g + {wd:g} * params (weight decay as L2 in the gradient)"
         if coupled and wd else "")


def run_direct(kind, hyper, params0, grad_steps, *, lrs=None, eps_on_hat=False, coupled=False):
    """Keras's trajectory (params after each step) for ``kind`` with ``hyper`` (lr, and beta1,
    beta2, rho, eps as the kind takes them, and a weight_decay), and what was run. ``lrs``:
    one learning rate per step instead of ``hyper["lr"]``; ``eps_on_hat`` (AMSGrad): epsilon
    added to the bias-corrected root. A weight decay is Keras's own (decoupled: params -= lr *
    weight_decay * params before each step), or with ``coupled`` added to the gradient (g +
    weight_decay * params, the params as they are before that step)."""
    t = tf()
    lr = t.Variable(np.float64(hyper["lr"]), dtype=t.float64, trainable=False)
    eps = t.Variable(np.float64(hyper.get("eps", 1e-7)), dtype=t.float64, trainable=False)
    keras = _build(kind, lr, eps, hyper, coupled)
    wd = np.float64(hyper.get("weight_decay", 0.0)) if coupled else 0.0
    packed = Packed(params0)
    trajectory = []
    for step, grads in enumerate(grad_steps, start=1):
        if lrs is not None:
            lr.assign(np.float64(lrs[min(step, len(lrs)) - 1]))
        if eps_on_hat:
            eps.assign(np.float64(hyper["eps"] * math.sqrt(1 - hyper["beta2"] ** step)))
        if wd:
            grads = [np.asarray(g, np.float64) + wd * p for g, p in zip(grads, packed.params())]
        packed.apply(keras, grads)
        trajectory.append(packed.params())
    return trajectory, describe(kind, hyper, eps_on_hat, coupled)


def adagrad_eps_outside(lr, eps, params0, grad_steps, lrs=None, initial=0.0):
    """Keras's trajectory for h += g^2; p -= lr g / (sqrt(h) + eps), h starting at ``initial``.

    Keras Adam with beta_1 = 0 and a per-step beta_2 = (n-1)/n keeps v = h / n (a running
    mean of g^2 over n terms); with learning rate lr / (sqrt(n) sqrt(1 - beta_2^i)) at its
    iteration i and epsilon eps / sqrt(n), its step is exactly lr g / (sqrt(h) + eps). An
    accumulator starting at h0 > 0 is one more term: a first step at learning rate 0 with
    the gradient sqrt(h0) everywhere sets v = h0 and moves nothing, so n = t + 1 at step t.
    """
    t_ = tf()
    beta2 = t_.Variable(np.float64(0.0), dtype=t_.float64, trainable=False)
    rate = t_.Variable(np.float64(0.0), dtype=t_.float64, trainable=False)
    epsilon = t_.Variable(np.float64(eps), dtype=t_.float64, trainable=False)
    keras = t_.keras.optimizers.Adam(learning_rate=lambda: rate, beta_1=np.float64(0.0),
                                     beta_2=beta2, epsilon=epsilon)
    packed = Packed(params0)
    first = 1 if initial else 0       # the steps Keras has made before the first real one
    if first:
        packed.apply(keras, [np.full(np.shape(p), math.sqrt(initial)) for p in params0])
    trajectory = []
    for step, grads in enumerate(grad_steps, start=1):
        n = step + first
        b2 = (n - 1) / n
        beta2.assign(np.float64(b2))
        lr_t = lr if lrs is None else lrs[min(step, len(lrs)) - 1]
        rate.assign(np.float64(lr_t / (math.sqrt(n) * math.sqrt(1 - b2 ** n))))
        epsilon.assign(np.float64(eps / math.sqrt(n)))
        packed.apply(keras, grads)
        trajectory.append(packed.params())
    start = f", the accumulator started by a first step of gradient sqrt({initial:g}) at rate 0" \
        if first else ""
    return trajectory, ("keras Adam(beta_1=0) with beta_2 = (n-1)/n, lr / (sqrt(n) sqrt(1-beta_2^n)) "
                        f"and epsilon eps / sqrt(n){start}: AdaGrad with epsilon outside the root")
