"""The harness checks itself: each planted bug is caught by the property it violates."""
import pytest

import tests.planted.core  # noqa: F401  (registers the planted entries)
from properties.cases import HARNESS
from properties.search import get, hunt
from tests.diagnosis_classes import check_own_class
from properties.battery import all_properties
from properties.laws import BROKEN as LAWS

# (planted entry, property expected to catch it, verdict expected on the failure or None)
CAUGHT = [
    ("planted.DenseTransposedDW", "grads_tf", "layer bug"),
    ("planted.DenseTransposedDW", "grads_fd", "layer bug"),
    ("planted.DenseBiasMean", "grads_tf", "layer bug"),
    ("planted.DenseBiasMean", "batch_additive", "layer bug"),
    ("planted.ReLUGradAtZeroIsOne", "grads_tf", "kink convention"),
    ("planted.ReLUMutatesDout", "no_mutation", "layer bug"),
    ("planted.LeakyReLUSlopeOne", "grads_tf", "layer bug"),     # not "kink convention"
    ("planted.SigmoidWrongDerivative", "grads_tf", "layer bug"),
    ("planted.SigmoidWrongDerivative", "grads_fd", "layer bug"),
    ("planted.SoftmaxCEIgnoresDout", "linear_in_dout", "layer bug"),
    ("planted.SoftmaxCEMissingMean", "grads_tf", "layer bug"),
    ("planted.SoftmaxCEMissingMean", "batch_additive", "layer bug"),
    ("planted.MSEMissingMean", "grads_fd", "layer bug"),
    ("planted.SigmoidFloat64Creep", "shapes_dtypes", None),
    ("planted.MSEStaleSize", "batch_resize", "layer bug"),
]


# a law's failure explained by what this bug is, not by the law in general
OWN_EXPLANATION = {"planted.SoftmaxCEIgnoresDout": "ignores_dout"}


@pytest.mark.planted
@pytest.mark.parametrize("entry,prop,verdict", CAUGHT, ids=[f"{e[8:]}-{p}" for e, p, _ in CAUGHT])
def test_planted_bug_is_caught(entry, prop, verdict, result_log):
    found = hunt(entry, prop, max_examples=30)
    assert found is not None, f"{prop} did not catch {entry}"
    result_log.add(found.failures)
    first = found.failures[0]
    assert first.layer == entry and first.prop == prop
    if verdict is not None:
        assert {r.verdict for r in found.failures} == {verdict}, found.failures[0].message()
    if prop in LAWS:        # a law broken says which, and what breaking it means
        want = LAWS[OWN_EXPLANATION.get(entry, prop)].format(rule=get(entry).batch_rule)
        assert {r.explanation for r in found.failures} == {want}
    assert f"{HARNESS} replay --import tests.planted.core" in first.reproduce
    check_own_class(entry, prop, found)    # its own diagnosis or none (tests/diagnosis_classes.py)


@pytest.mark.parametrize("entry,prop", [("planted.SigmoidFloat64Creep", "grads_tf"),
                                        ("planted.SigmoidFloat64Creep", "grads_fd"),
                                        ("planted.MSEStaleSize", "grads_tf"),
                                        ("planted.SoftmaxCEIgnoresDout", "grads_tf"),
                                        ("planted.SoftmaxCEIgnoresDout", "grads_fd")])
def test_dtype_and_stale_cache_bugs_are_invisible_to_the_value_checks(entry, prop):
    """Why shapes_dtypes, batch_resize and linear_in_dout exist: these bugs pass every value
    comparison (a loss's gradients are compared at dout = 1, where ignoring dout is right:
    the law reports it once, as what it is)."""
    assert hunt(entry, prop, max_examples=20, shrink=False) is None


def test_kink_convention_failure_is_only_at_exact_zeros():
    found = hunt("planted.ReLUGradAtZeroIsOne", "grads_tf", max_examples=30)
    res = found.failures[0]
    x = found.case.inputs()[0]
    assert all(x[idx] == 0 for idx, *_ in res.worst), res.message()
    assert res.n_excused == 0 and res.arrays["fd"].shape == x.shape


