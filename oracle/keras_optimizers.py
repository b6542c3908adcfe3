"""The tf.keras twin of each of our optimizers, exact in float64.

Keras 3 passes plain Python float hyperparameters through ``ops.cast``, which
rounds them to float32 first (0.9 becomes 0.89999997615...): a float64
trajectory then drifts by 1e-8 to 1e-6. Every hyperparameter here is float64
instead: constants as ``np.float64`` (a float subclass, cast exactly), the
learning rate and anything that changes per step as float64 ``tf.Variable``s
set before each step. A per-step hyperparameter is how a convention that Keras
does not offer is mapped exactly onto one it does:

* Momentum "ema" (v = b v + (1-b) g; p -= lr v) is Keras SGD with lr_t (1-b)
  and momentum b lr_t / lr_(t-1) (the velocity is m = -lr v);
* Adam and RMSProp with epsilon added to the bias-corrected root, or without
  bias correction, are Keras Adam / RMSprop with a per-step learning rate and
  epsilon (the identities are written next to each twin below);
* RMSProp with epsilon outside the root is Keras Adam with beta_1 = 0.

The learning-rate schedule is Keras's own schedule class (InverseTimeDecay,
ExponentialDecay with staircase), never our schedule code, evaluated in float64.
"""
import hashlib
import math
import pickle

import numpy as np

from layers.optimizers import AdaGrad, Adam, Momentum, Nesterov, RMSProp, SGD
from layers.schedules import Constant, ExponentialDecay, HyperbolicDecay, PerEpoch, StepDecay
from oracle.tf_runtime import Packed, tf

OPTIMIZER_TWINS = {}
SCHEDULE_TWINS = {}


class NoKerasTwin(LookupError):
    """Our optimizer or schedule has no Keras counterpart."""


def _keras():
    return tf().keras


def _f64(value):
    return tf().constant(np.float64(value), dtype=tf().float64)


class _Hyper:
    """float64 variables for the hyperparameters a twin sets before each step."""

    def __init__(self):
        self.vars = {}

    def __call__(self, name, value=0.0):
        self.vars[name] = tf().Variable(np.float64(value), dtype=tf().float64, trainable=False)
        return self.vars[name]


def twin_of(cls, table):
    def register(fn):
        table[cls] = fn
        return fn
    return register


class KerasTwin:
    """A Keras optimizer driven in lockstep with one of ours.

    ``description`` states the convention checked and how Keras implements it.
    ``step(grads, variables)`` sets this step's hyperparameters, then applies.
    """

    def __init__(self, optimizer, *, steps_per_epoch=1):
        mro = type(optimizer).__mro__
        builder = next((OPTIMIZER_TWINS[c] for c in mro if c in OPTIMIZER_TWINS), None)
        if builder is None:
            raise NoKerasTwin(f"no Keras twin for optimizer {type(optimizer).__name__}; "
                              f"known: {sorted(c.__name__ for c in OPTIMIZER_TWINS)}")
        self.hyper = _Hyper()
        self.lr_at = keras_schedule(optimizer.schedule, optimizer.lr0, steps_per_epoch)
        self.keras, self._per_step, how = builder(optimizer, self.hyper)
        self.description = f"{optimizer!r} checked as {how}"
        # Keras tests ``if self.momentum != 0`` in Python: a per-step momentum variable cannot
        # run inside a tf.function, so such a twin must apply eagerly.
        self.graph_safe = not isinstance(getattr(self.keras, "momentum", 0.0), tf().Variable)
        self._prev_lr = None
        self._weight_decay = 0.0

    def decouple(self, weight_decay):
        """Decay every variable by lr * weight_decay * itself before each step: Keras's own
        ``weight_decay`` (AdamW's decoupled decay), at the user's learning rate even where the
        twin hands Keras a rescaled one (the decay variable is rescaled to match)."""
        self._weight_decay = float(weight_decay)
        self.keras.weight_decay = self.hyper("weight_decay", 0.0)
        self.description += (f", with Keras's decoupled weight_decay={weight_decay:g} "
                             f"(params -= lr * weight_decay * params before each step)")

    def step(self, grads, variables):
        """One update of ``variables`` (float64 tf.Variables) by ``grads`` (arrays or tensors)."""
        self.prepare()
        self.apply([tf().convert_to_tensor(np.asarray(g, np.float64)) for g in grads], variables)

    def prepare(self):
        """Set the hyperparameter variables for the coming step (eagerly, outside any tf.function)."""
        iterations = int(self.keras.iterations.numpy())
        lr = self.lr_at(iterations)
        values = self._per_step(iterations + 1, lr, self._prev_lr)
        if self._weight_decay:       # Keras decays by its own lr: rescaled to the user's lr
            values["weight_decay"] = self._weight_decay * lr / values["lr"] if lr else 0.0
        for name, value in values.items():
            self.hyper.vars[name].assign(np.float64(value))
        self._prev_lr = lr

    def apply(self, grads, variables):
        """Keras's update alone (may run inside a tf.function); call ``prepare`` first."""
        self.keras.apply_gradients(zip(grads, variables))


