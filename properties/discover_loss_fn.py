"""A functional loss, ``loss, dx = fn(x, *targets)`` (``softmax_loss(x, y)``), or with several
gradients after the loss (``loss, dq, dk = info_nce(query, keys)``), as a protocol loss
(``layers.functional.FunctionalLoss``) found by ``properties.discover_functions``."""
import functools
import inspect

import numpy as np

from layers.functional import FunctionalLoss
from properties.user_entry import CannotCheck, hinted_spec, layer_entry
from properties.user_hinted import hinted_floats
from properties.user_shapes import PROBES, infer_input_shapes
from properties.user_targets import _positional as _required
from properties.user_targets import is_target_name, returned_gradients
from properties.user_variants import changed_floats


def functional_loss(name, fn, label, path, targets, hint, changed=None):
    """``loss, dx = fn(x, *targets)``; also at its float options defaulting to 1.0 or 0.0
    changed (``huber_loss(pred, target, delta=1.0)`` at delta 0.7: a backward leaving delta
    out is right at 1), unless ``changed`` (the options of this variant) is given."""
    from properties.user_cost_grad import flattened
    call = flattened(fn)
    call = functools.partial(call, **changed) if changed else call
    # several gradients after the loss (``loss, dq, dk = info_nce(query, keys)``, or ``loss,
    # (dq, dk)``): as many inputs, the arguments after them targets
    k = returned_gradients(fn, nested=True) - 1
    every = (_required(fn)[0], *targets)
    inputs = every[:k] if 1 < k <= len(every) and not any(
        is_target_name(a) and not hinted_floats(hint, a) for a in every[:k]) else every[:1]
    labels = every[len(inputs):]

    def adapt(obj_unused, probe_unused):       # (one input: named x, as it always was)
        return FunctionalLoss(call, name=name, targets=labels, arg_names=inputs,
                              inputs=inputs if len(inputs) > 1 else ("x",)), "functional"

    layer = adapt(None, None)[0]
    spec = hinted_spec(hint, every, targets=labels, label=name) or \
        infer_input_shapes(layer, name=name, doc=inspect.getdoc(fn) or "", kind="loss",
                           rng=np.random.default_rng(0))
    if spec is None:
        why = PROBES.why()
        grads = ", ".join(f"d{x}" for x in inputs)
        raise CannotCheck(
            f"{name}: could not call it as loss, {grads} = {name}({', '.join(every)})" +
            (f" ({why})" if why else "") + f"; add a hint with their shapes: # gradcheck: "
            f"{name}; " + "; ".join([*(f"{x}=(N, ...)" for x in inputs),
                                    *(f"{t}=int(N)<K" for t in labels)]))
    found = layer_entry(label, path, "functional", name, lambda: None, adapt, layer, spec, False)
    options = {} if changed is not None else changed_floats(fn)
    if options:
        shown = ", ".join(f"{k}={v}" for k, v in options.items())
        try:
            found.also.append(functional_loss(name, fn, f"{label}({shown})", path, targets,
                                               hint, options))
        except CannotCheck:
            pass            # checked at its defaults all the same
    return found
