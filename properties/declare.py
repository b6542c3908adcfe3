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
from dataclasses import dataclass, field
from typing import Callable

from oracle.tape import OracleError
from properties.contract import LayerContractError
from properties.second_look import EXPLAIN as SECOND_LOOK, review
from properties.global_rng import kept_global_rng
from properties.trial import Trial

PROPERTIES = {}

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
        trial = Trial(case, name)
        try:
            with kept_global_rng():   # NumPy's global state: the caller's, back at the end
                return review(trial, fn(trial.setup()), run)
        except LayerContractError as exc:
            return [_failure(trial, exc.tensor, str(exc), exc.verdict)]
        except OracleError as exc:
            return [_failure(trial, "oracle", str(exc), "harness error")]
        except Exception as exc:   # a bug of the harness itself: shown as such, with its traceback
            where = traceback.extract_tb(exc.__traceback__)[-1]
            return [_failure(trial, "harness",
                             f"{type(exc).__name__}: {exc} (at {where.filename}:{where.lineno})",
                             "harness error")]
    run.__name__ = run.__qualname__ = name
    run.__doc__ = fn.__doc__
    return run


def _failure(trial, tensor, note, verdict):
    return trial.finding(tensor, False, note, verdict=verdict, explanation=EXPLAIN[verdict])
