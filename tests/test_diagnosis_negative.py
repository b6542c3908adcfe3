"""No wrong diagnosis: correct layers get none, and every registered planted bug gets its
own class or none, both as the properties report it (config only) and given x and dout
(tests/diagnosis_classes.py). A failure a planted test already hunts is checked there, on
that hunt; the others are hunted here.
"""
import pytest

import tests.planted.conv  # noqa: F401  (registers the planted entries)
import tests.planted.core  # noqa: F401
import tests.planted.norm  # noqa: F401
from properties.battery import all_properties
from properties.cases import cases
from properties.catalog import entries
from properties.registry import PLANTED, PLANTED_MODULES
from properties.search import first_failure, hunt
from tests.diagnosis_classes import OWN_CLASS, check_own_class
from tests.test_planted_conv import CAUGHT as CONV_CAUGHT
from tests.test_planted_core import CAUGHT as CORE_CAUGHT
from tests.test_planted_norm import CAUGHT as NORM_CAUGHT

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


# (entry, property) pairs whose failure a planted test already hunts, and checks there
HUNTED_ELSEWHERE = {(e, p) for e, p, _ in CORE_CAUGHT} | \
    {(f"planted.{e}", p) for e, p, _ in CONV_CAUGHT} | {(e, p) for e, p, *_ in NORM_CAUGHT}
NOT_HUNTED = sorted(n for n, (p, _) in OWN_CLASS.items() if (n, p) not in HUNTED_ELSEWHERE)


def test_each_listed_bug_is_checked_for_its_class_once():
    """Every OWN_CLASS entry has its class checked: by the planted test hunting that failure,
    or here."""
    checked = {n for n, (p, _) in OWN_CLASS.items() if (n, p) in HUNTED_ELSEWHERE}
    assert checked | set(NOT_HUNTED) == set(OWN_CLASS) and not checked & set(NOT_HUNTED)
    assert len(checked) > len(NOT_HUNTED)


@pytest.mark.planted
@pytest.mark.parametrize("name", NOT_HUNTED)
def test_a_planted_bug_gets_its_own_class_or_none(name):
    prop = OWN_CLASS[name][0]
    found = hunt(name, prop, max_examples=25)
    assert found is not None, f"{prop} did not catch {name}"
    assert check_own_class(name, prop, found)


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


def test_a_factor_seen_on_one_value_alone_says_so():
    """A shrunk case where the oracle's gradient is 0 but at one element: 'sign flip: all 5
    elements equal -1 x the oracle's' was said of a Huber loss wrong on one side only, the four
    zeros confirming nothing. The evidence now says it rests on one value."""
    import numpy as np

    from oracle.diagnosis import diagnose
    ctx = {"tensor": "dx", "oracle": "tf", "dtype": "float64"}
    one = np.array([[0.8, 0.0, 0.0, 0.0, 0.0]])
    found = diagnose(-one, one, context=ctx)
    assert found.kind == "sign flip" and "seen on one value" in found.evidence
    two = np.array([[0.8, 0.0, -0.3, 0.0, 0.0]])
    found = diagnose(-two, two, context=ctx)
    assert found.kind == "sign flip" and "one value" not in found.evidence
