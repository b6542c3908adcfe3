"""Laws of sequence layers, each applying to the entries that declare what it needs.

* ``bptt_cells``: an unrolled recurrent layer (``Entry.cell``) gives the same
  hidden states and the same gradients as its one-step cell run forward over
  the steps and backward through time, the cell's param gradients summed over
  the steps: backpropagation through time is the sum of the cells' gradients.
* ``one_step_cell``: the same over T = 1, where the unrolled layer is its cell.
* ``positions_additive``: a position-wise layer (an embedding, a temporal
  affine) has the gradients of its single positions summed; an embedding row
  used at k positions gets k contributions.
* ``masked_no_grad``: a masked position gets no gradient.
* ``causal``: with the upstream gradient zero after step t0, no input after
  t0 gets a gradient (an unrolled RNN, causal attention).

The layer under test is compared with itself (or its own cell) here: these are
identities it must satisfy, next to the TF and finite-difference oracles.
"""
from dataclasses import replace

import numpy as np

from properties import contract as C
from properties import outputs as O
from properties.declare import prop
from properties.laws import broken


def _has(field, what):
    return lambda entry: "" if getattr(entry, field) else f"the entry does not declare {what}"


def time_inputs(case):
    """Per input: does axis 1 run over the steps (it grows with the config's "T")?"""
    t = case.config.get("T")
    if t is None:
        return [False] * len(case.shapes())
    longer = case.entry.input_shapes({**case.config, "T": t + 1}, case.batch)
    return [len(a) > 1 and len(b) > 1 and a[1] != b[1] for a, b in zip(case.shapes(), longer)]


def _through_cells(trial, dout):
    """The entry's cell run step by step: (hidden states (N, T, H), [dx, d(given state)...],
    param grads summed over the steps). State the unrolled layer does not take (an LSTM's
    c0) starts at zero, shaped like the first given state."""
    name, layer = trial.case.layer, trial.layer
    x, given = trial.inputs[0], list(trial.inputs[1:])
    steps = x.shape[1]
    cells = [trial.case.entry.cell(layer) for _ in range(steps)]
    n_state = len(C.input_names(cells[0])) - 1
    state = given + [np.zeros_like(given[0]) for _ in range(n_state - len(given))]
    hs = []
    for s, cell in enumerate(cells):
        out = C.run_forward(name, cell, [x[:, s], *state], events=trial.events)
        state = O.parts(out)
        hs.append(state[0])
    dnext = [np.zeros_like(v) for v in state]
    dx = np.zeros_like(x)
    sums = {k: np.zeros(np.shape(v), np.float64) for k, v in layer.params.items()}
    for s in reversed(range(steps)):
        douts = [dout[:, s] + dnext[0], *dnext[1:]]
        d = tuple(douts) if len(douts) > 1 else douts[0]
        shapes = [x[:, s].shape, *[np.shape(v) for v in state]]
        dins, grads = C.run_backward(name, cells[s], d, trial.events, shapes=shapes)
        dx[:, s], dnext = dins[0], list(dins[1:])
        for k in sums:
            sums[k] += np.asarray(grads[k], np.float64)
    return np.stack(hs, axis=1), [dx, *dnext[:len(given)]], sums


def _vs_cells(trial, note):
    out, dout, dins, grads = trial.run()
    hs, dinputs, sums = _through_cells(trial, dout)
    results = [trial.compare("out", out, hs, "law", note=note, note_if_failed=(
        "The unrolled forward's hidden states are not its cell's, step after step."),
        **broken(trial.prop, *O.parts(out)))]
    wants = [*dinputs, *[sums[k] for k in grads]]
    results += [trial.compare(n, got, want, "law", note=note, note_if_failed=(
        "Backpropagation through time differs from the cell's backward summed over the steps."),
        **broken(trial.prop, got))
        for (n, got), want in zip(trial.grad_pairs(dins, grads), wants)]
    return results


@prop("bptt_cells", applies=_has("cell", "a one-step cell"), specialised=True)
def bptt_cells(trial):
    """Backpropagation through time equals the cell's forward and backward over the steps, summed."""
    return _vs_cells(trial, f"T={trial.case.config['T']} steps through the cell.")


def _with_config(trial, **config):
    """The trial redone on the case with ``config`` changed (and its inputs redrawn to fit)."""
    trial.case = replace(trial.case, config={**trial.case.config, **config}, values=None)
    return trial.setup()


