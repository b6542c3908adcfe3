"""Search for a failure, as a test of the harness itself.

``first_failure`` draws from any strategy, runs a check returning Result
objects, and returns the minimal failing draw Hypothesis shrank to with its
failing results, or None when every draw passed. ``hunt`` does that for one
property of one registered (or planted) layer; the planted-bug tests assert on
what it returns.

A crash (the layer raised or broke the protocol) on one region of inputs does
not end the search: it is recorded and the search goes on, so wrong values on
the rest of the space are found too, and both are reported (``Crashes``).
"""
import math
from dataclasses import replace
from typing import Any, NamedTuple

import pytest
from hypothesis import HealthCheck, Phase, given, settings, target

from oracle.result import join_notes
from properties.cases import cases
from properties.battery import property_named
from properties.catalog import get
from properties.search_memo import Memo, digested_once


CRASH_VERDICTS = ("contract", "layer raised")
# A difference only where the function has a kink (ReLU'(0), a tied maximum) may be a
# convention, or a bug that shows there first: shrinking drives inputs to 0, which is a kink
# for many layers, so a search that stopped there would report a LeakyReLU whose negative
# slope is wrong as "kink convention". Such draws are set aside like crashes, and the search
# goes on for a difference away from kinks.
KINK_VERDICTS = ("kink convention",)


SAME_AS_FD = ("grads_tf's cell is this very comparison: with no TF twin it falls back to finite "
              "differences (on cases of its own, so the two cells' worst ratios may differ)")


def said_once(failed):
    """The failures' messages, a layer without a TF twin's shown once: its ``grads_tf`` falls
    back to the comparison ``grads_fd`` makes (the same tensor, estimates and numbers), and the
    two read as two failures. The ``grads_fd`` one is shown, saying so; both stay in the log
    (the matrix's two cells)."""
    def key(r):
        return r.layer, r.tensor, r.ratio
    same = {key(r) for r in failed if r.prop == "grads_tf" and r.oracle == "fd"} & \
        {key(r) for r in failed if r.prop == "grads_fd"}
    shown = []
    for r in failed:
        if key(r) in same and r.prop == "grads_tf":
            continue
        if key(r) in same and r.prop == "grads_fd":
            r = replace(r, note=join_notes(r.note, SAME_AS_FD))
        shown.append(r.message())
    return "\n\n".join(shown)


class _Found(NamedTuple):
    case: Any        # the minimal failing draw (a Case, a network spec, an optimizer case)
    failures: list   # its failing Result objects (a value failure if any was found, else a crash)


class Found(_Found):
    """(case, failures), unpacked as a pair; ``crashes``: the failing results of the smallest
    draw that crashed during the search, if any."""

    crashes = ()


def _found(case, failures, crashes):
    found = Found(case, failures)
    found.crashes = list(crashes)
    return found


def only_crashes(failed):
    """True when every failing result is a crash of the layer (not a wrong value)."""
    return bool(failed) and all(r.verdict in CRASH_VERDICTS for r in failed)


def only_at_kinks(failed):
    """True when the failing results are differences at kinks (and crashes), no other value."""
    return bool(failed) and all(r.verdict in CRASH_VERDICTS + KINK_VERDICTS for r in failed) \
        and not only_crashes(failed)


class Crashes:
    """The crashes met while a search goes on: keeps the smallest draw's (fewest JSON characters)."""

    ALONE = "the layer crashed (no wrong value was found on the inputs where it ran):"
    ALSO = "the layer also crashed on other inputs (the search went on past it):"

    def __init__(self):
        self.case, self.failures, self._size = None, [], None

    def add(self, drawn, failed):
        size = len(repr(drawn))
        if self._size is None or size < self._size:
            self.case, self.failures, self._size = drawn, list(failed), size

    def __bool__(self):
        return bool(self.failures)

    def message(self, alone=False):
        head = self.ALONE if alone else self.ALSO
        return head + "\n\n" + "\n\n".join(r.message() for r in self.failures)


