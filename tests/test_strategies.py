"""The strategies draw what they promise: kinks for the TF checks, none for finite differences."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from properties.strategies import batch_sizes, input_arrays, value_kinds
from properties.values import make_values


@given(arr=input_arrays(shape=(4, 9), dtype="float32", kinds=("fd_safe",)))
def test_fd_safe_values_are_distinct_and_away_from_zero(arr):
    flat = np.sort(arr.ravel().astype(np.float64))
    assert arr.dtype == np.float32
    assert np.diff(flat).min() >= 0.0099          # no two values within 2 FD steps
    assert np.abs(flat).min() >= 0.0024           # no value within an FD step of ReLU's kink


@given(seed=st.integers(0, 2 ** 32 - 1))
def test_ties_kind_has_exact_zeros_and_exact_ties(seed):
    arr = make_values("ties", (6, 6), np.dtype("float64"), np.random.default_rng(seed))
    assert (arr == 0).any()
    assert len(np.unique(arr)) < arr.size
    assert set(np.unique(arr)) <= {-1.0, -0.5, 0.0, 0.5, 1.0}


def test_large_kind_reaches_overflow_range_for_float32():
    arr = make_values("large", (1000,), np.dtype("float32"), np.random.default_rng(0))
    assert np.abs(arr).max() > 89.0                 # np.exp overflows float32 beyond ~88.7


@pytest.mark.parametrize("low,high", [(1, 4), (2, 3), (3, 3)])
def test_batch_sizes_reach_both_ends_of_their_range_and_nothing_outside(low, high):
    from hypothesis import find, settings
    from hypothesis.errors import NoSuchExample
    strategy = batch_sizes(min_size=low, max_size=high)
    # no example database: under the default profile a saved example of another of these
    # searches was replayed first, and the search for "any" then stopped above the smallest
    alone = settings(database=None)
    assert find(strategy, lambda n: n == high, settings=alone) == high
    assert find(strategy, lambda n: True, settings=alone) == low   # where shrinking ends
    with pytest.raises(NoSuchExample):
        find(strategy, lambda n: n < low or n > high, settings=alone)


def test_a_failure_on_every_case_shrinks_to_batch_one_float64_first_kind():
    """The README's promise about the battery's cases, checked on a bug that fails everywhere."""
    import tests.planted.core  # noqa: F401  (registers the planted entries)
    from properties.search import hunt
    found = hunt("planted.SigmoidWrongDerivative", "grads_tf", max_examples=20)
    case = found.case
    assert (case.batch, case.dtype, case.kind, case.config["shape"]) == (1, "float64", "normal", (1,))


def test_unknown_kind_is_named():
    with pytest.raises(ValueError, match=r"value_kinds: unknown kinds \['huge'\]"):
        value_kinds(kinds=("normal", "huge"))
    with pytest.raises(ValueError, match="unknown value kind 'huge'"):
        make_values("huge", (2,), np.dtype("float64"), np.random.default_rng(0))


def test_targets_are_recorded_only_by_the_profile_that_searches_by_them():
    """The short profiles leave the target phase out and ``steer`` records nothing there;
    ``thorough`` keeps it, and ``steer`` calls ``target`` (which refuses to run outside a test)."""
    from hypothesis import Phase, settings
    from hypothesis.errors import InvalidArgument

    from properties.search import steer
    assert Phase.target not in settings.get_profile("default").phases
    assert Phase.target not in settings.get_profile("ci").phases
    assert Phase.target in settings.get_profile("thorough").phases
    loaded = settings.default
    try:
        settings.load_profile("ci")
        steer(2.0, "no target outside a test")          # records nothing, so does not raise
        settings.load_profile("thorough")
        with pytest.raises(InvalidArgument):
            steer(2.0, "a target outside a test")
    finally:
        settings.register_profile("_restored", loaded)
        settings.load_profile("_restored")


def test_every_profile_shrinks_and_none_runs_the_explain_phase():
    """A shrunk failure is explained by the harness (verdict, diagnosis, replay line); Hypothesis's
    explain phase re-ran it many times for comments no message shows (two thirds of a
    ``./harness check`` that found a bug)."""
    from hypothesis import Phase, settings
    for name in ("default", "ci", "thorough"):
        phases = settings.get_profile(name).phases
        assert Phase.shrink in phases and Phase.generate in phases, name
        assert Phase.explain not in phases, name
