"""deeplearning.ai's update rules: module functions on the course's ``parameters`` and
``grads`` dicts (``W1``, ``b1``... and ``dW1``, ``db1``...), the optimizer's state handed in
and out:

    parameters = update_parameters_with_gd(parameters, grads, learning_rate)
    parameters, v = update_parameters_with_momentum(parameters, grads, v, beta, learning_rate)
    parameters, v, s = update_parameters_with_adam(parameters, grads, v, s, t,
                                                   learning_rate=0.01, beta1=0.9, ...)

Each is driven as an optimizer class named after the function (its kind read off that name:
``_gd`` is SGD, and so is a plain ``update_parameters`` that keeps no state), stepping the params as W1, b1, W2, b2 (two weights of one shape: state kept
by shape mixes them), its state from the module's ``initialize_velocity(parameters)`` /
``initialize_adam(parameters)`` (the one whose name shares the rule's last word, momentum's
being velocity, else the only one), else zeros under the gradients' names; ``t`` counts the steps from 1, as the course's
``model()`` does. Required hyperparameters get the course's values (learning rate 0.01, beta
0.9, beta1 0.9, beta2 0.999, epsilon 1e-8); those with defaults keep them. The trajectory is
then checked against Keras as any optimizer's (``owncode_optimizers.check_dict_optimizer``).
"""
import inspect

import numpy as np

from properties.user_entry import CannotCheck, Found
from properties.user_targets import _positional

REQUIRED = {"learning_rate": 0.01, "lr": 0.01, "beta": 0.9, "beta1": 0.9, "beta2": 0.999,
            "epsilon": 1e-8}
STATE = ("v", "s")
SHAPES = ((3, 2), (3, 1), (3, 2), (3, 1))       # W1, b1, W2, b2
COURSE = ("W1", "b1", "W2", "b2")


def is_state_rule(name, fn):
    args = [a.lower() for a in _positional(fn)]
    return len(args) >= 2 and args[0] in ("parameters", "params") and args[1] == "grads" and \
        name.startswith("update_parameters")


class StateRule:
    """``update(params, grads)`` through the course's rule (module docstring)."""

    rule = init = None
    takes = ()

    def __init__(self):
        self.state, self.t = None, 0       # (state: {"v": ..., "s": ...} once made)

    def update(self, params, grads):
        names = list(params)
        course = dict(zip(names, COURSE))
        theirs = {course[n]: np.array(params[n], np.float64) for n in names}
        their_grads = {"d" + course[n]: np.array(grads[n], np.float64) for n in names}
        if self.state is None:
            self.state = self._first_state(theirs, their_grads)
        self.t += 1
        given = {"t": self.t, **{k: getattr(self, k) for k in REQUIRED if hasattr(self, k)}}
        args = [theirs, their_grads] + [self.state[n] if n in STATE else given[n]
                                        for n in self.takes]
        out = self.rule(*args)
        new = out[0] if isinstance(out, tuple) else out
        if isinstance(out, tuple):         # (parameters, then the state in the order taken)
            self.state.update(zip([n for n in self.takes if n in STATE], out[1:]))
        for n in names:
            params[n][...] = new[course[n]]

    def _first_state(self, theirs, their_grads):
        """{state name: its first value}, in the order the rule takes them (v, s)."""
        held = [n for n in self.takes if n in STATE]
        if held and self.init is not None:
            made = self.init(theirs)
            return dict(zip(held, made if isinstance(made, tuple) else (made,)))
        return {n: {k: np.zeros_like(g) for k, g in their_grads.items()} for n in held}


def state_rule_item(name, fn, names, label, path):
    from properties.owncode_optimizers import check_dict_optimizer, optimizer_kind, readable
    takes = [a for a in _positional(fn)[2:]]
    unknown = [a for a in takes if a not in STATE and a != "t" and a not in REQUIRED]
    if unknown:
        raise CannotCheck(f"{name}: cannot tell what to pass for {unknown}")
    hyper = {a: REQUIRED[a] for a in takes if a in REQUIRED}
    defaults = {p.name: p.default for p in inspect.signature(fn).parameters.values()
                if p.default is not p.empty and isinstance(p.default, (int, float))}
    init = _initializer(name, names) if any(a in STATE for a in takes) else None
    plain = not any(a in STATE for a in takes) and not any(
        w in name.lower() for w in ("adam", "momentum", "rms", "ada", "nesterov", "_gd"))
    cls = type(name + "_gd" if plain else name, (StateRule,), {   # update_parameters: plain GD
        "rule": staticmethod(fn), "takes": tuple(takes),
                                    "init": staticmethod(init) if init else None,
                                    **{k: float(v) for k, v in defaults.items()}, **hyper})
    try:
        kind = optimizer_kind(cls())
        readable(cls())
    except ValueError as exc:
        raise CannotCheck(str(exc)) from exc

    def make():
        return cls()
    state = "no state" if not any(a in STATE for a in takes) else \
        f"its state from {getattr(init, '__name__', 'zeros')}"
    return Found(label, path, "optimizer", (
        f"{kind} optimizer {name}({', '.join(['parameters', 'grads', *takes])}) on the course's "
        f"W1, b1, W2, b2, {state}, against tf.keras"),
        check=lambda: check_dict_optimizer(make, shapes=SHAPES, label=label))


def _initializer(name, names):
    """The module's state initializer for the rule ``name`` (module docstring), or None."""
    inits = {n: f for n, f in names.items() if inspect.isfunction(f) and n.startswith("initiali")
             and not ("param" in n) and len(_positional(f)) == 1}
    last = {"momentum": "velocity"}.get(name.rsplit("_", 1)[-1], name.rsplit("_", 1)[-1])
    return next((f for n, f in inits.items() if last in n), None) or \
        (next(iter(inits.values())) if len(inits) == 1 else None)
