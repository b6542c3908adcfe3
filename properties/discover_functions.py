"""Functional pairs and losses, cs231n style: ``X_forward``/``X_backward`` and ``X_loss``.

``out, cache = X_forward(x, *params[, X_param])`` with ``X_backward(dout, cache) ->
(dx, *dparams)`` becomes a ``layers.FunctionalLayer``; ``loss, dx = X_loss(x, y)``
a ``layers.FunctionalLoss``. Parameter shapes start from placeholders chosen by
name (a conv's ``w`` is 4-D) and the input shape is then inferred; the options
dict gets values that exercise its hyperparameters (a conv with stride 2 and
padding 1, where backward bugs hide).

Sequence pairs (cs231n assignment 3) take several inputs before their params
and may return several outputs: ``next_h, next_c, cache = lstm_step_forward(x,
prev_h, prev_c, Wx, Wh, b)`` with ``lstm_step_backward(dnext_h, dnext_c, cache)
-> (dx, dprev_h, dprev_c, dWx, dWh, db)``. The inputs are the first argument
and those after it named like data (``properties.user_targets``: states,
indices, labels, masks); the rest are params. Recurrent weights get
placeholders of the shapes (D, G*H), (H, G*H), (G*H,) (``properties.user_recurrent``);
the outputs are counted from the upstream gradients the backward takes; a
``word_embedding_forward(x, W)`` whose x must be integers is found by probing.
A hint (``properties.user_hints``) names the function: ``# gradcheck:
rnn_forward; x=(N, 3, 4); h0=(N, 5)``; a param's shape there, ``W=(10, 4)``.
"""
import inspect
import numbers
import re
from dataclasses import replace

import numpy as np

from layers.functional import FunctionalLayer
from properties.user_entry import (CannotCheck, NothingToCheck, also_label, also_specs,
                                   hinted_spec, layer_entry)
from properties.functional_shapes import (completions, from_channels, from_widths,
                                           hinted_inputs, hinted_shape, hinted_widths,
                                           param_choices)
from properties.discover_loss_fn import functional_loss
from properties.user_hinted import COUNT_NAMES, example, hinted_floats
from properties.user_shapes import PROBES, infer_input_shapes, runs
from properties.user_targets import _positional as _required
from properties.user_doc_shapes import documented_batched
from properties.user_targets import (constant_mask, data_roles, is_mask_name, is_state_name,
                                     is_target_name, returned_gradients, split_arguments)
from properties.user_variants import (HALF_CHANGED, at_changed, changed_floats, default_options,
                                      flipped_bools)


# A pair's forward and backward words: ``affine_forward`` / ``affine_backward``, ``tanh_fwd`` /
# ``tanh_bwd``, ``relu_fprop`` / ``relu_bprop`` (cs231n's ``conv_forward_naive``: in the middle).
PAIR_WORDS = (("_forward", "_backward"), ("_fwd", "_bwd"), ("_fprop", "_bprop"))


def pair_words(name):
    """(forward word, backward word) when ``name`` is a pair's forward, else None (module
    functions named ``forward`` and ``backward`` alone: a pair too)."""
    if name in ("forward", "fwd", "fprop"):
        return name, {"forward": "backward", "fwd": "bwd", "fprop": "bprop"}[name]
    for fwd, bwd in PAIR_WORDS:
        if (name.endswith(fwd) or f"{fwd}_" in name) and bwd not in name:
            return fwd, bwd       # (not vae_forward_backward: both passes in one, a cost's form)
    return None


def pair_base(name):
    """The pair's name without its forward word (``affine`` for ``affine_forward``), or ``name``."""
    words = pair_words(name)
    return name.replace(words[0], "") or name if words else name


