"""Properties a layer must satisfy on its own: the protocol's laws.

backward leaves its inputs alone; shapes and dtypes follow the inputs; the
gradient is linear in dout; without batch coupling the batch gradient is the
sum of per-sample gradients; a second forward with another batch size works.
"""
import numpy as np

from oracle.compare import compare
from oracle.result import Result
from oracle.tolerance import Tolerance
from properties import running as R
from properties.battery import _pairs, _setup
from properties.property import prop
from properties.strategies import batch_sizes

EXACT = Tolerance(rtol=0.0, atol=0.0)


def _law(case, prop_name, tensor, got, want, tol=None, note=""):
    r = compare(got, want, layer=case.layer, prop=prop_name, tensor=tensor, oracle="law",
                dtype=case.dtype, config=case.describe(), overrides=case.entry.tolerances, tol=tol)
    r.note = " ".join(filter(None, [note, r.note]))
    return r


@prop("no_mutation")
def no_mutation(case):
    """forward and backward leave x, dout and the params unchanged."""
    layer, inputs, targets, params0 = _setup(case)
    inputs0 = [x.copy() for x in inputs]
    out = R.run_forward(case.layer, layer, inputs, targets)
    dout = case.dout(np.shape(out))
    dout0 = np.array(dout, copy=True)
    R.run_backward(case.layer, layer, dout)
    results = [_law(case, "no_mutation", f"{n} (input)", x, x0, EXACT,
                    "forward or backward wrote into its input" if not np.array_equal(x, x0) else "")
               for n, x, x0 in zip(R.input_names(layer), inputs, inputs0)]
    results += [_law(case, "no_mutation", f"{k} (param)", layer.params[k], params0[k], EXACT,
                     "backward changed a parameter" if not np.array_equal(layer.params[k], params0[k]) else "")
                for k in params0]
    if np.ndim(dout):
        results.append(_law(case, "no_mutation", "dout", dout, dout0, EXACT,
                            "" if np.array_equal(dout, dout0) else
                            "backward overwrote the caller's upstream gradient in place"))
    return results


def _kind_check(case, tensor, got, like, what):
    ok = np.shape(got) == np.shape(like) and np.asarray(got).dtype == np.asarray(like).dtype
    note = "" if ok else (f"{tensor} has shape {np.shape(got)} and dtype {np.asarray(got).dtype}; "
                          f"expected {np.shape(like)} and {np.asarray(like).dtype} ({what})")
    return Result(layer=case.layer, prop="shapes_dtypes", tensor=tensor, oracle="law", passed=ok,
                  dtype=case.dtype, config=case.describe(), note=note,
                  ratio=0.0 if ok else float("inf"))


@prop("shapes_dtypes")
def shapes_dtypes(case):
    """dx and grads have the shapes and dtype of their inputs; out keeps the input dtype."""
    layer, inputs, targets, params0 = _setup(case)
    out, dout, dins, grads = R.run_layer(case, layer, inputs, targets)
    x0 = inputs[0]
    out_ok = np.asarray(out).dtype == x0.dtype
    results = [Result(layer=case.layer, prop="shapes_dtypes", tensor="out", oracle="law",
                      passed=out_ok, dtype=case.dtype, config=case.describe(),
                      ratio=0.0 if out_ok else float("inf"),
                      note="" if out_ok else f"out has dtype {np.asarray(out).dtype}, input {x0.dtype}")]
    likes = [*inputs, *params0.values()]
    whats = [f"input {n}" for n in R.input_names(layer)] + [f"param {k}" for k in params0]
    for (name, got), like, what in zip(_pairs(layer, dins, grads), likes, whats):
        results.append(_kind_check(case, name, got, like, what))
    return results


@prop("linear_in_dout")
def linear_in_dout(case):
    """backward(a*d1 + b*d2) == a*backward(d1) + b*backward(d2), after one forward."""
    layer, inputs, targets, params0 = _setup(case)
    out = R.run_forward(case.layer, layer, inputs, targets)
    rng = case.rng("linear")
    a, b = rng.uniform(0.5, 2.0), -rng.uniform(0.5, 2.0)
    d1, d2 = case.dout(np.shape(out), "d1"), case.dout(np.shape(out), "d2")
    dt = np.asarray(d1).dtype.type
    g1 = _flat(*R.run_backward(case.layer, layer, d1))
    g2 = _flat(*R.run_backward(case.layer, layer, d2))
    g12 = _flat(*R.run_backward(case.layer, layer, dt(a) * d1 + dt(b) * d2))
    names = R.grad_names(layer)
    return [_law(case, "linear_in_dout", n, got, a * np.float64(x) + b * np.float64(y))
            for n, got, x, y in zip(names, g12, g1, g2)]


def _flat(dins, grads):
    return [*dins, *grads.values()]


def _coupled(entry):
    return "" if entry.batch_rule in ("sum", "mean") else entry.batch_rule


@prop("batch_additive", applies=_coupled, min_batch=2)
def batch_additive(case):
    """Without batch coupling, batch gradients are the (weighted) sum of per-sample gradients."""
    layer, inputs, targets, params0 = _setup(case)
    _, dout, dins, grads = R.run_layer(case, layer, inputs, targets)
    n = case.batch
    w = 1.0 / n if case.entry.batch_rule == "mean" else 1.0
    per = []
    for i in range(n):
        lay = case.build()
        sl = slice(i, i + 1)
        R.run_forward(case.layer, lay, [x[sl] for x in inputs], [t[sl] for t in targets])
        per.append(_flat(*R.run_backward(case.layer, lay, dout if np.ndim(dout) == 0 else dout[sl])))
    n_in = len(inputs)
    results = []
    for j, (name, got) in enumerate(_pairs(layer, dins, grads)):
        parts = [np.asarray(p[j], np.float64) for p in per]
        want = w * (np.concatenate(parts, axis=0) if j < n_in else np.sum(parts, axis=0))
        results.append(_law(case, "batch_additive", name, got, want,
                            note=f"batch rule {case.entry.batch_rule!r}, N={n}"))
    return results


@prop("batch_resize", extra={"batch2": batch_sizes()})
def batch_resize(case):
    """A second forward/backward with another batch size gives that batch's TF gradients."""
    layer, inputs, targets, params0 = _setup(case)
    R.run_layer(case, layer, inputs, targets)
    b2 = case.extra["batch2"]
    b2 = b2 + 1 if b2 == case.batch else b2
    x2, t2 = case.inputs(batch=b2, stream="inputs2"), case.targets(batch=b2)
    _, dout2, dins2, grads2 = R.run_layer(case, layer, x2, t2, dout_stream="dout2")
    tape = R.tf_vjp(case, layer, x2, t2, params0, dout2)
    if tape.unavailable:
        fresh = case.build()
        _, _, want_in, want_p = R.run_layer(case, fresh, x2, t2, dout_stream="dout2")
        wants, oracle_note = _flat(want_in, want_p), "TF unavailable: compared with a fresh layer"
    else:
        wants, oracle_note = [*tape.dinputs, *tape.dparams.values()], ""
    results = []
    for (name, got), want in zip(_pairs(layer, dins2, grads2), wants):
        r = compare(got, want, layer=case.layer, prop="batch_resize", tensor=name,
                    oracle="law" if tape.unavailable else "tf", dtype=case.dtype,
                    config=case.describe(), overrides=case.entry.tolerances)
        r.note = " ".join(filter(None, [f"batch {case.batch} then {b2}", oracle_note, r.note]))
        results.append(r)
    return results
