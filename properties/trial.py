"""One trial of a case: the layer built, run under the contract, and the oracles asked about it.

A :class:`Trial` holds what every property needs (the layer, its inputs,
targets and initial params) and is the one factory of results: every result
of a case is built whole by :meth:`Trial.compare` or :meth:`Trial.finding`,
with the layer, property, dtype, configuration, tolerances and replay line
filled in from the case.

Randomness a layer draws from NumPy's *global* state (tutorial dropout) is
made repeatable: the global state is seeded from the case before every
forward, and the results say so; so are generators kept in the layer's module
(put back before every forward), and a user's layer's own generators are seeded
from the case at every build (``properties.global_rng``). The oracles see their
own copies of the upstream gradient and of the inputs, so a layer that
overwrites them in place is reported once, by ``no_mutation``, and never blamed
for maths it got right.

A trial may be shared by two properties of one case (``shared``, ``shared_as``:
the battery's ``grads``), the layer then built once and run once.
"""
import copy

import numpy as np

from oracle.compare import compare
from oracle.finite_diff import fd_joint, fd_vjp
from oracle.layer_copy import copier, pickled
from oracle.result import Result, join_notes
from oracle.tape import TapeResult, tape_forward, tape_vjp
from oracle.tolerance import tolerance_for
from oracle.twins import twin_for
from oracle.user_twins_image import conv_geometry_of, pool_geometry_of
from properties import contract as C
from properties import outputs as O
from properties.global_rng import (kept_global_rng, module_generator_states, moved, rewind,
                                 seeded_global_rng)

# verdicts that, on a layer known to follow a convention, are that convention showing
CONVENTION_VERDICTS = ("convention or twin", "below fd resolution", "forward differs")
MODULE_RNG_NOTE = ("the forward draws from a NumPy generator kept in the layer's module; the "
                   "harness put it back where it was before every forward, so the check is "
                   "repeatable")
HELD_RNG_NOTE = ("the layer holds a NumPy generator; the harness seeded it from the case, so "
                 "every build of the case draws alike (the layer, its float64 copy, a fresh layer)")
GLOBAL_RNG_NOTE = ("the forward draws from NumPy's global random state; the harness seeded it "
                   "before every forward so the check is repeatable")


INFERENCE_NOTE = ("in inference mode (training=False): forward ran as in evaluation (running "
                  "statistics, no dropout), and backward was asked for that forward; a backward "
                  "written for training only can say so by raising in this mode (the layer is "
                  "then checked forward only in inference)")


REPEATS = 3   # forwards on the same inputs that must agree before finite differences are trusted