class AtKinks(Crashes):
    """The draws whose only differences were at kinks, met while the search went on."""

    ALONE = ("the layer differs from TF only at kinks (no difference was found away from them; "
             "a convention at non-differentiable points, or a bug that shows only there):")
    ALSO = "the layer also differs at kinks on other inputs (the search went on past them):"


class _Failed(AssertionError):
    pass


def first_failure(strategy, check, *, max_examples=40, shrink=True):
    """The minimal draw from ``strategy`` whose ``check(draw) -> [Result]`` fails, or None.

    Derandomized and without the example database, so it finds the same thing
    every time. ``shrink=False`` returns the first failing draw as found. A
    draw whose only failures are crashes, or differences at kinks, is kept aside and the
    search goes on; when differences at kinks are all it finds, a second search shrinks
    those (a readable case, as any failure gets).
    """
    check = Memo(check)
    phases = [Phase.explicit, Phase.reuse, Phase.generate] + ([Phase.shrink] if shrink else [])

    def search(kinks_aside):
        found, crashes, kinks = [], Crashes(), AtKinks()

        @settings(max_examples=max_examples, derandomize=True, database=None, deadline=None,
                  print_blob=False, suppress_health_check=list(HealthCheck), phases=phases)
        @given(drawn=strategy)
        def run(drawn):
            failed = [r for r in check(drawn) if not r.passed]
            if only_crashes(failed):
                crashes.add(drawn, failed)
            elif kinks_aside and only_at_kinks(failed):
                kinks.add(drawn, failed)
            elif failed:
                found[:] = [(drawn, failed)]
                raise _Failed(failed[0].message())

        try:
            digested_once(run)()
        except _Failed:
            return _found(*found[0], crashes.failures), bool(kinks)
        return (_found(crashes.case, crashes.failures, crashes.failures) if crashes
                else None), bool(kinks)

    result, kinks = search(kinks_aside=True)
    if kinks and (result is None or only_crashes(result.failures)):
        result, _ = search(kinks_aside=False)
    return result


def hunt(entry_name, prop_name, *, max_examples=40, shrink=True):
    """The minimal failing case of ``prop_name`` on ``entry_name``, or None if all passed."""
    entry, spec = get(entry_name), property_named(prop_name)
    strategy = cases(entry, kinds=spec.kinds(entry), extra=spec.extra, min_batch=spec.min_batch,
                     modes=spec.modes(entry))
    return first_failure(strategy, spec.fn, max_examples=max_examples, shrink=shrink)


def steer(worst, label):
    """Steer Hypothesis toward the largest error/tolerance ratio ``worst``, when the loaded
    profile searches by targets (``thorough``). The short profiles leave the target phase
    out and record no targets either: with an example database, recorded targets cost
    Pareto-front upkeep and extra runs (a quarter of the battery's time) for little gain
    in 25 examples."""
    if Phase.target in settings.default.phases:
        target(worst if math.isfinite(worst) else 1e9, label=label)


def run_property(spec, entry, result_log, **overrides):
    """Draw cases for ``entry`` and check ``spec`` on each, under the loaded Hypothesis profile
    (``overrides``: settings to change, e.g. ``database=None``); every result goes to
    ``result_log``, and a failure's message explains itself.

    A case where the layer only crashed, or differed only at kinks, is recorded and the
    search goes on, so wrong values elsewhere are still found; the test then fails with
    both. Differences at kinks alone are searched for again, to be shrunk.

    A joined property (``grads``) stops at its first failing case, as any: the case is then
    shrunk for whichever part failed, and a part that never failed may have nothing to say
    there (finite differences cannot judge a shrunk all-zero input where a norm's variance
    vanishes). Each such part is then searched on its own, as it was before it was joined,
    and what it finds is reported beside: a failing layer pays for it, a passing one does not.
    """
    parts = getattr(spec, "parts", ())
    if not parts:
        return _run_property(spec, entry, result_log, **overrides)
    joined = _Failures(result_log)
    try:
        _run_property(spec, entry, joined, **overrides)
    except (AssertionError, pytest.fail.Exception) as exc:
        shown = {r.prop for r in joined.last}     # the failing case the message reports
        alone = [_search_alone(property_named(p), entry, result_log, overrides)
                 for p in parts if p not in shown]
        alone = [a for a in alone if a.last]
        if not alone:
            raise
        # the log keeps the latest failing example's results: the joined case's and each part's
        result_log.add(joined.last + [r for a in alone for r in a.last])
        blocks = [str(exc)] + [a.said("above") for a in alone]
        if all(r.verdict in SOFT_VERDICTS for r in joined.last) and \
                any(r.verdict == "layer bug" for a in alone for r in a.last):
            # a shrunk case's marginal difference must not headline a bug found plainly
            blocks = [a.said("below") for a in alone] + \
                [SOFT_AFTER.format(verdict=joined.last[0].verdict) + "\n\n" + str(exc)]
        raise AssertionError("\n\n".join(blocks)) from exc


