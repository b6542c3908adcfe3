"""Which diagnosis each planted bug may get, and the check that it gets that or none.

A bug's "own class" is the one its docstring names; most planted bugs have no
pattern a diagnosis can name (a wrong derivative, a dropped filter sum) and
must get no diagnosis at all. The planted tests (tests/test_planted_*.py) apply
``check_own_class`` to the failure each of them already hunts;
tests/test_diagnosis_negative.py hunts the rest.
"""
from oracle.diagnosis import consistent, diagnose
from oracle.tolerance import tolerance_for
from properties.contract import input_names
from properties.trial import Trial

# planted entry -> (property that catches it, the class it may get: None for no diagnosis)
OWN_CLASS = {
    "planted.DenseTransposedDW": ("grads_tf", "transposed"),
    "planted.DenseBiasMean": ("grads_tf", "constant factor"),
    "planted.ReLUGradAtZeroIsOne": ("grads_tf", "kink"),
    "planted.LeakyReLUSlopeOne": ("grads_tf", None),
    "planted.SigmoidWrongDerivative": ("grads_tf", None),
    "planted.SoftmaxCEIgnoresDout": ("linear_in_dout", None),   # a law: never diagnosed
    "planted.SoftmaxCEMissingMean": ("grads_tf", "constant factor"),
    "planted.MSEMissingMean": ("grads_tf", "constant factor"),
    "planted.Conv2DStrideIgnoredInBackward": ("grads_tf", None),
    "planted.Conv2DChannelSumDropped": ("grads_tf", None),
    "planted.Conv2DPaddingCroppedWrongly": ("grads_tf", None),
    "planted.Conv2DKernelNotFlipped": ("grads_tf", None),
    "planted.Conv2DDilatedChannelSumDropped": ("grads_tf", None),
    "planted.MaxPoolAllTiedMaxima": ("grads_tf", "tied maxima"),
    "planted.MaxPoolOverlapAssigned": ("grads_tf", "overlapping windows"),
    "planted.AvgPoolNoDivision": ("grads_tf", "constant factor"),
    "planted.BatchNormConstantStats": ("grads_tf", None),
    "planted.BatchNormWrongAxis": ("grads_tf", None),
    "planted.DropoutMissingScale": ("grads_tf", "constant factor"),
    "planted.DropoutActiveInEval": ("grads_tf", None),
    "planted.SigmoidFloat64Creep": ("shapes_dtypes", None),
    "planted.MSEStaleSize": ("batch_resize", "stale cache"),
}


# Found even on the minimal case Hypothesis shrinks to (a ReLU kink shrinks to one element,
# all of it at the kink: a subset that is the whole tensor is no evidence, so none is said).
MUST_FIND = {"transposed", "constant factor", "tied maxima", "overlapping windows"}


def full_context_diagnoses(case, failures):
    """Diagnoses of the failing tensors recomputed with the case's x and dout: {tensor: kind}."""
    trial = Trial(case, "grads_tf").setup()
    inputs = trial.inputs
    _, dout, dins, grads = trial.run()
    tape = trial.tf_vjp(dout)
    if tape.unavailable:
        return {}
    got = dict(trial.grad_pairs(dins, grads))
    want = dict(zip(trial.grad_names(), [*tape.dinputs, *tape.dparams.values()]))
    out = {}
    for r in failures:
        found = diagnose(got[r.tensor], want[r.tensor], context={
            "config": case.describe(), "inputs": dict(zip(input_names(trial.layer), inputs)),
            "dout": dout, "tensor": r.tensor, "dtype": case.dtype, "oracle": "tf",
            "tol": tolerance_for(case.dtype, "tf", case.entry.tolerances)})
        out[r.tensor] = found.kind if found and consistent(r.verdict, found.kind) else None
    return out


def check_own_class(name, prop, found):
    """When ``prop`` is the property OWN_CLASS lists for ``name``: assert that the failure
    ``found`` carries its own class or no diagnosis, both as reported (config only) and given
    the case's x and dout, and that a class in MUST_FIND is found. Returns whether it applied."""
    listed, own = OWN_CLASS.get(name, (None, None))
    if listed != prop:
        return False
    shown = {r.tensor: r.shown_diagnosis.get("kind") for r in found.failures}
    full = full_context_diagnoses(found.case, [r for r in found.failures if r.oracle == "tf"])
    for kinds in (shown, full):
        assert set(kinds.values()) <= {None, own}, (kinds, found.failures[0].message())
    if own in MUST_FIND:
        assert own in {*shown.values(), *full.values()}, (shown, full, found.failures[0].message())
    return True