class Trial:
    """The layer of ``case`` built fresh, with its inputs, targets and a copy of its params."""

    def __init__(self, case, prop):
        self.case, self.prop = case, prop
        self.events = C.FloatEvents()
        self.notes = []
        self.given = None      # (inputs, dout) of the last run, shown with a failure
        self._at_point = None  # the float64 copy's output at the point (determinism probe)
        self._own_out = None   # the layer's own float64 output at the point, as it returned it
        self._geometry = None  # a pool's windows read off the layer ({} for any other layer)
        self._module_rngs = []  # generators of the layer's module, as they were at setup
        self._memo = None      # the work done, when the trial is shared (``shared``)

    # -- one trial, several properties -------------------------------------------------------
    def shared(self, finite_differences=False):
        """This trial, keeping the work it does for another property on the same case
        (:meth:`shared_as`): the layer's run, the TF VJP, finite differences.
        ``finite_differences``: they will be asked for, so a float64 case's float64 copy is
        taken from the layer as built (one pickling, not a second build)."""
        self._memo = {"copy from setup": finite_differences}
        return self

    def shared_as(self, prop):
        """This trial for the property ``prop``: the same layer, inputs, targets and float64
        copy, and what was already worked out on them reused, not done again. Only for
        properties that take the layer's run as they find it (``grads_tf``, ``grads_fd``: the
        battery's verified example, ``properties.declare.together``)."""
        other = copy.copy(self)
        other.prop, other.notes = prop, list(self.notes)
        return other

    def _kept(self, key, work):
        if self._memo is None:
            return work()
        if key not in self._memo:
            self._memo[key] = work()
        return self._memo[key]

    def setup(self):
        """Build the layer (its constructor is the layer's code too) and draw inputs and targets."""
        if self._memo is not None and "setup" in self._memo:
            return self
        self.layer = C.call(self.case.layer, "build", self.case.build)
        self.inputs, self.targets = self.case.inputs(), self.case.targets()
        self.params0 = {k: np.array(v, copy=True) for k, v in self.layer.params.items()}
        self._module_rngs = module_generator_states(self.layer)
        if getattr(self.layer, "reseeded_generators", False) and HELD_RNG_NOTE not in self.notes:
            self.notes.append(HELD_RNG_NOTE)
        if self._memo is not None:
            self._memo["setup"] = True
            if self._memo["copy from setup"] and self.case.dtype == "float64" and \
                    not self.case.drawn_in:
                # before any forward: the float64 copies' snapshot, their params their own
                # (the layer's held alive while it is pickled: an id is only unique among
                # live objects, and a view may hand out fresh arrays at every read)
                held = list(self.layer.params.values())
                keep = {id(v): np.array(v, copy=True) for v in held}
                self._memo["fresh"] = pickled(self.layer, keep)
                del held
        return self

    # -- running the layer -------------------------------------------------------------------
    def forward(self, layer=None, inputs=None, targets=None):
        layer = self.layer if layer is None else layer
        inputs = self.inputs if inputs is None else inputs
        targets = self.targets if targets is None else targets
        rewind(self._module_rngs)
        with seeded_global_rng(self.case.seed) as used:
            out = C.run_forward(self.case.layer, layer, inputs, targets, self.events)
        if used() and GLOBAL_RNG_NOTE not in self.notes:
            self.notes.append(GLOBAL_RNG_NOTE)
        if MODULE_RNG_NOTE not in self.notes and any(moved(*g) for g in self._module_rngs):
            self.notes.append(MODULE_RNG_NOTE)
        return out

    def backward(self, dout, layer=None, inputs=None):
        inputs = self.inputs if inputs is None else inputs
        return C.run_backward(self.case.layer, self.layer if layer is None else layer, dout,
                              self.events, shapes=[np.shape(x) for x in inputs])

    def run(self, dout_stream="dout", layer=None, inputs=None, targets=None):
        """forward then backward with a random upstream gradient: (out, dout, dinputs, grads).

        A shared trial runs the layer once: later calls get that run again (the same
        arrays: the properties sharing it only read them).

        ``dout`` is the trial's own copy: the layer gets another one, so an
        in-place write by the layer does not reach what the oracles see; so are the inputs
        (a forward clamping its x in place must not move the point the oracles are asked
        about: ``no_mutation`` reports the write). A scalar output's dout is 1.
        """
        if dout_stream == "dout" and layer is None and inputs is None and targets is None:
            ran, state, notes = self._kept("run", lambda: self._run_kept(dout_stream))
            self.given, self.given_targets, self._own_out = state
            self.notes += [n for n in notes if n not in self.notes]
            return ran
        return self._run(dout_stream, layer, inputs, targets)

    def _run_kept(self, dout_stream):
        ran = self._run(dout_stream)
        return ran, (self.given, self.given_targets, self._own_out), list(self.notes)

    def _run(self, dout_stream="dout", layer=None, inputs=None, targets=None):
        own = [np.array(x, copy=True) if isinstance(x, np.ndarray) else x
               for x in (self.inputs if inputs is None else inputs)]
        out = self.forward(layer, own, targets)
        if layer is None and inputs is None and targets is None and self.case.dtype == "float64":
            self._own_out = np.array(O.pack(out), copy=True)   # before backward can touch it
        # A scalar output (a loss) gets dout = 1, as in training: for one number, right at 1
        # and linear in dout (``linear_in_dout``, with random douts) is right at every dout, so
        # a backward ignoring dout is reported once, by that law, as what it is.
        dout = np.dtype(self.case.dtype).type(1.0) if not O.several(out) and np.ndim(out) == 0 \
            else self.case.dout_for(out, dout_stream)
        dins, grads = self.backward(O.copy(dout), layer, inputs)
        self.given = (self.inputs if inputs is None else inputs, dout)
        self.given_targets = self.targets if targets is None else targets
        return out, dout, dins, grads

    def grad_names(self):
        return C.grad_names(self.layer)

    def tape_grads(self, tape):
        """The TF VJP's gradients in the order of ``grad_names`` (a layer returning no dx: params only)."""
        by_name = dict(zip([f"d{n}" for n in C.input_names(self.layer)], tape.dinputs))
        by_name.update({f"d{k}": v for k, v in tape.dparams.items()})
        return [by_name[n] for n in self.grad_names()]

    def grad_pairs(self, dins, grads):
        """[(name, gradient)] in the order of ``contract.grad_names``."""
        return list(zip(self.grad_names(), [*dins, *grads.values()]))

    # -- the oracles -------------------------------------------------------------------------
    def twin(self):
        return self.case.entry.twin or twin_for(self.layer)

    def tf_forward(self, inputs=None):
        return tape_forward(self.twin(), self.layer, self.inputs if inputs is None else inputs,
                            self.params0, self.targets, name=self.case.layer)

    def tf_vjp(self, dout, inputs=None, targets=None):
        if self.case.entry.no_twin:
            return TapeResult(unavailable=self.case.entry.no_twin)
        if inputs is None and targets is None:
            return self._kept(("tape", id(dout)), lambda: self._tf_vjp(dout))
        return self._tf_vjp(dout, inputs, targets)

    def _tf_vjp(self, dout, inputs=None, targets=None):
        return tape_vjp(self.twin(), self.layer, self.inputs if inputs is None else inputs,
                        self.params0, dout, self.targets if targets is None else targets,
                        name=self.case.layer)

    def fd(self, dout, claims=None):
        """Finite-difference VJPs (:meth:`_fd`); a shared trial works them out once (estimates
        of every tensor on its own, worked out first for a failure, serve a later call with
        claims too: they are the finer ones)."""
        if self._memo is not None and ("fd", id(dout), False) in self._memo:
            return self._memo[("fd", id(dout), False)]
        return self._kept(("fd", id(dout), claims is not None), lambda: self._fd(dout, claims))

    def _fd(self, dout, claims=None):
        """Finite-difference VJPs of every input and param: {"dx": FDGrad, "dW": ...}.

        ``claims`` (the layer's gradients by name, "dx" ...): first the cheap joint
        pass (``oracle.finite_diff.fd_joint``), whose estimates are kept only when every
        claim agrees with them under the comparison's own rule; otherwise (and without
        claims) every tensor is estimated on its own, as a failure's verdict needs.
        """
        arrays = dict(zip(C.input_names(self.layer), self.inputs))
        clash = set(arrays) & set(self.params0)
        if clash:
            raise ValueError(f"{self.case.layer}: input and param names clash: {sorted(clash)}")
        arrays.update(self.params0)
        wanted = [n[1:] for n in self.grad_names()]
        with kept_global_rng():
            # Estimates that agree with every claim need no determinism probe: a forward whose
            # output moves from call to call makes them noise, and noise does not agree with a
            # claim. The probe runs before anything that may fail a layer (its output at the
            # point is the estimates' too: not computed again).
            fd = self._fd_joint(arrays, dout, claims) if claims else None
            if fd is None:
                why = self.nondeterminism()
                if why:    # finite differences of such a forward are noise: say so instead
                    raise C.LayerContractError(self.case.layer, "forward", why,
                                               verdict="not deterministic")
                fd = fd_vjp(self.float64_function(), arrays, O.pack(dout),
                            rng=self.case.rng("fd-directions"), names=wanted,
                            at_point=self._at_point)
        return {f"d{k}": v for k, v in fd.items()}

    def _fd_joint(self, arrays, dout, claims):
        tol = tolerance_for(self.case.dtype, "fd", self.case.entry.tolerances)
        claims = {n[1:]: g for n, g in claims.items()}
        if set(claims) - set(arrays) or any(g is None for g in claims.values()):
            return None
        # the point's output: the probe's if it ran, else the layer's own (a float64 case's)
        at_point = self._at_point if self._at_point is not None else self._own_out
        return fd_joint(self.float64_function(), arrays, O.pack(dout), claims, tol,
                        rng=self.case.rng("fd-joint"), at_point=at_point)

    def float64_function(self):
        """fn(arrays) -> output of a float64 copy of the layer, for finite differences.

        Every evaluation starts from a fresh copy of one snapshot taken before
        any forward (``oracle.layer_copy``: one unpickling, params shared), so a
        dropout mask is the same every time, and the same the layer under test drew.
        Built once per trial (the determinism probe and the estimates share it).
        NumPy's global random state is seeded before every evaluation, not saved
        and restored (that costs more than a small layer's forward): callers
        keep it for the whole batch of evaluations (:class:`kept_global_rng`).
        """
        if getattr(self, "_float64_fn", None) is not None:
            return self._float64_fn
        fresh = (self._memo or {}).get("fresh")   # a shared trial's, taken at setup
        if fresh is None:
            snapshot = self.case.build()
            for k in list(snapshot.params):
                snapshot.params[k] = np.asarray(snapshot.params[k], np.float64)
            fresh = copier(snapshot, list(snapshot.params.values()))
        names = C.input_names(self.layer)
        targets, name, seed = self.targets, self.case.layer, self.case.seed % 2 ** 32
        module_rngs = self._module_rngs

        def fn(arrays):
            rewind(module_rngs)    # as before the layer's own forward
            lay = fresh()
            for k in list(lay.params):
                lay.params[k] = arrays[k]
            np.random.seed(seed)   # as seeded_global_rng does before the layer's own forward
            return O.pack(C.run_forward(name, lay, [arrays[n] for n in names], targets,
                                        C.FloatEvents()))   # its events are not the layer's

        self._float64_fn = fn
        return fn

    def nondeterminism(self):
        """"" when forward is a function of its inputs, else what showed it is not.

        REPEATS forwards on the same inputs and params must agree: the layer's own
        (a float64 case's, as ``run`` kept it) and forwards of one float64 copy of the
        layer, with NumPy's global random state seeded the same and every generator the
        layer holds rewound. Any difference among the copy's comes from elsewhere (an
        unseeded generator made in forward, Python's ``random``, state kept from call to
        call), and no oracle can judge such a forward. The layer's own output only ever
        spares a forward of the copy: when it differs from the copy's (a generator of its
        own, seeded apart), the copy's forwards alone decide.
        """
        fn = self.float64_function()
        names = C.input_names(self.layer)
        arrays = {**{n: np.asarray(x, np.float64) for n, x in zip(names, self.inputs)},
                  **{k: np.asarray(v, np.float64) for k, v in self.params0.items()}}
        fresh = lambda: {k: v.copy() for k, v in arrays.items()}   # noqa: E731  (a forward
        #   writing into its input must not make the next one's input differ: no_mutation
        #   reports that, as what it is)
        with kept_global_rng():
            first = np.array(fn(fresh()), np.float64, copy=True)
            own = self._own_out
            spared = own is not None and own.shape == first.shape and np.array_equal(
                own, first, equal_nan=True)
            for _ in range(REPEATS - 1 - spared):   # a random forward can repeat itself by chance
                second = np.array(fn(fresh()), np.float64, copy=True)
                if first.shape != second.shape or not np.array_equal(first, second,
                                                                      equal_nan=True):
                    break
            else:
                self._at_point = first
                return ""
        diff = (f"max |difference| {np.nanmax(np.abs(first - second)):.3g}"
                if first.shape == second.shape else f"shapes {first.shape} and {second.shape}")
        return (f"two forwards on the same inputs and params gave different outputs ({diff}), "
                "with NumPy's global random state seeded alike and the layer's generators rewound")

    # -- the results -------------------------------------------------------------------------
    def compare(self, tensor, got, want, oracle, *, note="", note_if_failed="", tol=None, **kw):
        """A result comparing the layer's ``got`` with the oracle's ``want``, built whole.

        ``note_if_failed`` says what a failure means (it is left out of a pass). A
        comparison with an oracle carries what the layer was given (its inputs and
        the upstream gradient of the last run), for the diagnosis and the report.
        """
        if oracle in ("tf", "fd") and getattr(self, "given", None):
            inputs, dout = self.given
            named = dict(zip(C.input_names(self.layer), inputs))
            targets = {n: np.asarray(t) for n, t in
                       zip(C.target_names(self.layer, len(self.targets)), self.targets)}
            kw["context"] = {"inputs": named, "targets": targets,
                             "dout": O.pack(dout) if O.several(dout) else dout}
            if self._geometry is None:     # read once a trial, not at every comparison
                self._geometry = pool_geometry_of(self.layer) or conv_geometry_of(self.layer)
            if self._geometry:     # a user's pool or conv: its windows, for the diagnosis
                kw["context"]["config"] = {**self.case.describe(), **self._geometry}
            kw["arrays"] = {**{("x" if i == 0 else f"input:{k}"): v
                               for i, (k, v) in enumerate(named.items())},
                            **{f"target:{k}": v for k, v in targets.items()},
                            "dout": kw["context"]["dout"], **kw.get("arrays", {})}
        entry = self.case.entry
        if not self.case.training and len(tuple(entry.training_modes)) > 1:
            note_if_failed = join_notes(note_if_failed, INFERENCE_NOTE)
        if entry.convention and kw.get("verdict") in CONVENTION_VERDICTS and _finite(got):
            # (a NaN or inf from the layer is no convention: a float32 guard of 1e-300 is 0)
            kw["verdict"], kw["explanation"] = "convention", (
                f"the layer follows a known convention, not the usual one: {entry.convention}")
        return compare(got, want, layer=self.case.layer, prop=self.prop, tensor=tensor,
                       oracle=oracle, dtype=self.case.dtype, config=self.case.describe(),
                       overrides=entry.tolerances, tol=tol, note=self._note(note),
                       note_if_failed=note_if_failed, reproduce=self._reproduce, **kw)

    def finding(self, tensor, passed, note, *, verdict="", explanation="", oracle="law"):
        """A result that is a plain finding (a shape, a dtype, a protocol breach), not a comparison."""
        return Result(layer=self.case.layer, prop=self.prop, tensor=tensor, oracle=oracle,
                      passed=passed, dtype=self.case.dtype, config=self.case.describe(),
                      ratio=0.0 if passed else float("inf"), note=self._note(note),
                      verdict="" if passed else verdict, explanation="" if passed else explanation,
                      reproduce="" if passed else self._reproduce())

    def _note(self, note):
        entry = self.case.entry
        said = [f"the layer follows a convention: {entry.convention}" if entry.convention else "",
                entry.no_twin]
        return join_notes(note, *self.notes, self.events.note(), *said)

    def _reproduce(self):
        return self.case.replay_line(self.prop)


def _finite(got):
    try:
        return bool(np.all(np.isfinite(np.asarray(O.pack(got), np.float64))))
    except (TypeError, ValueError):
        return True