class _Failures:
    """A result log passing every example on, keeping the failing results of the latest
    failing example (the one a search reports: Hypothesis runs its shrunk case last)."""

    def __init__(self, log):
        self.log, self.last, self.message, self.prop = log, [], "", ""

    def said(self, where):
        """The message of a part searched on its own, after a line saying so (``where``: the
        joined search's failing case is "above" or "below" it)."""
        return SEARCHED_ALONE.format(prop=self.prop, where=where) + "\n\n" + self.message

    def add(self, results):
        results = list(results)
        failed = [r for r in results if not r.passed]
        if failed:
            self.last = failed
        self.log.add(results)


SEARCHED_ALONE = ("{prop}, searched on its own (it had nothing to say on the failing case "
                  "{where}):")
SOFT_VERDICTS = ("below fd resolution", "kink convention")
SOFT_AFTER = ("the failing case the joined search shrank to, where the difference is only "
              "'{verdict}' (listed second: the search above calls the same layer a layer bug):")


def _search_alone(spec, entry, result_log, overrides):
    """``spec``'s own search: a :class:`_Failures` whose ``last`` is empty when it passed (or
    does not apply), else its failing results and ``message``."""
    found = _Failures(result_log)
    try:
        _run_property(spec, entry, found, **overrides)
    except (AssertionError, pytest.fail.Exception) as exc:
        found.message, found.prop = str(exc), spec.name
    except pytest.skip.Exception:
        pass
    if not found.message:
        found.last = []
    return found


FACTOR_KINDS = ("constant factor", "sign flip")
SHRUNK = 10.0      # a shown failure below this many times its tolerance is measured typically too