def keras_twin(optimizer, *, steps_per_epoch=1):
    """The :class:`KerasTwin` of ``optimizer``; ``steps_per_epoch`` turns Keras steps into epochs."""
    return KerasTwin(optimizer, steps_per_epoch=steps_per_epoch)


def run_keras(optimizer, params0, grad_steps, *, steps_per_epoch=1, weight_decay=0.0,
              coupled=False):
    """Keras's trajectory: params after each step. params0: list of arrays; grad_steps: list of lists.

    weight_decay: Keras's decoupled decay (``KerasTwin.decouple``), or with ``coupled`` the
    L2 form PyTorch's optimizers take: Keras is handed g + weight_decay * params, the
    params as they are before that step.

    A trajectory is a function of these arguments alone (a fresh Keras optimizer and fresh
    variables each call), so one already run for the very same arguments is given again, as
    copies: the key is every one of them in full, ``optimizer`` as its pickled bytes (its
    class and every attribute the twin may read), each array as its float64 bytes and
    shape. An optimizer that cannot be pickled is run every time.
    """
    key = _trajectory_key(optimizer, params0, grad_steps, steps_per_epoch, weight_decay, coupled)
    if key is not None and key in _TRAJECTORIES:
        trajectory, how = _TRAJECTORIES[key]
    else:
        trajectory, how = _run_keras(optimizer, params0, grad_steps, steps_per_epoch,
                                     weight_decay, coupled)
        if key is not None:
            _TRAJECTORIES[key] = (trajectory, how)
    return [[p.copy() for p in step] for step in trajectory], how


_TRAJECTORIES = {}


def _trajectory_key(optimizer, params0, grad_steps, *rest):
    try:
        digest = hashlib.sha256(pickle.dumps((type(optimizer), optimizer, rest), protocol=5))
    except Exception:       # (a lambda in a schedule, say): not kept
        return None
    for arrays in (params0, *grad_steps):
        digest.update(b"|")
        for a in arrays:      # (its own shape: ascontiguousarray would make a 0-d one (1,))
            a = np.asarray(a, dtype=np.float64)
            digest.update(repr(a.shape).encode() + a.tobytes())
    return digest.digest()


def _run_keras(optimizer, params0, grad_steps, steps_per_epoch, weight_decay, coupled):
    packed = Packed(params0)
    twin = keras_twin(optimizer, steps_per_epoch=steps_per_epoch)
    if weight_decay and not coupled:
        twin.decouple(weight_decay)
    how = twin.description + (f", on gradients g + {weight_decay:g} * params (weight decay as "
                              f"L2 in the gradient)" if weight_decay and coupled else "")
    trajectory = []
    params = packed.params()
    for grads in grad_steps:
        if weight_decay and coupled:
            grads = [np.asarray(g, np.float64) + weight_decay * p for g, p in zip(grads, params)]
        twin.prepare()
        packed.apply(twin.keras, grads)
        params = packed.params()
        trajectory.append(params)
    return trajectory, how


# -- learning-rate schedules: Keras's classes, float64, stepping per epoch (staircase) --------

