"""A value beyond the dtype's range is no layer's fault. A Poisson loss exp(r) - y r is
3.5e38 at r = 88.75, past float32's largest number: a right file failed as "not the
derivative of its own forward" on that float32 case, and on float64's overflow kind (exp of
709). Both are now warnings, naming the size reached; an overflow inside a layer whose values
stay in range (a log of an underflowed probability) stays a failure (tests of the label
encodings), and so does one where the value fits however narrowly (a mean of such exps)."""
import re

import numpy as np
import pytest

from properties.battery import all_properties
from properties.cases import Case
from properties.search import hunt
from tests.owncode_loading import collect_source

POISSON = '''
import numpy as np


def poisson_nll_loss(log_rate, counts):
    """Sum of exp(r) - y r over every element; returns the loss and its gradient."""
    rate = np.exp(log_rate)
    loss = np.sum(rate - counts * log_rate)
    return loss, {minus}
'''


@pytest.fixture
def right(tmp_path):
    found, _ = collect_source(tmp_path, "poisson.py", POISSON.replace("{minus}", "rate - counts"))
    (label,) = found
    return label


def test_a_value_past_float32s_largest_is_a_warning_naming_its_size(right):
    case = Case(layer=right, config={}, dtype="float32", batch=1, kind="large", seed=0,
                values=((88.75, 0.0, 0.0, 0.0, 0.0),))
    results = all_properties()["grads_tf"].fn(case)
    warned = [r for r in results if r.warning]
    assert results and all(r.passed for r in results) and warned
    assert {r.verdict for r in warned} == {"beyond float32"}
    for r in warned:
        reached = float(re.search(r"dx up to ([0-9.e+]+)", r.explanation).group(1))
        assert reached > float(np.finfo(np.float32).max), r.explanation


def test_a_function_growing_past_float64_is_a_warning_and_a_right_loss_passes(right):
    case = Case(layer=right, config={}, dtype="float64", batch=1, kind="overflow", seed=2)
    results = all_properties()["grads_tf"].fn(case)
    assert results and all(r.passed for r in results)
    assert {r.verdict for r in results if r.warning} == {"beyond float64"}
    for prop in ("grads_tf", "grads_fd", "linear_in_dout"):
        assert hunt(right, prop, max_examples=25) is None, prop


def test_a_wrong_gradient_is_still_caught_where_the_values_are_in_range(tmp_path):
    found, _ = collect_source(tmp_path, "poisson_bug.py", POISSON.replace("{minus}", "rate"))
    (label,) = found
    failed = hunt(label, "grads_fd", max_examples=25)
    assert failed is not None and all(np.isfinite(r.ratio) for r in failed.failures)
    assert not any(r.warning for r in failed.failures)


def test_a_value_that_fits_float32_keeps_its_failure_and_the_advice(tmp_path):
    """The mean of the same exps is 7e37 at r = 88.75: it fits float32 (exp(r - log n) would
    hold it), so the overflow inside is still the layer's, reported with what to do."""
    from properties.second_look import FLOAT32_RANGE
    found, _ = collect_source(tmp_path, "poisson_mean.py", POISSON.replace(
        "np.sum(rate - counts * log_rate)", "np.mean(rate - counts * log_rate)").replace(
        "{minus}", "(rate - counts) / log_rate.size"))
    (label,) = found
    case = Case(layer=label, config={}, dtype="float32", batch=1, kind="large", seed=0,
                values=((88.75, 0.0, 0.0, 0.0, 0.0),))
    failed = [r for r in all_properties()["grads_tf"].fn(case) if not r.passed]
    assert failed and all(FLOAT32_RANGE in r.note and not r.warning for r in failed)