def function_item(name, fn, names, label, path, used, hints=None):
    """A Found for ``fn`` (a forward with its backward beside it, or a loss), or None."""
    hints = hints or {}
    from properties.user_params_network import is_params_forward, params_network_item
    from properties.user_named_passes import named_passes_item, propagate_item
    if is_params_forward(name, fn, names):      # deeplearning.ai's L_model_forward(X, parameters)
        return params_network_item(name, fn, names, label, path, used)
    item = named_passes_item(name, fn, names, label, path, used) or \
        propagate_item(name, fn, label, path)    # its backward_propagation(...), propagate(...)
    if item is not None:
        return item
    if pair_words(name) is None and inspect.isfunction(names.get(name + "_backward")):
        # deeplearning.ai's relu(Z) -> (A, cache) beside relu_backward(dA, cache) -> dZ
        used.add(name + "_backward")
        return functional_item(name, fn, names[name + "_backward"], label, path, hints.get(name),
                               names)
    words = pair_words(name)
    if words:
        back = name.replace(*words)
        # other backwards of one forward (cs231n's batchnorm_backward_alt): each checked too
        variants = sorted(n for n in names if n.startswith(back + "_") and n not in used
                          and inspect.isfunction(names[n]) and pair_words(n) is None)
        if back not in names and variants:
            back, variants = variants[0], variants[1:]
        if back not in names:
            raise NothingToCheck(f"{name} has no {back} beside it: there is no gradient to check")
        used.update([back, *variants])
        base = pair_base(name)
        from properties.user_policy_gradient import is_policy_pair, policy_item
        if is_policy_pair(name, names[back]):       # Karpathy's policy_backward(eph, epdlogp)
            return policy_item(name, fn, names[back], label.removesuffix(name) + base, path, names)
        _takes_a_cache(names[back], back)
        hint = hints.get(name) or hints.get(base)
        item = functional_item(name, fn, names[back], label.removesuffix(name) +
                               (base if back == name.replace(*words) else back), path, hint, names)
        for other in variants:
            _takes_a_cache(names[other], other)
            item.also.append(functional_item(name, fn, names[other],
                                             label.removesuffix(name) + other, path, hint, names))
        return item
    from properties.discover_objects import config_rule, optimizer_item
    rule = config_rule(name, fn)     # adam(w, dw, config=None) -> (next_w, config)
    if rule is not None:
        return optimizer_item(rule, label, path, None, None)
    from properties.user_state_rules import is_state_rule, state_rule_item
    if is_state_rule(name, fn):     # update_parameters_with_adam(parameters, grads, v, s, t)
        return state_rule_item(name, fn, names, label, path)
    from properties.user_derivatives import derivative_item, derivative_partner
    partner = derivative_partner(name, names)     # sigmoid / sigmoid_prime, mse / mse_grad
    if partner is not None:
        used.add(partner)
        item = derivative_item(name, fn, partner, names[partner], label, path)
        if item is not None:
            return item
    from properties.user_module_loss import module_loss_item
    item = module_loss_item(name, fn, label, path)      # min-char-rnn's lossFun
    if item is not None:
        return item
    required = _required(fn)
    from properties.user_cost_grad import cost_grad_item
    if "loss" in name and len(required) >= 2 and (
            len(required) == 2 or all(is_target_name(n) for n in required[1:])):
        try:
            return functional_loss(name, fn, label, path, required[1:], hints.get(name))
        except CannotCheck as exc:    # no (x, y) fit: a cost of a parameter vector, theta = [a, K]?
            found = None if hints.get(name) is not None else _or_none(
                lambda: cost_grad_item(name, fn, names, label, path, used, None))
            if found is None:
                raise exc from None
            return found
    return cost_grad_item(name, fn, names, label, path, used, hints.get(name))  # (J, grad)


UPSTREAM = re.compile(r"^(d|grad|delta|g$|err|upstream|dy|dz|dout|dl)", re.I)


def _takes_a_cache(bwd, name):
    """A pair's backward takes the upstream gradient first (``dout``, ``dA``, ``grad_out``):
    one that does not (Karpathy's ``policy_backward(eph, epdlogp)``, reading a global) is no
    (out, cache) / (dout, cache) pair, and driving it as one failed a right file."""
    args = _required(bwd)
    if len(args) < 2 or not UPSTREAM.match(args[0]):
        raise CannotCheck(f"{name}{inspect.signature(bwd)} does not take an upstream gradient "
                          f"and what its forward kept: it is not a forward(x) -> (out, cache), "
                          f"backward(dout, cache) pair, the form checked; not checked")


def _outputs(bwd):
    """One name per upstream gradient ``bwd`` takes before the cache: ("next_h", "next_c"), or ("out",)."""
    args = _required(bwd)[:-1]
    if len(args) < 2:
        return ("out",)
    return tuple(a[1:] if a.startswith("d") and len(a) > 1 else a for a in args)


