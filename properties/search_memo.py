"""What a search works out once: the results of a case already checked (``Memo``), and its
derandomized seed and Hypothesis's digest of its test (``digested_once``)."""
import hashlib
import json
from collections import OrderedDict
from dataclasses import fields, is_dataclass

from hypothesis.internal.reflection import function_digest


_DIGESTS = {}    # code object of a search's inner test -> Hypothesis's digest of it


def _without_local_constants():
    """Hypothesis draws, one time in twenty, a number found in the source of the modules loaded
    (``providers._get_local_constants``): the harness's own, the tests', the user's. What a
    derandomized search draws then depends on which modules a run has loaded (a case found
    under ``./harness check`` was not under pytest) and on every constant in them. The searches
    here draw from Hypothesis's own list alone. (Its private function: a version without it
    keeps its behaviour.)"""
    try:
        from hypothesis.internal.conjecture import providers
        empty = providers._local_constants
        if not any(len(getattr(empty, k)) for k in ("integers", "floats", "bytes", "strings")):
            providers._get_local_constants = lambda: empty
    except (ImportError, AttributeError, TypeError):
        pass


_without_local_constants()


def digested_once(wrapped):
    """``wrapped`` (a ``@given`` test) with its derandomized seed and database key handed over.

    Hypothesis derives both from a digest of the test's source, tokenized anew at every run:
    about a millisecond, paid by each of the suite's few thousand searches. And for the
    searches here that source is the harness's own inner test, so any edit to it drew other
    examples for every layer (a right contrastive loss met its NaN on the new draws). The
    seed of a derandomized search is therefore its test's name alone (``__qualname__``: the
    same through edits), and the database key (a randomized run's) is the digest, worked out
    once per definition. (Hypothesis's own attributes: a version without them ignores them,
    and works both out from the source, as before.)
    """
    inner = getattr(getattr(wrapped, "hypothesis", None), "inner_test", None)
    if inner is None:
        return wrapped
    digest = _DIGESTS.get(inner.__code__)
    if digest is None:
        digest = _DIGESTS[inner.__code__] = function_digest(inner)
    if wrapped._hypothesis_internal_use_settings.derandomize:
        named = hashlib.sha384(f"gradcheck {inner.__qualname__}".encode()).digest()
        wrapped._hypothesis_internal_use_seed = int.from_bytes(named, "big")
    wrapped._hypothesis_internal_database_key = digest
    return wrapped


class Memo:
    """The results of every case already checked in one search, by the case's fields.

    Hypothesis draws a pool of input values for every case, used only by small cases of
    the plain kinds; two draws differing only in unused values are one case, and a sixth
    of a battery search's examples (and most of a shrink's attempts) were such repeats. A
    property is a function of its case (fresh layer, seeded streams), so a repeat gets the
    results already found instead of running the layer and the oracles again. A drawn
    object that is not a dataclass (no plain fields to compare) is always checked. The
    ``size`` most recently used cases are kept (results hold arrays: a 200-example search of
    a large layer must not keep them all).
    """

    def __init__(self, check, size=64):
        self.check, self.seen, self.size = check, OrderedDict(), size

    def __call__(self, drawn):
        key = case_key(drawn)
        if key is None:
            return self.check(drawn)
        if key in self.seen:
            self.seen.move_to_end(key)
        else:
            self.seen[key] = self.check(drawn)
            if len(self.seen) > self.size:
                self.seen.popitem(last=False)
        return self.seen[key]


def case_key(drawn):
    """A text that equals another's exactly when the two drawn cases are the same case."""
    if not is_dataclass(drawn) or isinstance(drawn, type):
        return None
    try:     # (its fields as they are: ``asdict`` deep-copies every drawn value first)
        return json.dumps({f.name: getattr(drawn, f.name) for f in fields(drawn)},
                          sort_keys=True)
    except (TypeError, ValueError):
        return None
