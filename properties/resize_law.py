"""The batch_resize law: a second forward and backward at another batch size give that batch's
gradients (TF's, or a fresh layer's given what a training forward reads: running statistics)."""
from dataclasses import replace

import copy

from oracle.result import join_notes
from properties.declare import prop
from properties.global_rng import generator_states, rewind
from properties.laws import _flat, broken
from properties.no_derivative import finite_part, same_nonfinite
from properties.strategies import batch_sizes


@prop("batch_resize", extra={"batch2": batch_sizes()})
def batch_resize(trial):
    """A second forward/backward with another batch size gives that batch's TF gradients."""
    b2 = max(trial.case.extra["batch2"], trial.case.entry.min_batch)   # a size it takes
    b2 += b2 == trial.case.batch    # the second batch size always differs: say which it was
    if b2 != trial.case.extra["batch2"]:
        trial.case = replace(trial.case, extra={**trial.case.extra, "batch2": b2})
    case, b2 = trial.case, trial.case.extra["batch2"]
    generators = generator_states(trial.layer)
    trial.run()
    # the statistics a training forward reads (a batch renorm's): a fresh layer is given them
    kept = {n: copy.deepcopy(getattr(trial.layer, n)) for n in case.entry.running_stats
            if getattr(trial.layer, n, None) is not None}
    x2, t2 = case.inputs(batch=b2, stream="inputs2"), case.targets(batch=b2)
    # a generator the layer holds starts again as a fresh layer's does: another mask on each
    # call is what dropout does, not state kept from the first call
    rewind(generators)
    _, dout2, dins2, grads2 = trial.run("dout2", inputs=x2, targets=t2)
    tape = trial.tf_vjp(dout2, x2, t2)
    note = f"batch {case.batch} then {b2}"
    if tape.unavailable:
        _, _, want_in, want_p = trial.run("dout2", layer=_fresh(case, kept), inputs=x2, targets=t2)
        wants, oracle, note = _flat(want_in, want_p), "law", note + " TF unavailable: compared with a fresh layer"
    else:
        wants, oracle = trial.tape_grads(tape), "tf"
    results = []
    for (name, got), want in zip(trial.grad_pairs(dins2, grads2), wants):
        same = same_nonfinite(got, want) if oracle == "law" else None
        results.append(trial.compare(name, got, want, oracle, note=note, excused=same, **(
            broken("batch_resize", *finite_part([got, want], same)) if oracle == "law" else {})))
    if oracle == "tf" and not all(r.passed for r in results):
        results = _resizing_or_not(trial, results, x2, t2, dins2, grads2)
    return results


def _fresh(case, kept):
    """A fresh layer of ``case`` given the statistics ``kept`` ({name: value}) the first call left."""
    fresh = case.build()
    for n, value in kept.items():
        held = fresh.__dict__.get("options")      # (a functional pair's bn_param)
        if isinstance(held, dict):
            held[n] = copy.deepcopy(value)
        else:
            setattr(fresh, n, copy.deepcopy(value))
    return fresh


def _resizing_or_not(trial, results, x2, t2, dins2, grads2):
    """A difference from TF that a fresh layer at the second batch size shows too is not
    about resizing (grads_tf and forward_tf judge it, with their verdicts): passed, and said.
    One the fresh layer does not show is the resizing's: it stays a failure."""
    _, _, f_in, f_p = trial.run("dout2", layer=trial.case.build(), inputs=x2, targets=t2)
    got = dict(trial.grad_pairs(dins2, grads2))
    fresh = dict(zip(got, _flat(f_in, f_p)))
    out = []
    for r in results:
        if not r.passed:
            alike = trial.compare(r.tensor, got[r.tensor], fresh[r.tensor], "law",
                                  **broken("batch_resize", got[r.tensor], fresh[r.tensor]),
                                  note=join_notes(
                r.note, "compared with a fresh layer run at this batch size, because TF's "
                        "gradient differs from both alike: that difference is not a matter of "
                        "resizing (grads_tf judges it, with its verdict)"))
            r = alike if alike.passed else replace(r, **broken(
                "batch_resize", got[r.tensor], fresh[r.tensor]))
        out.append(r)
    return out