def _arguments(fwd):
    """The forward's arguments the harness passes: all but those with a number, string or bool
    default (``beta=1.0``, ``mode="train"``), hyperparameters left at their default, never
    drawn as learnable arrays (``b=None``, an optional bias, is still passed)."""
    return [p.name for p in inspect.signature(fwd).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            and not isinstance(p.default, (numbers.Number, str))]


def functional_item(name, fwd, bwd, label, path, hint, names=None):
    """The Found of the pair ``fwd`` / ``bwd`` (and of its other options), named ``name``;
    ``names``: the module's (where an initializer of a params dict may be)."""
    args = _arguments(fwd)
    from properties.user_dict_params import DICT_NAMES, dict_argument, dict_params_item, initializer
    held = dict_argument(args) if hint is None else None
    if held is not None and (held.lower() in DICT_NAMES[:4] or
                             initializer(pair_base(name), names or {}) is not None):
        return dict_params_item(name, fwd, bwd, pair_base(name), label, path, names or {},
                                args, held)       # ffn_forward(x, params), init_ffn(...)
    options = args.pop() if len(args) > 1 and args[-1].endswith("_param") else None
    base = pair_base(name)
    given = _hinted_options(hint, fwd) if options is not None else None
    chosen = None if options is None else given or default_options(base, options)
    item = _functional_at(name, fwd, bwd, label, path, hint, args, chosen)
    if options is None and hint is None:
        _float_variant(item, name, fwd, bwd, label, path, args)
    if options is None or given is not None:
        return item
    also = []
    if "pool" in base:
        # windows that overlap (stride 1 < a 2-wide window): a backward assigning with = where
        # += belongs is right on the default's disjoint windows
        also.append(("(stride=1)", {**chosen, "stride": 1}))
        if _reads_key(fwd, "pad"):        # (a padded pool's pool_param.get('pad', 0))
            also.append(("(pad=1)", {**chosen, "pad": 1}))
    elif "conv" in base:
        # no padding: a crop written dx_pad[:, :, pad:-pad, pad:-pad] is right at pad 1 and
        # leaves nothing at pad 0 (where it reads a pad, or reads its dict in a helper)
        if _reads_key(fwd, "pad") or not _reads_any(fwd, options):
            also.append(("(pad=0)", {**chosen, "pad": 0}))
        if _reads_key(fwd, "dilation"):   # conv_param.get('dilation', 1): right at 1 whatever
            also.append(("(dilation=2)", {**chosen, "dilation": 2}))
    elif "dropout" in base:
        # at p = 0.5 the keep and the drop probability are one number: a backward scaling by
        # 1/(1 - p) where its forward keeps with probability p is right only there
        also.append((f"(p={HALF_CHANGED})", {**chosen, "p": HALF_CHANGED}))
    for suffix, other in also:
        try:
            item.also.append(_functional_at(name, fwd, bwd, label + suffix, path, hint, args,
                                            other))
        except CannotCheck:
            pass             # the pair is checked at its default options all the same
    return item


def _reads_key(fn, key):
    """Whether ``fn``'s source reads ``key`` from a dict (``conv_param['dilation']``, ``.get(
    'dilation', 1)``): an option its default dict leaves out, to be checked set too."""
    try:
        source = inspect.getsource(fn)
    except (OSError, TypeError):
        return False
    return bool(re.search(r"""[\[(]\s*['"]%s['"]""" % re.escape(key), source))


def _reads_any(fn, held):
    """Whether ``fn``'s own source reads some key of its dict argument ``held``
    (``conv_param['stride']``, ``conv_param.get('dilation', 1)``), rather than handing the dict
    to a helper."""
    try:
        source = inspect.getsource(fn)
    except (OSError, TypeError):
        return False
    return bool(re.search(r"%s\s*(\[|\.get\()" % re.escape(held), source))


def _or_none(make):
    try:
        return make()
    except CannotCheck:
        return None


def _float_variant(item, name, fwd, bwd, label, path, args):
    """``item`` also at the forward's float options defaulting to 1.0 or 0.0 changed (a
    Gumbel-softmax's tau=1.0 at 0.7: a backward leaving 1/tau out is right at 1)."""
    changed = changed_floats(fwd)
    for options in ([changed] if changed else []) + [{k: v} for k, v in flipped_bools(fwd).items()]:
        shown = ", ".join(f"{k}={v}" for k, v in options.items())
        variant = _or_none(lambda: _functional_at(name, at_changed(fwd, options), bwd,
                                                  f"{label}({shown})", path, None, args, None))
        item.also += [variant] if variant else []   # (else checked at its defaults all the same)


