"""Issue 16: verdicts you can trust. Every fault of tests/faults/corpus.py gets exactly the
outcome asserted here, property by property: which fail, with which verdict, which pass."""
import contextlib
import shlex

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tests.faults.corpus  # noqa: F401  (registers the fault entries)
import tests.planted.core  # noqa: F401
from properties.cases import HARNESS
from properties.battery import all_properties
from properties.cases import Case
from properties.catalog import get
from properties.replay import main as replay_main
from properties.search import hunt
from properties.trial import GLOBAL_RNG_NOTE
from properties.values import exp_overflow, make_values
from reports.collect import ResultLog
from properties.search import run_property

PROPS = [n for n, p in all_properties().items() if not p.specialised]
CRASH = "layer raised"
PASS, SKIP = "pass", "skip"


def row(default, **cells):
    return {p: cells.get(p, default) for p in PROPS}


# fault -> property -> "pass", "skip", a verdict (the property fails with exactly it), or
# (value verdict, crash verdict): a wrong value found after the search went past a crash.
EXPECTED = {
    "faults.KeyErrorInBackward": row(CRASH, forward_tf=PASS),
    "faults.RuntimeErrorInForward": row(CRASH),
    "faults.ZeroDivisionInBackward": row(CRASH, forward_tf=PASS),
    "faults.NameErrorInForward": row(CRASH),
    # batch_resize: the wrong derivative is a fresh layer's too (not resizing's): the crash alone
    "faults.CrashOnBatchOneWrongElsewhere": row(CRASH, grads_tf=("layer bug", CRASH),
                                                grads_fd=("layer bug", CRASH)),
    "faults.NaiveSoftplus": row(PASS, forward_tf="forward differs"),
    "faults.StableSoftplus": row(PASS),
    "faults.TutorialDropout": row(PASS, batch_additive=SKIP),
    "faults.UnseededDropout": row(PASS, grads_fd="not deterministic", batch_additive=SKIP),
    "faults.ReLUOverwritesDout": row(PASS, no_mutation="layer bug"),
    "faults.BroadcastAdd": row(PASS),
    "faults.BroadcastMul": row(PASS),
    "faults.OnePassLayerNorm": row(PASS),
    "faults.MSEReturnsFloat": row(PASS),
    "faults.TwinRaises": row(PASS, forward_tf="harness error", grads_tf="harness error",
                             batch_resize="harness error"),
}
CELLS = [(f, p, want) for f, props in EXPECTED.items() for p, want in props.items()]


@pytest.mark.planted
@pytest.mark.parametrize("fault,prop,want", CELLS, ids=[f"{f[7:]}-{p}" for f, p, _ in CELLS])
def test_each_fault_gets_exactly_its_verdict(fault, prop, want, result_log):
    spec = all_properties()[prop]
    if want == SKIP:
        assert spec.not_applicable(get(fault))
        return
    found = hunt(fault, prop, max_examples=15 if want == PASS else 40, shrink=want != PASS)
    if want == PASS:
        assert found is None, found.failures[0].message()
        return
    assert found is not None, f"{prop} did not flag {fault}"
    result_log.add(found.failures + found.crashes)
    value, crash = want if isinstance(want, tuple) else (want, None)
    assert {r.verdict for r in found.failures} == {value}, found.failures[0].message()
    assert {r.verdict for r in found.crashes} == ({crash} if crash else ({CRASH} if value == CRASH else set()))
    assert all(r.layer == fault and r.prop == prop and not r.passed for r in found.failures)
    assert f"{HARNESS} replay --import tests.faults.corpus " in found.failures[0].reproduce
    for r in found.failures + found.crashes:
        if r.verdict == CRASH:   # the phase and the user's file and line are named
            assert r.tensor in ("forward", "backward") and "tests/faults/corpus.py:" in r.note


def test_a_crash_names_the_exception_the_phase_and_the_line_and_replays_as_printed(capsys):
    found = hunt("faults.KeyErrorInBackward", "grads_tf", max_examples=10)
    r = found.failures[0]
    assert r.tensor == "backward" and "raised KeyError: 'y'" in r.note
    lineno = next(i for i, ln in enumerate(open(tests.faults.corpus.__file__), 1)
                  if 'self._cache["y"]' in ln)
    assert f"corpus.py:{lineno}" in r.note
    assert replay_main(shlex.split(r.reproduce)[2:]) == 1
    assert "raised KeyError" in capsys.readouterr().out


def test_the_search_goes_past_a_crash_and_the_battery_fails_with_both():
    """A fresh search (no example database): one that replays a saved failure goes straight
    to shrinking it, and meets the crash elsewhere only if the shrinker happens to."""
    log = ResultLog()
    with pytest.raises(AssertionError) as info:
        run_property(all_properties()["grads_tf"], get("faults.CrashOnBatchOneWrongElsewhere"), log,
                     database=None)
    text = str(info.value)
    assert "verdict: layer bug" in text and "verdict: layer raised" in text
    assert "the layer also crashed on other inputs" in text
    assert {r.verdict for r in log.failures} == {"layer bug", CRASH}


def test_a_layer_that_only_crashes_fails_the_battery_with_its_crash():
    log = ResultLog()
    with pytest.raises(pytest.fail.Exception, match="ZeroDivisionError"):
        run_property(all_properties()["grads_fd"], get("faults.ZeroDivisionInBackward"), log)
    assert {r.verdict for r in log.failures} == {CRASH}


def _case(layer, config, dtype="float64", batch=1, kind="normal", seed=0, **kw):
    return Case(layer=layer, config=config, dtype=dtype, batch=batch, kind=kind, seed=seed, **kw)


