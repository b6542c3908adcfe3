"""Search for a failure of one property on one entry, as a test of the harness itself.

``hunt`` runs the property under Hypothesis (derandomized, no database) and
returns the minimal failing case it shrank to with that case's failing
results, or None when every case passed. The planted-bug tests assert on it.
"""
from typing import NamedTuple

from hypothesis import HealthCheck, Phase, given, settings

from properties.cases import Case, cases
from properties.property import all_properties
from properties.registry import get


class Found(NamedTuple):
    case: Case
    failures: list   # the failing Result objects of the minimal case


class _Failed(AssertionError):
    pass


def hunt(entry_name, prop_name, *, max_examples=40, shrink=True):
    """The minimal failing case of ``prop_name`` on ``entry_name``, or None if all passed."""
    entry, spec = get(entry_name), all_properties()[prop_name]
    found = []
    phases = [Phase.explicit, Phase.reuse, Phase.generate] + ([Phase.shrink] if shrink else [])

    @settings(max_examples=max_examples, derandomize=True, database=None, deadline=None,
              print_blob=False, suppress_health_check=list(HealthCheck), phases=phases)
    @given(case=cases(entry, kinds=spec.kinds(entry), extra=spec.extra, min_batch=spec.min_batch))
    def check(case):
        failed = [r for r in spec.fn(case) if not r.passed]
        if failed:
            found[:] = [Found(case, failed)]
            raise _Failed(failed[0].message())

    try:
        check()
    except _Failed:
        return found[0]
    return None