def keras_schedule(schedule, lr0, steps_per_epoch):
    """A function iterations -> learning rate (float64) computed by Keras's schedule twin."""
    builder = next((SCHEDULE_TWINS[c] for c in type(schedule).__mro__ if c in SCHEDULE_TWINS), None)
    if builder is None:
        raise NoKerasTwin(f"no Keras twin for the schedule {schedule!r}")
    keras_sched = builder(schedule, lr0, int(steps_per_epoch))
    by_epoch = {}   # every twin is a staircase schedule: one value per epoch, evaluated once

    def lr_at(iterations):
        epoch = iterations // int(steps_per_epoch)
        if epoch not in by_epoch:
            by_epoch[epoch] = np.float64(keras_sched(tf().constant(iterations, tf().int64)).numpy())
        return by_epoch[epoch]

    return lr_at


@twin_of(Constant, SCHEDULE_TWINS)
def _constant(schedule, lr0, steps_per_epoch):
    return lambda step: _f64(lr0)


@twin_of(HyperbolicDecay, SCHEDULE_TWINS)
def _hyperbolic(schedule, lr0, steps_per_epoch):
    return _keras().optimizers.schedules.InverseTimeDecay(
        _f64(lr0), steps_per_epoch, _f64(schedule.k), staircase=True)


@twin_of(StepDecay, SCHEDULE_TWINS)
def _step_decay(schedule, lr0, steps_per_epoch):
    return _keras().optimizers.schedules.ExponentialDecay(
        _f64(lr0), steps_per_epoch * schedule.every, _f64(schedule.drop), staircase=True)


@twin_of(ExponentialDecay, SCHEDULE_TWINS)
def _exponential(schedule, lr0, steps_per_epoch):
    return _keras().optimizers.schedules.ExponentialDecay(
        _f64(lr0), steps_per_epoch, _f64(schedule.rate), staircase=True)


@twin_of(PerEpoch, SCHEDULE_TWINS)
def _per_epoch(schedule, lr0, steps_per_epoch):
    rates = schedule.rates
    return _keras().optimizers.schedules.PiecewiseConstantDecay(
        [np.int64(e * steps_per_epoch) for e in range(len(rates) - 1)],
        [_f64(r) for r in rates]) if len(rates) > 1 else _constant(schedule, rates[0], 1)


# -- optimizers: each returns (keras optimizer, per_step(t, lr, prev_lr) -> {var: value}, how) --
# Constant hyperparameters are np.float64 (a float subclass: exact, and usable in Keras's Python
# checks such as ``if self.momentum != 0``); per-step ones are float64 variables from ``hp``.

@twin_of(SGD, OPTIMIZER_TWINS)
def _sgd(opt, hp):
    lr = hp("lr")
    return (_keras().optimizers.SGD(learning_rate=lambda: lr),
            lambda t, lr_t, prev: {"lr": lr_t}, "keras SGD")


@twin_of(Momentum, OPTIMIZER_TWINS)
def _momentum(opt, hp):
    lr, b = hp("lr"), np.float64(opt.beta)
    k = _keras().optimizers.SGD(learning_rate=lambda: lr, momentum=b)
    if b == 0:
        return k, lambda t, lr_t, prev: {"lr": lr_t}, "keras SGD (beta = 0: no velocity)"
    if opt.convention == "velocity":
        return k, lambda t, lr_t, prev: {"lr": lr_t}, "keras SGD(momentum=beta), convention 'velocity'"
    # ema: m_t = -lr_t v_t = (b lr_t / lr_(t-1)) m_(t-1) - lr_t (1 - b) g_t, and p += m_t.
    # At a constant learning rate the momentum is b at every step: a constant keeps the update
    # compilable (a per-step variable is read by ``if self.momentum != 0``: eager updates only).
    if isinstance(opt.schedule, Constant):
        return k, lambda t, lr_t, prev: {"lr": lr_t * (1 - b)}, \
            "keras SGD with lr (1 - beta) and momentum beta, convention 'ema' (Keras's velocity m is -lr v)"
    k.momentum = hp("momentum", b)
    return k, (lambda t, lr_t, prev: {"lr": lr_t * (1 - b),
                                      "momentum": b if prev is None else b * lr_t / prev}), \
        ("keras SGD with lr_t (1 - beta) and momentum beta lr_t / lr_(t-1), convention 'ema' "
         "(Keras's velocity m is -lr v)")


@twin_of(Nesterov, OPTIMIZER_TWINS)
def _nesterov(opt, hp):
    lr = hp("lr")
    k = _keras().optimizers.SGD(learning_rate=lambda: lr, momentum=np.float64(opt.beta), nesterov=True)
    return k, lambda t, lr_t, prev: {"lr": lr_t}, "keras SGD(momentum=beta, nesterov=True)"


