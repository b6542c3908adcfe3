"""The running-statistics property of normalisation layers, against tf.keras's moving statistics.

A batch norm whose running variance is updated wrongly passes every gradient
property (training-mode gradients never read it) and is wrong at inference.
Here the layer is run forward in training mode on k batches; its running mean
and variance must then match those of a ``tf.keras.layers.BatchNormalization``
trained on the same batches from the same starting statistics, and its
inference-mode output on one more batch must match its TF twin's in inference
mode (which reads the layer's running statistics: a wrong update is reported
once, on the statistics, and a wrong use of right ones on the output). A layer that
follows another convention consistently (PyTorch's momentum, the unbiased
variance) gets the verdict "convention", not "layer bug": a failing one, except
PyTorch's whole convention (both), which is torch.nn.BatchNorm's and a warning.
"""
from dataclasses import replace

import numpy as np
from hypothesis import strategies as st

from oracle.moving_stats import conventions, keras_moving_stats
from properties import contract as C
from properties.declare import prop

MISMATCH = ("after {k} training forward(s) the layer's running statistics are not tf.keras's "
            "moving statistics (momentum {m}, biased batch variance), nor those of any other "
            "convention in use: the update is wrong")


PYTORCH = "(PyTorch's convention)"
TORCH_WARNING = (". A warning, not a failure: that is torch.nn.BatchNorm's update, and its "
                 "momentum (0.1 by default) is the weight of the new batch, where Keras's (0.99) "
                 "is the weight of the old statistics; a network mixing the two conventions "
                 "evaluates differently")


def _applies(entry):
    return "" if entry.running_stats else "the entry declares no running statistics"


def _momentum(layer):
    if not hasattr(layer, "momentum"):
        raise ValueError(f"{type(layer).__name__} has no attribute 'momentum': the running-"
                         "statistics property needs it to build tf.keras's batch norm")
    return float(layer.momentum)


@prop("running_stats", backward=False, applies=_applies, min_batch=2, specialised=True,
      extra={"updates": st.integers(1, 3)})
def running_stats(trial):
    """After k training forwards, running statistics match tf.keras's; inference output matches too."""
    case, layer = trial.case, trial.layer
    mean_name, var_name = case.entry.running_stats
    layer.training = True
    if any(getattr(layer, n, None) is None for n in (mean_name, var_name)):
        # created by the first training forward (deep-learning-from-scratch's BatchNormalization):
        # the statistics after it are where the comparison starts
        trial.forward(inputs=[case.inputs(batch=case.batch, stream="running-init")[0]])
    missing = [n for n in (mean_name, var_name) if getattr(layer, n, None) is None]
    if missing:
        raise C.LayerContractError(case.layer, missing[0], "the layer has no running statistic "
                                   f"{missing[0]!r}, even after a training forward")
    mean0, var0 = (np.array(getattr(layer, n), np.float64) for n in (mean_name, var_name))
    momentum = _momentum(layer)
    k = case.extra["updates"]
    batches = [case.inputs(batch=case.batch, stream=f"running{i}")[0] for i in range(k)]
    eval_x = case.inputs(batch=case.batch, stream="running-eval")[0]
    for x in batches:
        trial.forward(inputs=[x])
    got = {n: np.array(getattr(layer, n), copy=True) for n in (mean_name, var_name)}
    keras_mean, keras_var = keras_moving_stats(batches, mean0=mean0, var0=var0, momentum=momentum)
    note = f"{k} training forward(s), momentum {momentum}."
    results = [trial.compare(n, got[n], want, "tf", note=note)
               for n, want in ((mean_name, keras_mean), (var_name, keras_var))]
    if not all(r.passed for r in results):
        verdict, explanation = _verdict(got[mean_name], got[var_name], batches, mean0, var0,
                                        momentum, trial, k)
        # PyTorch's whole convention is PyTorch's BatchNorm, right as written: a warning
        torch = verdict == "convention" and PYTORCH in explanation
        results = [r if r.passed else replace(r, verdict=verdict, explanation=explanation + (
            TORCH_WARNING if torch else ""), passed=torch, warning=torch) for r in results]
    layer.training = False
    out = trial.forward(inputs=[eval_x])
    if not case.entry.no_twin:
        results.append(trial.compare("out (inference)", out, trial.tf_forward([eval_x]), "tf",
                                     note=note, verdict="forward differs", explanation=(
                                         "after the training forwards, the layer's inference "
                                         "output is not its TF twin's with the same running "
                                         "statistics")))
    return results


def _verdict(mean, var, batches, mean0, var0, momentum, trial, k):
    """("convention", why) when the statistics follow another convention throughout, else
    ("layer bug", why)."""
    fits = [name for name, (m, v) in conventions(batches, mean0=mean0, var0=var0,
                                                  momentum=momentum).items()
            if all(trial.compare(n, got, want, "tf").passed
                   for n, got, want in (("mean", mean, m), ("var", var, v)))]
    # where several fit (a batch of equal values: its biased and unbiased variances are one
    # number), PyTorch's whole convention, right as written, is the one said
    name = next((f for f in fits if PYTORCH in f), fits[0] if fits else None)
    if name is not None:
        return "convention", f"the layer follows a known convention, not Keras's: {name}"
    return "layer bug", MISMATCH.format(k=k, m=momentum)