def _shrunk_note(failed, worst, run):
    """Lines saying what the shown failure's case hides, from the same case redrawn from normal
    values (one more run, on failures only): how large a failure barely over its tolerance is
    there (a tanh slip is tiny near 0, where inputs shrink to), and which other tensors fail
    there (on an all-zero input a wrong dW is 0 on both sides and passes). The case shown is
    the simplest that still fails, not the size nor the whole of the error."""
    if not failed or "case" not in worst:
        return ""
    small = {(r.prop, r.tensor) for r in failed if math.isfinite(r.ratio) and r.ratio < SHRUNK}
    nonfinite = {(r.prop, r.tensor) for r in failed if not math.isfinite(r.ratio)}
    shown = {(r.prop, r.tensor) for r in failed}
    # a factor read off the simplest case may be its values' coincidence (an all-zero input's
    # uniform softmax gives 1/sqrt(D) for a slip that is no factor at all)
    factored = {(r.prop, r.tensor) for r in failed
                if r.shown_diagnosis.get("kind") in FACTOR_KINDS}
    big, finite, more, unheld = {}, {}, [], []
    try:
        typical = replace(worst["case"], kind="normal", values=None,
                          batch=max(3, worst["case"].batch))
        for r in run(typical):
            if r.passed or r.warning:
                continue
            if (r.prop, r.tensor) in factored and r.tensor not in unheld and \
                    r.shown_diagnosis.get("kind") not in FACTOR_KINDS:
                unheld.append(r.tensor)
            if (r.prop, r.tensor) in small and r.ratio > SHRUNK:
                big[r.tensor] = max(big.get(r.tensor, 0.0), r.ratio)
            elif (r.prop, r.tensor) in nonfinite and math.isfinite(r.ratio):
                finite[r.tensor] = max(finite.get(r.tensor, 0.0), r.ratio)
            elif r.tensor not in {t for _, t in shown} and r.tensor not in more:
                more.append(r.tensor)
    except Exception:        # (the shown failure stands on its own)
        return ""
    lines = []
    if big:
        said = ", ".join(f"{t} at {e:.3g}x" for t, e in big.items())
        lines.append(f"  on typical inputs (normal values, batch {typical.batch}) it fails {said} "
                     f"the allowed: the case above is the simplest that still fails, not the "
                     f"size of the error")
    if finite:    # (a backward dividing by N - 1 is NaN at batch 1, where cases shrink to)
        said = ", ".join(f"{t} at {e:.3g}x" for t, e in finite.items())
        lines.append(f"  on typical inputs (normal values, batch {typical.batch}) it fails {said} "
                     f"the allowed, with finite values: the NaN or inf above is how it fails on "
                     f"the simplest case, not the only way")
    if unheld:
        lines.append(f"  on typical inputs (normal values, batch {typical.batch}) the error of "
                     f"{', '.join(unheld)} is no constant factor: the diagnosis above fits the "
                     f"values of the case above only")
    if more:
        lines.append(f"  on typical inputs (normal values, batch {typical.batch}) {', '.join(more)} "
                     f"fail{'s' if len(more) == 1 else ''} too (right on the case above only)")
    return "\n".join(lines)


def _run_property(spec, entry, result_log, **overrides):
    reason = spec.not_applicable(entry)
    if reason:
        pytest.skip(f"{spec.name} does not apply to {entry.name}: {reason}")
    crashes, kinks, last_failed, run = Crashes(), AtKinks(), [], Memo(spec.fn)
    worst = {}     # "case": the latest failing case (Hypothesis runs its shrunk one last)
    strategy = cases(entry, kinds=spec.kinds(entry), extra=spec.extra, min_batch=spec.min_batch,
                     modes=spec.modes(entry))

    def search(kinks_aside):
        @settings(**overrides)
        @given(case=strategy)
        def check(case):
            results = run(case)
            result_log.add(results)
            failed = [r for r in results if not r.passed]
            if only_crashes(failed):     # not targeted: the search should look elsewhere
                crashes.add(case, failed)
                return
            if kinks_aside and only_at_kinks(failed):   # a difference away from kinks says more
                kinks.add(case, failed)
                return
            steer(max((r.ratio for r in results if not r.warning), default=0.0),  # not round-off
                  f"{entry.name} {spec.name} error/tol")
            last_failed[:] = failed
            if failed:
                worst["case"] = case
                raise AssertionError(said_once(failed))
        digested_once(check)()

    second = False
    try:
        search(kinks_aside=True)
        if kinks:      # differences at kinks were all it found: searched again to shrink them
            second = True
            search(kinks_aside=False)
    except Exception as exc:   # one failure (AssertionError) or several (an exception group)
        # (a plain failure only: a subclass, a warning's, keeps its own type and message)
        shrunk = _shrunk_note(last_failed, worst, run) if type(exc) is AssertionError else ""
        if shrunk:
            exc = AssertionError(f"{exc}\n{shrunk}")
        aside = ([kinks] if kinks and not second else []) + ([crashes] if crashes else [])
        if aside:
            result_log.add(last_failed + [r for a in aside for r in a.failures])
            raise AssertionError("\n\n".join([str(exc)] + [a.message() for a in aside])) from exc
        if shrunk:
            raise exc from None
        raise
    aside = [a for a in (kinks, crashes) if a]     # (the second search met them again unshrunk)
    if aside:
        result_log.add([r for a in aside for r in a.failures])
        pytest.fail("\n\n".join(a.message(alone=i == 0) for i, a in enumerate(aside)),
                    pytrace=False)