def _hinted_options(hint, fwd):
    """The options dict a hint's ``args=({...},)`` gives a functional pair, or None."""
    if hint is None or not hint.args:
        return None
    try:
        given = eval(hint.args, getattr(fwd, "__globals__", {}))   # the user's own expression
    except Exception as exc:
        raise CannotCheck(f"the hint on line {hint.line}: args={hint.args} raised "
                          f"{type(exc).__name__}: {exc}") from exc
    if not (isinstance(given, tuple) and len(given) == 1 and isinstance(given[0], dict)):
        raise CannotCheck(f"the hint on line {hint.line}: a functional pair's args= gives its "
                          f"options dict, as in args=({{'stride': 1, 'pad': 0}},)")
    return dict(given[0])


def _functional_at(name, fwd, bwd, label, path, hint, args, chosen):
    """The Found of one functional pair whose options dict is ``chosen`` (None: it takes none)."""
    data, params = split_arguments(list(args))
    # params the hint gives a batch axis or integers are data (a spatial transformer's theta
    # (N, 2, 3), an unpooling's switches), when they come first: passed in the forward's order
    batched = documented_batched(fwd) if hint is None else set()    # (mu, logvar, eps: (N, K))
    per_sample = [p for p in params if p in batched or hint is not None and hint.array(p) is not None
                  and ("N" in hint.array(p).shape or hint.array(p).kind in ("int", "mask"))]
    if per_sample and params[:len(per_sample)] == per_sample:
        data, params = data + per_sample, params[len(per_sample):]
    # a count (a group norm's G, num_groups) is a number, 2, as a hint would give it
    counts = {p: 2 for p in params if p in COUNT_NAMES and (hint is None or hint.array(p) is None)}
    constants = [p for p in params if p in counts or hint is not None and
                 hint.array(p) is not None and hint.array(p).kind == "value"]
    if constants and params[-len(constants):] != constants and hint is None:
        counts, constants = {}, []      # (not last: taken for arrays, as before)
    if constants and params[-len(constants):] != constants:
        raise CannotCheck(f"the hint on line {hint.line} gives {', '.join(constants)} as numbers; "
                          f"{name}'s arrays must come before them (numbers are passed after "
                          f"the params)")
    params = [p for p in params if p not in constants]
    fixed = tuple(counts[p] if p in counts else hint.array(p).value for p in constants)
    inputs, targets = data_roles(data) if len(data) > 1 else (tuple(data), ())
    # a hint's float y=(N, 3) that the backward returns a gradient of (dx, dy = cdist_backward)
    floats = tuple(t for t in targets if hinted_floats(hint, t))
    if floats and targets[:len(floats)] == floats and data[:len(inputs) + len(floats)] == [
            *inputs, *floats] and returned_gradients(bwd) == len(inputs) + len(floats) + len(params):
        inputs, targets = (*inputs, *floats), targets[len(floats):]
    # inputs alone, backward returning gradients of the first k (a reparameterisation's
    # (dmu, dlogvar) beside its noise eps): the rest is data it is given
    k = returned_gradients(bwd)
    if not params and not targets and 0 < k < len(inputs):
        inputs, targets = inputs[:k], inputs[k:]
    # a mask among the last params that backward returns no gradient of (MADE's
    # masked_dense_forward(x, W, b, mask)): a constant 0/1 array of the shape guessed for it
    masks = [p for p in params if is_mask_name(p)]
    if not (masks and params[-len(masks):] == masks and
            returned_gradients(bwd) == len(data) - len(targets) + len(params) - len(masks)):
        masks = []
    ints = [d for d in inputs if d in per_sample and hint is not None and hint.array(d) is not None
            and hint.array(d).kind in ("int", "mask")]
    if ints and inputs[-len(ints):] == tuple(ints) and not targets:     # not differentiated
        inputs, targets = inputs[:-len(ints)], tuple(ints)
    base = pair_base(name)
    outputs = _outputs(bwd)
    stateful = any(is_state_name(d) for d in data[1:])
    doc = inspect.getdoc(fwd) or ""
    choices, documented = param_choices(params, base, stateful, counts, doc)
    fallback = first = None
    hinted = {p: hinted_shape(hint, p, None, name) for p in params}
    left = [p for p in params if hinted[p] is None]
    widths = hinted_widths(hint, data)
    # the hint gives some params, or the inputs alone: the rest is a guess, which must run
    guessing = bool(left) and (len(left) < len(params) or bool(widths))
    options = [shapes for guessed in choices for shapes in
               [*completions(hinted, guessed), *from_widths(hinted, widths),
                *from_channels(hinted, hinted_inputs(hint, data))]]
    # a guess whose gradients come out in its params' shapes first: one that merely runs may be
    # broadcast (a gamma (W,) over (N, C, H, W) where the layer's own is (1, C, 1, 1))
    for strict in ((True, False) if guessing else (False,)):
        for shapes in options:

            def adapt(obj_unused, probe_unused, shapes=shapes):
                arrays = {p: np.random.default_rng(0).standard_normal(shapes[p]) for p in params
                          if p not in masks}
                held = tuple(constant_mask(shapes[m]) for m in masks)
                return FunctionalLayer(fwd, bwd, arrays, None if chosen is None else dict(chosen),
                                       name=base, inputs=inputs, targets=targets,
                                       outputs=outputs, constants=(*held, *fixed)), "functional"

            layer = adapt(None, None)[0]
            spec = hinted_spec(hint, data, targets=targets, params=dict(layer.params),
                               label=name, takes=(*params, *constants))
            # a guess for what the hint left out must run; shapes all given by the hint are
            # used as given (a crash there is the layer's, and is reported as one)
            if guessing and spec is not None and \
                    not runs(layer, spec, np.random.default_rng(0), False, strict):
                continue
            if guessing and spec is not None:
                said = ", ".join(f"{p} {shapes[p]}" for p in left)
                spec = replace(spec, how=f"{spec.how}; guessed: {said} (forward and backward "
                                         f"run{' with gradients of these shapes' if strict else ''})")
            spec = spec or infer_input_shapes(layer, name=name, doc=doc,
                                              rng=np.random.default_rng(0))
            if hint is None and len(options) > 1 and (spec is None or not runs(
                    layer, spec, np.random.default_rng(0), False, True)):
                # no gradient in its tensor's shape here: the next placeholders, else the
                # first that ran on a batch (a wrong shape is then the layer's to answer for:
                # one sample alone hides a gradient left unsummed over the batch)
                # (the first placeholders' own spec stands as before: on the others, only one
                # on which forward and backward run: a 1-D guess for a (n, m) weight that only
                # the forward takes is no shape of the layer's)
                first = first or (shapes, spec)
                if spec is not None and (fallback is None or spec.batched > fallback[1].batched) \
                        and runs(layer, spec, np.random.default_rng(0), False, False):
                    fallback = (shapes, spec)
                if shapes is not options[-1]:
                    continue
                shapes, spec = fallback or first
                if spec is None:
                    continue
                layer = adapt(None, None, shapes)[0]
            if spec is not None:
                if documented and shapes == documented and not any(hinted.values()):
                    spec = replace(spec, how=f"{spec.how}; " + ", ".join(
                        f"{p} {shapes[p]}" for p in params) + " from the docstring")
                found = layer_entry(label, path, "functional", base, lambda: None, adapt, layer,
                                    spec, False)
                # (an affine_forward flattening (N, d1, ..., dk): also on (N, D, 1, 1), where a
                # dx not given x's shape back fails; shapes a hint gives are the user's)
                found.also = [] if hint is not None else [layer_entry(
                    also_label(label, s), path, "functional", base, lambda: None, adapt, layer,
                    s, False) for s in also_specs(layer, spec)]
                return found
    if guessing:
        raise CannotCheck(f"{name}: with the shapes the hint on line {hint.line} gives, and any "
                          f"guess for {', '.join(left)}, forward and backward do not "
                          f"run; give every parameter's shape in the hint, as in "
                          f"{example(data, params)}")
    why = PROBES.why() or "no input shape made forward and backward run"
    raise CannotCheck(f"{name}: {why}; add a hint with every input's and parameter's shape: "
                      f"# gradcheck: {name}; {example(data, params)}")