@twin_of(RMSProp, OPTIMIZER_TWINS)
def _rmsprop(opt, hp):
    lr, rho = hp("lr"), np.float64(opt.rho)
    c2 = lambda t: 1 - rho ** t
    varying_eps = opt.bias_correction
    eps = hp("epsilon", opt.eps) if varying_eps else np.float64(opt.eps)
    if opt.eps_inside_sqrt:
        k = _keras().optimizers.RMSprop(learning_rate=lambda: lr, rho=rho, epsilon=eps)
        if not opt.bias_correction:
            return k, lambda t, lr_t, prev: {"lr": lr_t}, "keras RMSprop (eps inside the root)"
        # lr g / sqrt(s / c2 + eps) = lr sqrt(c2) g / sqrt(s + eps c2)
        return k, (lambda t, lr_t, prev: {"lr": lr_t * math.sqrt(c2(t)), "epsilon": opt.eps * c2(t)}), \
            "keras RMSprop with lr_t sqrt(1 - rho^t) and epsilon eps (1 - rho^t) (bias-corrected)"
    # Keras Adam with beta_1 = 0 steps by lr sqrt(c2) g / (sqrt(s) + eps).
    k = _keras().optimizers.Adam(learning_rate=lambda: lr, beta_1=np.float64(0.0), beta_2=rho,
                                 epsilon=eps)
    if not opt.bias_correction:
        return k, lambda t, lr_t, prev: {"lr": lr_t / math.sqrt(c2(t))}, \
            "keras Adam(beta_1=0, beta_2=rho) with lr_t / sqrt(1 - rho^t) (eps outside the root)"
    # lr g / (sqrt(s / c2) + eps) = lr sqrt(c2) g / (sqrt(s) + eps sqrt(c2))
    return k, (lambda t, lr_t, prev: {"lr": lr_t, "epsilon": opt.eps * math.sqrt(c2(t))}), \
        "keras Adam(beta_1=0, beta_2=rho) with epsilon eps sqrt(1 - rho^t) (eps outside, bias-corrected)"


@twin_of(Adam, OPTIMIZER_TWINS)
def _adam(opt, hp):
    lr, b1, b2 = hp("lr"), np.float64(opt.beta1), np.float64(opt.beta2)
    varying_eps = opt.bias_correction and opt.epsilon_on == "v_hat"
    eps = hp("epsilon", opt.eps) if varying_eps else np.float64(opt.eps)
    k = _keras().optimizers.Adam(learning_rate=lambda: lr, beta_1=b1, beta_2=b2, epsilon=eps)
    c1, c2 = (lambda t: 1 - b1 ** t), (lambda t: 1 - b2 ** t)
    if not opt.bias_correction:
        # Keras steps by lr sqrt(c2) / c1 m / (sqrt(v) + eps); undo the correction in lr.
        return k, lambda t, lr_t, prev: {"lr": lr_t * c1(t) / math.sqrt(c2(t))}, \
            "keras Adam with lr_t (1 - beta1^t) / sqrt(1 - beta2^t) (no bias correction)"
    if opt.epsilon_on == "v":
        return k, lambda t, lr_t, prev: {"lr": lr_t}, "keras Adam (epsilon hat, added to sqrt(v))"
    # lr m_hat / (sqrt(v_hat) + eps) = lr sqrt(c2) / c1 m / (sqrt(v) + eps sqrt(c2))
    return k, (lambda t, lr_t, prev: {"lr": lr_t, "epsilon": opt.eps * math.sqrt(c2(t))}), \
        "keras Adam with epsilon eps sqrt(1 - beta2^t) (epsilon added to sqrt(v_hat))"


@twin_of(AdaGrad, OPTIMIZER_TWINS)
def _adagrad(opt, hp):
    lr = hp("lr")
    k = _keras().optimizers.Adagrad(learning_rate=lambda: lr, epsilon=np.float64(opt.eps))
    k.initial_accumulator_value = np.float64(opt.initial_accumulator)  # a float would be rounded
    return k, lambda t, lr_t, prev: {"lr": lr_t}, \
        f"keras Adagrad(initial_accumulator_value={opt.initial_accumulator!r})"
