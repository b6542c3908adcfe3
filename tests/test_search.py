"""The search's memo: a case drawn again is not checked again (``properties.search.Memo``); and
Hypothesis's digest of a search's test, worked out once (``digested_once``)."""
from dataclasses import replace

from hypothesis import given, settings, strategies as st

from properties.battery import all_properties
from properties.cases import Case, cases
from properties.catalog import get
from properties.search import first_failure
from properties.search_memo import _DIGESTS, Memo, case_key, digested_once


def _counting(calls):
    def check(drawn):
        calls.append(drawn)
        return [f"results of {case_key(drawn)}"]
    return check


def test_a_repeated_case_is_checked_once_and_gets_the_same_results():
    calls = []
    memo = Memo(_counting(calls))
    case = Case(layer="Dense", config={"shape": (2,), "out": 3}, dtype="float64", batch=2,
                kind="normal", seed=7, values=((0.5, -1.0, 0.25, 2.0),))
    first = memo(case)
    again = memo(replace(case))            # another object, the same fields
    other = memo(replace(case, seed=8))
    assert len(calls) == 2 and again is first and other != first


def test_only_the_most_recent_cases_are_kept():
    calls = []
    memo = Memo(_counting(calls), size=2)
    a, b, c = (Case(layer="ReLU", config={}, dtype="float64", batch=1, kind="normal", seed=s)
               for s in (1, 2, 3))
    memo(a), memo(b), memo(a), memo(c)     # a used again after b: b is the oldest when c comes
    memo(a)
    assert len(calls) == 3
    memo(b)
    assert len(calls) == 4


def test_a_drawn_object_without_fields_is_always_checked():
    calls = []
    memo = Memo(_counting(calls))
    memo(["not", "a", "dataclass"])
    memo(["not", "a", "dataclass"])
    assert len(calls) == 2 and case_key(["x"]) is None


def test_a_search_checks_each_distinct_case_once_though_it_draws_repeats():
    """On a real battery search (derandomized), Hypothesis draws some cases more than once:
    a case of a structured kind reads no value from the drawn pool, so draws differing only
    there are one case. Each is checked once."""
    entry, spec = get("Dense"), all_properties()["grads_tf"]
    drawn, calls = [], []
    strategy = cases(entry, kinds=("fd_safe", "overflow"), extra=spec.extra,
                     modes=spec.modes(entry)).map(lambda c: drawn.append(c) or c)

    def check(case):
        calls.append(case_key(case))
        return []                           # nothing fails: the whole search runs

    assert first_failure(strategy, check, max_examples=25) is None
    assert len(calls) == len(set(calls)), "a case was checked twice"
    assert len(drawn) > len(calls), "no case was drawn twice in this search"


def _recording_test(seen, **chosen):
    """A fresh closure of one definition, as every search makes its inner test."""
    @settings(**{"max_examples": 12, "database": None, "deadline": None, **chosen})
    @given(x=st.integers(0, 10 ** 9))
    def run(x):
        seen.append(x)
    return run


def _edited_test(seen, **chosen):
    """The same test under the same name, its source edited."""
    @settings(max_examples=12, database=None, deadline=None, **chosen)
    @given(x=st.integers(0, 10 ** 9))
    def run(x):
        seen.append(x)      # (an edit)
        return None
    run.hypothesis.inner_test.__qualname__ = "_recording_test.<locals>.run"   # (same place)
    return run


def test_a_derandomized_search_draws_by_its_name_alone_through_edits():
    """A derandomized search draws the same examples at every search, and through an edit of
    its test's source (the harness's own: an edit once redrew every layer's examples); the
    digest is tokenized once per definition."""
    first, again, edited = [], [], []
    wrapped = digested_once(_recording_test(first, derandomize=True))
    assert wrapped._hypothesis_internal_use_seed is not None
    wrapped()
    digested_once(_recording_test(again, derandomize=True))()
    digested_once(_edited_test(edited, derandomize=True))()
    assert first and again == first and edited == first
    codes = [c for c in _DIGESTS if c.co_name == "run" and c.co_filename == __file__]
    assert len(codes) == 2         # one per definition, however many closures


def test_a_randomized_search_keeps_drawing_at_random():
    """Without ``derandomize`` the seed is left to Hypothesis (the example database's key is
    still the digest): two searches draw different examples."""
    first, second = [], []
    for seen in (first, second):
        wrapped = digested_once(_recording_test(seen, derandomize=False))
        assert getattr(wrapped, "_hypothesis_internal_use_seed", None) is None
        wrapped()
    assert first != second


def test_a_derandomized_search_draws_the_same_whatever_modules_are_loaded(tmp_path, monkeypatch):
    """Hypothesis drew now and then a number from the source of the modules loaded: a case
    found under ``./harness check`` was not under pytest. Loading a module full of numbers
    changes nothing now."""
    before, after = [], []
    digested_once(_recording_test(before, derandomize=True, max_examples=60))()
    (tmp_path / "numbers_here.py").write_text(
        "".join(f"C{i} = {v}\n" for i, v in enumerate((7919, 104729, 3.25e7, -88.72, 1299709))))
    monkeypatch.syspath_prepend(str(tmp_path))
    __import__("numbers_here")
    digested_once(_recording_test(after, derandomize=True, max_examples=60))()
    assert before and after == before
