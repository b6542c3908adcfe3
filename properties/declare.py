"""What a property is: a function ``trial -> [Result]`` declared with ``@prop``.

The declaring module imports nothing that declares properties, so the check
modules (``oracle_checks``, ``laws``) import it and ``battery`` gathers them,
with no cycle. Whatever goes wrong inside a check becomes a failing result,
never a traceback: the layer breaking the protocol or raising ("contract",
"layer raised", naming the layer's file and line), or the harness or a TF
twin failing ("harness error": not the layer's fault, never a pass). Value
failures get a second look (``second_look.review``): a forward that is not a
function of its inputs, or float32 round-off that float64 copies do not show.
"""
import traceback
from dataclasses import dataclass, field, replace
from typing import Callable

from oracle.tape import OracleError
from properties.contract import LayerContractError
from properties.second_look import EXPLAIN as SECOND_LOOK, review
from properties.global_rng import kept_global_rng
from properties.trial import Trial

PROPERTIES = {}
RAW = {}          # name -> the property's own fn(trial), unguarded

EXPLAIN = {
    "contract": "the layer broke the layer protocol",
    "layer raised": "the layer's own code raised an exception",
    "harness error": "the harness or the TF twin failed on this case: not the layer's fault, "
                     "and not a pass either; please report it",
    **SECOND_LOOK,
}


@dataclass(frozen=True)
class Property:
    name: str
    fn: Callable                      # case -> [Result], guarded
    oracle_kinds: str = "tf"          # which of the entry's value kinds to draw: "tf" or "fd"
    extra: dict = field(default_factory=dict)
    summary: str = ""
    applies: Callable = None          # entry -> "" if it applies, else the reason it does not
    min_batch: int = 1
    needs_twin: bool = False          # only meaningful with a TF twin (forward_tf)
    backward: bool = True             # calls backward: drawn only in the entry's backward_modes
    specialised: bool = False         # for the entries declaring what it needs (a cell, a mask):
                                      # elsewhere it is absent from the battery, not a skip
    parts: tuple = ()                 # a joined property's parts (``together``), by name

    def kinds(self, entry):
        return entry.fd_kinds if self.oracle_kinds == "fd" else entry.tf_kinds

    def not_applicable(self, entry):
        if self.needs_twin and entry.no_twin:
            return entry.no_twin
        if not self.modes(entry):
            return (f"it calls backward, which the layer has only with training in "
                    f"{entry.backward_modes}, and none of those modes is drawn")
        return self.applies(entry) if self.applies else ""

    def modes(self, entry):
        """The ``training`` values this property draws for ``entry``: a property that calls
        backward only where the layer has one (a batch norm written for training only is
        still checked forward in inference mode)."""
        if self.backward and entry.backward_modes is not None:
            return tuple(m for m in entry.training_modes if m in entry.backward_modes)
        return tuple(entry.training_modes)


def prop(name, oracle_kinds="tf", extra=None, applies=None, min_batch=1, needs_twin=False,
         backward=True, specialised=False):
    """Declare ``fn(trial) -> [Result]`` as the property ``name``."""
    def declare(fn):
        PROPERTIES[name] = Property(name, guarded(name, fn), oracle_kinds, extra or {},
                                    (fn.__doc__ or "").strip().splitlines()[0], applies, min_batch,
                                    needs_twin, backward, specialised)
        return fn
    return declare


def guarded(name, fn):
    """``case -> [Result]``: run ``fn`` on a fresh trial; failures of any kind become results."""
    def run(case):
        return guard(Trial(case, name), fn, run)
    run.__name__ = run.__qualname__ = name
    run.__doc__ = fn.__doc__
    RAW[name] = fn
    return run


def guard(trial, fn, rerun):
    """``fn(trial)``'s results after their second look (``rerun(case)``: the guarded property,
    for another case), the trial set up first; failures of any kind become results."""
    try:
        with kept_global_rng():   # NumPy's global state: the caller's, back at the end
            return review(trial, fn(trial.setup()), rerun)
    except LayerContractError as exc:
        return [_failure(trial, exc.tensor, str(exc), exc.verdict)]
    except OracleError as exc:
        return [_failure(trial, "oracle", str(exc), "harness error")]
    except Exception as exc:   # a bug of the harness itself: shown as such, with its traceback
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return [_failure(trial, "harness",
                         f"{type(exc).__name__}: {exc} (at {where.filename}:{where.lineno})",
                         "harness error")]


def _failure(trial, tensor, note, verdict):
    return trial.finding(tensor, False, note, verdict=verdict, explanation=EXPLAIN[verdict])


def together(name, parts, summary):
    """The properties ``parts`` (names) as one property ``name``, checked on one trial of each
    case: the layer built once, run once, and what the parts share (the TF VJP, finite
    differences) worked out once (``Trial.shared_as``). Each part's results keep its own name
    and replay line. A part whose value kinds leave out the case's kind (finite differences
    are not asked about tied or huge inputs) is checked on the case's sibling in a kind of its
    own: the same configuration, batch, seed and mode, so every part sees every example.
    The parts must draw alike in all but their kinds."""
    specs = [PROPERTIES[p] for p in parts]
    alike = lambda s: (s.extra, s.applies, s.min_batch, s.needs_twin, s.backward)  # noqa: E731
    if any(alike(s) != alike(specs[0]) for s in specs):
        raise ValueError(f"{name}: {parts} do not draw alike")

    def run(case):
        with kept_global_rng():    # once for the parts (each part's own is then free)
            return _parts(case)

    def _parts(case):
        results, shared = [], None
        for spec in specs:
            kinds = spec.kinds(case.entry)
            if case.kind not in kinds:
                trial = Trial(sibling(case, kinds), spec.name)
            elif shared is None:
                later = any(case.kind in s.kinds(case.entry) for s in specs[1:])
                trial = shared = Trial(case, spec.name).shared(finite_differences=later)
            else:
                trial = shared.shared_as(spec.name)
            results += guard(trial, RAW[spec.name], spec.fn)
        return results
    run.__name__ = run.__qualname__ = name
    first = specs[0]
    return Property(name, run, first.oracle_kinds, first.extra, summary, first.applies,
                    first.min_batch, first.needs_twin, first.backward, first.specialised,
                    parts=tuple(parts))


def sibling(case, kinds):
    """``case`` with its values in one of ``kinds`` (chosen by its seed), drawn from its seed."""
    return replace(case, kind=kinds[case.seed % len(kinds)], values=None)