def test_a_bug_that_also_shows_at_kinks_is_reported_where_it_is_a_bug():
    """The slope-one LeakyReLU differs from TF at x == 0 (a convention there) and at every
    x < 0 (the bug). The failure reported is one with a negative input and the verdict
    "layer bug"; the draws failing only at zeros were set aside, not shrunk to."""
    found = hunt("planted.LeakyReLUSlopeOne", "grads_tf", max_examples=30)
    res = found.failures[0]
    x = found.case.inputs()[0]
    assert res.verdict == "layer bug", res.message()
    assert any(x[idx] < 0 for idx, *_ in res.worst), res.message()


def test_the_battery_reports_a_bug_away_from_kinks_and_the_kinks_after_it():
    """The battery's own search (``run_property``, derandomized): the slope-one LeakyReLU fails
    with its layer bug first and its kink-only draws said after it; the kink ReLU, whose only
    differences are at zeros, fails with the kink convention, shrunk to a small case."""
    from properties.catalog import get
    from properties.search import run_property
    from reports.collect import ResultLog
    prop = all_properties()["grads_tf"]
    fixed = dict(derandomize=True, database=None, max_examples=30)
    log = ResultLog()
    with pytest.raises(AssertionError) as info:
        run_property(prop, get("planted.LeakyReLUSlopeOne"), log, **fixed)
    text = str(info.value)
    assert text.index("verdict: layer bug") < text.index("the layer also differs at kinks")
    log = ResultLog()
    with pytest.raises(AssertionError) as info:
        run_property(prop, get("planted.ReLUGradAtZeroIsOne"), log, **fixed)
    assert "verdict: kink convention" in str(info.value)
    assert "also differs at kinks" not in str(info.value)
    (failure,) = log.failures
    assert failure.verdict == "kink convention" and failure.config["batch"] == 1, failure.message()


def test_kink_bug_is_not_a_finite_difference_failure():
    """Away from x == 0 the wrong-kink ReLU is a correct derivative: FD must not flag it."""
    assert hunt("planted.ReLUGradAtZeroIsOne", "grads_fd", max_examples=30) is None


def test_every_property_is_exercised_by_some_planted_bug():
    """Every general property (the sequence laws: tests/test_planted_sequence.py)."""
    caught_by = {p for _, p, _ in CAUGHT}
    general = {n for n, p in all_properties().items() if not p.specialised}
    assert caught_by >= general - {"forward_tf"}   # forward_tf: tests/test_planted_norm.py


def test_the_reproduction_line_reproduces_the_failure(capsys):
    import shlex

    from properties.replay import main
    found = hunt("planted.DenseBiasMean", "grads_tf", max_examples=30)
    argv = shlex.split(found.failures[0].reproduce)[2:]
    assert main(argv) == 1
    printed = capsys.readouterr().out
    assert found.failures[0].message().splitlines()[0] in printed
    assert "db vs TF: FAIL" in printed and "dW vs TF: PASS" in printed


def test_ci_profile_draws_the_same_cases_twice():
    """The ci profile (what .ci/run loads) is derandomized: two runs see the identical cases."""
    from hypothesis import given, settings

    from properties.cases import cases
    from properties.catalog import get

    def drawn():
        seen = []

        @settings(settings.get_profile("ci"), max_examples=15)
        @given(case=cases(get("Dense"), kinds=("normal", "ties")))
        def record(case):
            seen.append(case)
        record()
        return seen

    ci = settings.get_profile("ci")
    assert ci.derandomize and ci.database is None
    first = drawn()
    assert len(first) == 15 and first == drawn()


def test_batch_resize_fails_on_stale_state_only():
    """A difference from TF that a fresh layer at the second batch size shows too (a kink
    convention, a bias averaged over the batch) is grads_tf's to judge, with its verdict:
    batch_resize passes it, saying so; a size kept from the first batch still fails it."""
    assert hunt("planted.ReLUGradAtZeroIsOne", "batch_resize", max_examples=30) is None
    assert hunt("planted.DenseBiasMean", "batch_resize", max_examples=30) is None
    found = hunt("planted.MSEStaleSize", "batch_resize", max_examples=30)
    assert found is not None and all(r.oracle == "tf" for r in found.failures)
    from properties.cases import Case
    case = Case(layer="planted.ReLUGradAtZeroIsOne", config={"shape": (3,)}, dtype="float64",
                batch=1, kind="ties", seed=0, extra={"batch2": 2}, values=((0.0, 0.0, 0.0),))
    (r,) = all_properties()["batch_resize"].fn(case)
    assert r.passed and r.oracle == "law" and "fresh layer" in r.note, r.message()
