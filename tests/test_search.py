"""The search's memo: a case drawn again is not checked again (``properties.search.Memo``)."""
from dataclasses import replace


from properties.battery import all_properties
from properties.cases import Case, cases
from properties.catalog import get
from properties.search import Memo, case_key, first_failure


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
