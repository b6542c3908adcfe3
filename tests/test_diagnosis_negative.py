"""No wrong diagnosis: correct layers get none, and every registered planted bug gets its
own class or none, both as the properties report it (config only) and given x and dout.

A bug's "own class" is the one its docstring names; most planted bugs have no
pattern a diagnosis can name (a wrong derivative, a dropped filter sum) and
must get no diagnosis at all.
"""
import pytest

import tests.planted.conv  # noqa: F401  (registers the planted entries)
import tests.planted.core  # noqa: F401
import tests.planted.norm  # noqa: F401
from oracle.diagnosis import consistent, diagnose
from oracle.tolerance import tolerance_for
from properties.battery import all_properties
from properties.cases import cases
from properties.catalog import entries
from properties.contract import input_names
from properties.registry import PLANTED, PLANTED_MODULES
from properties.search import first_failure, hunt
from properties.trial import Trial

# planted entry -> (property that catches it, the class it may get: None for no diagnosis)
OWN_CLASS = {
    "planted.DenseTransposedDW": ("grads_tf", "transposed"),
    "planted.DenseBiasMean": ("grads_tf", "constant factor"),
    "planted.ReLUGradAtZeroIsOne": ("grads_tf", "kink"),
    "planted.LeakyReLUSlopeOne": ("grads_tf", None),
    "planted.SigmoidWrongDerivative": ("grads_tf", None),
    "planted.SoftmaxCEIgnoresDout": ("grads_tf", None),
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


def test_every_planted_gradient_bug_is_listed():
    """A new planted entry must say which class it may get (or none)."""
    modules = {"tests.planted.core", "tests.planted.conv", "tests.planted.norm"}
    unlisted = {name for name in PLANTED if name.startswith("planted.")
                and PLANTED_MODULES.get(name) in modules} - set(OWN_CLASS)
    # caught by no_mutation only; not a gradient (running statistics); not bugs (a convention,
    # a training-only backward)
    assert not unlisted - {"planted.ReLUMutatesDout", "planted.BatchNormRunningVarMomentum",
                           "planted.BatchNormTorchRunningStats",
                           "planted.BatchNormTrainingOnlyBackward",
                           "planted.BatchNormTrainingOnlyBackward.everymode"}, unlisted


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


@pytest.mark.planted
@pytest.mark.parametrize("name", sorted(OWN_CLASS))
def test_a_planted_bug_gets_its_own_class_or_none(name):
    prop, own = OWN_CLASS[name]
    found = hunt(name, prop, max_examples=25)
    assert found is not None, f"{prop} did not catch {name}"
    shown = {r.tensor: r.shown_diagnosis.get("kind") for r in found.failures}
    full = full_context_diagnoses(found.case, [r for r in found.failures if r.oracle == "tf"])
    for kinds in (shown, full):
        assert set(kinds.values()) <= {None, own}, (kinds, found.failures[0].message())
    if own in MUST_FIND:
        assert own in {*shown.values(), *full.values()}, (shown, full, found.failures[0].message())


def _recorded(spec, seen):
    def check(case):
        results = spec.fn(case)
        seen.extend(results)
        return results
    return check


def test_correct_layers_get_no_diagnosis():
    """Every registered layer on a few drawn cases of the oracle properties: all pass, none
    carries a diagnosis (a diagnosis is never made for a passing check)."""
    seen = []
    for entry in entries():
        for prop in ("grads_tf", "batch_resize"):
            spec = all_properties()[prop]
            strategy = cases(entry, kinds=spec.kinds(entry), extra=spec.extra, min_batch=spec.min_batch)
            assert first_failure(strategy, _recorded(spec, seen), max_examples=3, shrink=False) is None
    assert len(seen) > 3 * len(entries())
    assert not [r.message() for r in seen if r.diagnosis or r.shown_diagnosis]