def test_overflow_events_are_noted_on_failures_and_never_fail_a_stable_layer():
    for dtype in ("float32", "float64"):
        naive = _case("faults.NaiveSoftplus", {"shape": (3,)}, dtype, kind="overflow")
        (r,) = all_properties()["forward_tf"].fn(naive)
        assert not r.passed and "NumPy reported overflow" in r.note and r.verdict == "forward differs"
        stable = _case("faults.StableSoftplus", {"shape": (3,)}, dtype, kind="overflow")
        for prop in ("forward_tf", "grads_tf"):
            results = all_properties()[prop].fn(stable)
            assert all(r.passed for r in results), results[0].message()
            assert all("NumPy reported overflow" in r.note for r in results)


@settings(max_examples=50)
@given(seed=st.integers(0, 2 ** 32 - 1), dtype=st.sampled_from(["float32", "float64"]),
       n=st.integers(1, 12))
def test_the_overflow_kind_passes_exps_limit_on_every_draw(seed, dtype, n):
    x = make_values("overflow", (n,), np.dtype(dtype), np.random.default_rng(seed))
    assert x.dtype == dtype and x.max() > exp_overflow(dtype) > 88.7
    assert n == 1 or x.min() < -exp_overflow(dtype)
    with np.errstate(over="ignore"):
        assert not np.all(np.isfinite(np.log(1 + np.exp(x))))


def test_tutorial_dropout_is_made_repeatable_checked_and_says_so():
    case = _case("faults.TutorialDropout", {"shape": (3, 4), "p": 0.5}, batch=2, kind="fd_safe")
    for prop in ("grads_fd", "grads_tf", "forward_tf"):
        results = all_properties()[prop].fn(case)
        assert all(r.passed and r.judged for r in results), results[0].message()
        assert all(GLOBAL_RNG_NOTE in r.note for r in results)
    state = np.random.get_state()[1].copy()
    all_properties()["grads_fd"].fn(case)
    assert np.array_equal(np.random.get_state()[1], state)   # the caller's global state is restored


def test_an_unseeded_forward_is_reported_once_plainly():
    case = _case("faults.UnseededDropout", {"shape": (3, 4), "p": 0.5}, batch=2, kind="fd_safe")
    (r,) = all_properties()["grads_fd"].fn(case)
    assert not r.passed and r.verdict == "not deterministic"
    assert "two forwards on the same inputs and params gave different outputs" in r.note


ONE_PASS = dict(layer="faults.OnePassLayerNorm", config={"shape": (4,), "norm_dims": 1, "eps": 1e-5},
                values=((300.1, 300.37, 300.52, 300.83),))


def test_float32_round_off_in_correct_code_is_a_warning_not_a_failure():
    case = _case(**ONE_PASS, dtype="float32")
    for prop in ("forward_tf", "grads_tf"):
        results = all_properties()[prop].fn(case)
        warned = [r for r in results if r.warning]
        assert warned and all(r.passed for r in results), results[0].message()
        for r in warned:
            assert r.outcome == "WARN" and r.verdict == "float32 precision" and r.ratio > 1
            assert "in float64 pass" in r.explanation and "round-off" in r.explanation
            assert "float32 precision" in r.message() and "WARN" in r.message()
    assert all(r.passed and not r.warning for r in all_properties()["grads_tf"].fn(case.upcast()))


def test_the_float64_copy_holds_exactly_the_float32_values():
    case = _case(**ONE_PASS, dtype="float32", seed=7)
    up = case.upcast()
    assert up.dtype == "float64" and up.drawn_in == "float32"
    for a, b in zip(case.inputs(), up.inputs()):
        assert b.dtype == np.float64 and np.array_equal(a.astype(np.float64), b)
    lay32, lay64 = case.build(), up.build()
    for k in lay32.params:
        assert lay64.params[k].dtype == np.float64
        assert np.array_equal(lay32.params[k].astype(np.float64), lay64.params[k])
    assert np.array_equal(case.dout((2, 3)).astype(np.float64), up.dout((2, 3)))


def test_a_real_bug_in_float32_stays_a_failure():
    case = _case("planted.SigmoidWrongDerivative", {"shape": (2,)}, "float32")
    (r,) = all_properties()["grads_tf"].fn(case)
    assert not r.passed and not r.warning and r.verdict == "layer bug"
    assert "the float64 copy of this case fails too" in r.note


def test_a_failure_shrinks_to_simple_values_and_replays_as_printed(capsys):
    found = hunt("planted.SigmoidWrongDerivative", "grads_tf", max_examples=20)
    assert found.case.values == ((0.0,),)
    assert '"values": [[0.0]]' in found.failures[0].reproduce
    assert replay_main(shlex.split(found.failures[0].reproduce)[2:]) == 1
    assert "dx vs TF: FAIL" in capsys.readouterr().out


@pytest.mark.parametrize("kept", [False, True])
@pytest.mark.parametrize("draw", [None, "rand", "one normal", "reseed"])
def test_a_forward_drawing_from_the_global_state_is_seen(draw, kept):
    """Seen by one probe draw after the forward (also for a single normal, which leaves half
    a pair cached); the caller's state is back afterwards, around each forward or, inside
    ``kept_global_rng``, once at its end."""
    from properties.global_rng import kept_global_rng, seeded_global_rng
    layer_draws = {None: lambda: None, "rand": lambda: np.random.rand(3),
                   "one normal": lambda: np.random.standard_normal(),
                   "reseed": lambda: np.random.seed(99)}[draw]
    np.random.seed(2024)
    before = np.random.get_state()[1].copy()
    with kept_global_rng() if kept else contextlib.nullcontext():
        for _ in range(2):      # the same answer on every forward
            with seeded_global_rng(17) as used:
                layer_draws()
            assert used() == (draw is not None), draw
    assert np.array_equal(np.random.get_state()[1], before)