@prop("one_step_cell", applies=_has("cell", "a one-step cell"), specialised=True)
def one_step_cell(trial):
    """An unrolled layer over T = 1 equals its cell."""
    return _vs_cells(_with_config(trial, T=1), "T=1: the unrolled layer is one step of its cell.")


@prop("positions_additive", applies=_has("positionwise", "the layer position-wise"),
      specialised=True)
def positions_additive(trial):
    """A position-wise layer's gradients are its single positions' gradients, summed."""
    case = trial.case
    _, dout, dins, grads = trial.run()
    batched, timed = case.entry.batched_inputs(case.config, case.batch), time_inputs(case)
    n, steps = case.batch, case.config["T"]
    wants = [np.zeros(np.shape(g), np.float64) for g in [*dins, *grads.values()]]
    k_in = len(dins)
    for i in range(n):
        for s in range(steps):
            at = (slice(i, i + 1), slice(s, s + 1))
            xs = [x[at] if t else (x[at[0]] if b else x) for x, b, t in zip(trial.inputs, batched, timed)]
            ts = [np.asarray(t)[at] for t in trial.targets]
            lay = case.build()
            trial.forward(lay, xs, ts)
            d = O.each(lambda a: np.array(a[at]), dout)
            dd, gg = trial.backward(d, lay, xs)
            one = [*dd, *gg.values()]
            for j, g in enumerate(one):
                if j < k_in and timed[j]:
                    wants[j][at] = g
                elif j < k_in and batched[j]:
                    wants[j][at[0]] += g
                else:
                    wants[j] += g
    note = f"{n} x {steps} positions run one at a time."
    return [trial.compare(name, got, want, "law", note=note, note_if_failed=(
        "The gradient over the sequence is not the sum over its positions (an index used at "
        "several positions must get every one of their gradients)."),
        **broken("positions_additive", got))
        for (name, got), want in zip(trial.grad_pairs(dins, grads), wants)]


@prop("masked_no_grad", applies=lambda e: "" if e.mask_target is not None else
      "the entry declares no mask", specialised=True)
def masked_no_grad(trial):
    """A masked position gets no gradient."""
    _, dout, dins, grads = trial.run()
    mask = np.asarray(trial.targets[trial.case.entry.mask_target]) != 0
    results = []
    for name, x, g in zip(C.input_names(trial.layer), trial.inputs, dins):
        if np.shape(x)[:mask.ndim] != mask.shape:
            continue
        g = np.asarray(g, np.float64)
        keep = mask.reshape(mask.shape + (1,) * (g.ndim - mask.ndim))
        results.append(trial.compare(f"d{name}", g, np.where(keep, g, 0.0), "law",
                                     note=f"{int((~mask).sum())} of {mask.size} positions masked.",
                                     note_if_failed="A masked position got a gradient.",
                                     **broken("masked_no_grad", g)))
    if not results:
        raise ValueError(f"{trial.case.layer}: no differentiable input is laid out like its "
                         f"mask {mask.shape}; mask_target names the wrong target")
    return results


@prop("causal", applies=_has("causal", "the layer causal"), specialised=True)
def causal(trial):
    """With the upstream gradient zero after step t0, no input after step t0 gets a gradient."""
    if trial.case.config["T"] < 2:     # one step has nothing after it: look at two or more
        _with_config(trial, T=2)
    steps = trial.case.config["T"]
    t0 = int(trial.case.rng("causal").integers(0, steps - 1))
    out = trial.forward()
    cut = O.each(lambda d: np.where(np.arange(d.shape[1]).reshape(1, -1, *[1] * (d.ndim - 2)) > t0,
                                    0, d).astype(d.dtype), trial.case.dout_for(out))
    dins, _ = trial.backward(O.copy(cut))
    results = []
    for name, g, timed in zip(C.input_names(trial.layer), dins, time_inputs(trial.case)):
        if timed:
            g = np.asarray(g, np.float64)
            later = np.arange(g.shape[1]).reshape(1, -1, *[1] * (g.ndim - 2)) > t0
            results.append(trial.compare(f"d{name}", g, np.where(later, 0.0, g),
                                         "law", note=f"Upstream gradient zero after step {t0} of {steps}.",
                                         note_if_failed="A later step got a gradient: the output "
                                         "depends on the future.", **broken("causal", g)))
    return results
