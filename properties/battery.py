"""Properties that compare the layer with an oracle: the TF twin and finite differences.

No property knows any particular layer: everything layer-specific comes from
the registry entry (build, shapes, twin, targets, tolerances, batch rule).
"""
import numpy as np

from oracle.compare import compare, three_way
from oracle.finite_diff import fd_vjp
from oracle.tape import tape_forward
from properties import running as R
from properties.property import prop


def _setup(case):
    layer = case.build()
    inputs, targets = case.inputs(), case.targets()
    params0 = {k: np.array(v, copy=True) for k, v in layer.params.items()}
    return layer, inputs, targets, params0


def _pairs(layer, dins, grads):
    return list(zip(R.grad_names(layer), [*dins, *grads.values()]))


def _fd(case, layer, inputs, params0, dout):
    arrays = R.fd_arrays(layer, inputs, params0)
    keys = list(arrays)
    fd = fd_vjp(R.float64_function(case, keys), arrays, dout, rng=case.rng("fd-directions"))
    return {f"d{k}": fd[k] for k in keys}


def _attach_verdict(case, res, fdg, got, tf_grad):
    """Three-way verdict for a failing comparison, in the FD estimate's coordinates."""
    ok = lambda g: g is not None and np.shape(g) == fdg.shape
    res.verdict, res.explanation = three_way(
        fdg.project(got) if ok(got) else None, fdg.project(tf_grad) if ok(tf_grad) else None,
        fdg.values, dtype=case.dtype, overrides=case.entry.tolerances, fd_excused=fdg.excused)
    if fdg.mode == "elementwise":
        res.arrays["fd"] = fdg.values
    return res


@prop("forward_tf")
def forward_vs_tf(case):
    """forward matches the TF twin's forward."""
    layer, inputs, targets, params0 = _setup(case)
    out = R.run_forward(case.layer, layer, inputs, targets)
    want = tape_forward(R.twin(case, layer), layer, inputs, params0, targets, name=case.layer)
    res = compare(out, want, layer=case.layer, prop="forward_tf", tensor="out", oracle="tf",
                  dtype=case.dtype, config=case.describe(), overrides=case.entry.tolerances)
    if not res.passed:
        res.verdict, res.explanation = "forward differs", "the layer's forward output differs from the TF twin's."
    return [res]


@prop("grads_tf")
def grads_vs_tf(case):
    """dx and every param grad match the TF VJP for a random upstream gradient."""
    layer, inputs, targets, params0 = _setup(case)
    out, dout, dins, grads = R.run_layer(case, layer, inputs, targets)
    tape = R.tf_vjp(case, layer, inputs, targets, params0, dout)
    if tape.unavailable:
        return _vs_fd(case, layer, inputs, params0, dout, dins, grads, "grads_tf",
                      note=f"TF oracle unavailable for this case ({tape.unavailable}); "
                           "checked against finite differences only")
    results = [compare(got, want, layer=case.layer, prop="grads_tf", tensor=name, oracle="tf",
                       dtype=case.dtype, config=case.describe(), overrides=case.entry.tolerances)
               for (name, got), want in zip(_pairs(layer, dins, grads),
                                            [*tape.dinputs, *tape.dparams.values()])]
    if not all(r.passed for r in results):
        fd = _fd(case, layer, inputs, params0, dout)
        for r in results:
            if not r.passed:
                _attach_verdict(case, r, fd[r.tensor], r.actual, r.expected)
    return results


def _vs_fd(case, layer, inputs, params0, dout, dins, grads, prop_name, tape=None, note=""):
    fd = _fd(case, layer, inputs, params0, dout)
    results = []
    for name, got in _pairs(layer, dins, grads):
        fdg = fd[name]
        shaped = np.shape(got) == fdg.shape
        r = compare(fdg.project(got) if shaped else got,
                    fdg.values if shaped else np.zeros(fdg.shape),
                    layer=case.layer, prop=prop_name, tensor=name, oracle="fd", dtype=case.dtype,
                    config=case.describe(), overrides=case.entry.tolerances,
                    excused=fdg.excused if shaped else None, mode=fdg.mode)
        r.note = " ".join(filter(None, [note, r.note]))
        if not r.judged:   # compare() marks it: neither PASS nor FAIL, verdict "not judged"
            r.note = " ".join(filter(None, [r.note, "every stencil crossed a kink"]))
        if not r.passed:
            tf_grad = _tape_grad(tape, layer, name) if tape is not None and not tape.unavailable else None
            _attach_verdict(case, r, fdg, got, tf_grad)
            if tf_grad is not None and fdg.mode == "elementwise":
                r.arrays["tf"] = tf_grad
            if fdg.mode == "directional":
                r.arrays["layer_full"] = got
        results.append(r)
    return results


def _tape_grad(tape, layer, name):
    names = R.grad_names(layer)
    return [*tape.dinputs, *tape.dparams.values()][names.index(name)]


@prop("grads_fd", oracle_kinds="fd")
def grads_vs_fd(case):
    """dx and param grads match float64 finite differences of sum(forward(x) * dout)."""
    layer, inputs, targets, params0 = _setup(case)
    out, dout, dins, grads = R.run_layer(case, layer, inputs, targets)
    results = _vs_fd(case, layer, inputs, params0, dout, dins, grads, "grads_fd")
    if not all(r.passed for r in results):
        tape = R.tf_vjp(case, layer, inputs, targets, params0, dout)
        if not tape.unavailable:
            results = _vs_fd(case, layer, inputs, params0, dout, dins, grads, "grads_fd", tape)
    return results
