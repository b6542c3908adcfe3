"""The battery's verified example: ``grads_tf`` and ``grads_fd`` checked on one case (``grads``).

Joined, the two say exactly what each says alone, on the same case (or, where finite
differences are not asked about the case's kind of values, on its sibling in one of
their kinds), while the layer is built once and run once.
"""
import shlex

import numpy as np
import pytest
from hypothesis import strategies as st

import layers as L
import tests.faults.corpus  # noqa: F401  (registers the fault entries)
import tests.planted.core  # noqa: F401  (registers the planted entries)
from properties.battery import GRADS, all_properties, battery_pairs, property_named
from properties.cases import Case
from properties.catalog import entries, get
from properties.declare import sibling
from properties.registry import Entry, register
from properties.search import hunt, run_property
from reports.collect import ResultLog

entries()
PARTS = ("grads_tf", "grads_fd")
COUNTS = {"build": 0, "backward": 0}


class CountedDense(L.Dense):
    def backward(self, dout):
        COUNTS["backward"] += 1
        return super().backward(dout)


def _counted_build(c, rng, dtype):
    COUNTS["build"] += 1
    return CountedDense(c["d"], c["m"], rng=rng, dtype=dtype)


register(Entry("joint.CountedDense", _counted_build, st.just({"d": 6, "m": 4}),
               input_shapes=lambda c, n: [(n, c["d"])],
               twin=lambda layer, x, W, b: x @ W + b), planted=__name__)


def _case(layer, config, kind="normal", dtype="float64", batch=3, seed=5):
    return Case(layer=layer, config=config, dtype=dtype, batch=batch, kind=kind, seed=seed)


def _said(results):
    return [(r.prop, r.tensor, r.oracle, r.passed, r.warning, r.verdict) for r in results]


def _alone(case):
    """What grads_tf and grads_fd say run one after the other, each on its own trial."""
    props, out = all_properties(), []
    for name in PARTS:
        kinds = props[name].kinds(case.entry)
        out += props[name].fn(case if case.kind in kinds else sibling(case, kinds))
    return out


CASES = [
    ("Dense", {"shape": (4,), "out": 3}, "normal"),           # shared: a kind both draw
    ("Dense", {"shape": (4,), "out": 3}, "large"),            # finite differences on a sibling
    ("ReLU", {"shape": (5,)}, "ties"),
    ("planted.DenseTransposedDW", {"out": 2, "shape": [2]}, "normal"),
    ("planted.DenseTransposedDW", {"out": 2, "shape": [2]}, "ties"),
    ("planted.SigmoidWrongDerivative", {"shape": [3]}, "normal"),
    ("planted.ReLUGradAtZeroIsOne", {"shape": [4]}, "ties"),
    ("planted.MSEMissingMean", {"shape": [3]}, "fd_safe"),
    ("faults.KeyErrorInBackward", {"shape": (3,)}, "normal"),      # a crash: both parts say it
    ("faults.RuntimeErrorInForward", {"shape": (3,)}, "normal"),
    ("faults.UnseededDropout", {"shape": (3, 4), "p": 0.5}, "normal"),   # not deterministic
    ("faults.TwinRaises", {"shape": (3,)}, "normal"),              # a harness error, not shared
]


@pytest.mark.parametrize("layer,config,kind", CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_joined_they_say_what_each_says_alone(layer, config, kind, dtype):
    case = _case(layer, config, kind, dtype)
    joined, alone = GRADS.fn(case), _alone(case)
    assert _said(joined) == _said(alone)
    assert {r.prop for r in joined} == set(PARTS)
    for a, b in zip(joined, alone):
        assert a.config == b.config and a.reproduce == b.reproduce


def test_a_kind_finite_differences_skip_is_estimated_on_a_sibling_of_their_own_kinds():
    case = _case("Dense", {"shape": (4,), "out": 3}, kind="overflow", seed=7)
    fd = [r for r in GRADS.fn(case) if r.prop == "grads_fd"]
    kinds = all_properties()["grads_fd"].kinds(case.entry)
    assert fd and {r.config["kind"] for r in fd} == {kinds[7 % len(kinds)]}
    assert {r.config["seed"] for r in fd} == {7} and all(r.passed for r in fd)


def test_the_layer_is_built_once_and_run_once_for_both_oracles():
    case = _case("joint.CountedDense", {"d": 6, "m": 4}, kind="normal")
    COUNTS.update(build=0, backward=0)
    results = GRADS.fn(case)
    assert all(r.passed for r in results) and {r.prop for r in results} == set(PARTS)
    assert COUNTS == {"build": 1, "backward": 1}
    COUNTS.update(build=0, backward=0)
    _alone(case)         # the two alone: a build and a run each, and a build for the float64 copy
    assert COUNTS["build"] >= 3 and COUNTS["backward"] == 2


def test_a_float32_case_builds_its_float64_copy_apart():
    """The float64 copy taken from the layer as built is a float64 case's only: a float32
    layer's copy is built in float64 from the seed, as alone."""
    case = _case("joint.CountedDense", {"d": 6, "m": 4}, kind="normal", dtype="float32")
    COUNTS.update(build=0, backward=0)
    assert all(r.passed for r in GRADS.fn(case))
    assert COUNTS == {"build": 2, "backward": 1}


def test_the_battery_runs_the_two_as_one_and_every_other_property_as_before():
    names = [p.name for _, p in battery_pairs([get("Dense")])]
    assert "grads" in names and not set(PARTS) & set(names)
    rest = [n for n, p in all_properties().items() if not p.specialised and n not in PARTS]
    assert [n for n in names if n != "grads"] == rest
    assert property_named("grads") is GRADS and property_named("grads_fd").name == "grads_fd"


@pytest.mark.planted
@pytest.mark.parametrize("entry,caught_by", [("planted.DenseTransposedDW", set(PARTS)),
                                             ("planted.MSEMissingMean", {"grads_fd"}),
                                             ("planted.SigmoidWrongDerivative", set(PARTS))])
def test_a_search_of_the_joined_property_finds_what_its_parts_find(entry, caught_by):
    found = hunt(entry, "grads", max_examples=30)
    assert found is not None
    assert caught_by <= {r.prop for r in found.failures}
    assert {r.verdict for r in found.failures} == {"layer bug"}, found.failures[0].message()


def test_a_failure_on_a_sibling_replays_as_printed(capsys):
    from properties.replay import main
    case = _case("planted.DenseTransposedDW", {"out": 2, "shape": [2]}, kind="large", seed=4)
    (fd,) = [r for r in GRADS.fn(case) if r.prop == "grads_fd" and not r.passed]
    assert '"kind": "large"' not in fd.reproduce
    argv = shlex.split(fd.reproduce)[2:]
    assert main(argv) == 1
    assert "[grads_fd] dW vs FD: FAIL" in capsys.readouterr().out


def test_the_battery_search_of_the_joined_property_sets_kinks_aside_as_its_parts_did():
    fixed = dict(derandomize=True, database=None, max_examples=30)
    with pytest.raises(AssertionError) as info:
        run_property(GRADS, get("planted.LeakyReLUSlopeOne"), ResultLog(), **fixed)
    text = str(info.value)
    assert text.index("verdict: layer bug") < text.index("the layer also differs at kinks")
    with pytest.raises(AssertionError) as info:
        run_property(GRADS, get("planted.ReLUGradAtZeroIsOne"), ResultLog(), **fixed)
    assert "verdict: kink convention" in str(info.value)
    assert "verdict: layer bug" not in str(info.value)


def test_the_shared_run_is_the_layers_own_arrays_not_copies_made_again():
    """The second part gets the first part's run itself (the same arrays)."""
    from properties.trial import Trial
    case = _case("Dense", {"shape": (4,), "out": 3})
    first = Trial(case, "grads_tf").shared(finite_differences=True).setup()
    ran = first.run()
    second = first.shared_as("grads_fd")
    again = second.run()
    assert all(a is b for a, b in zip(ran[:2], again[:2]))
    assert second.prop == "grads_fd" and first.prop == "grads_tf"
    assert np.array_equal(second.float64_function()(
        {"x": first.inputs[0], **first.params0}), ran[0])


def test_a_case_replays_through_the_joined_property_too(capsys):
    """``replay grads CASE`` (the battery's test name) runs both parts on the case."""
    from properties.replay import main
    case = _case("planted.DenseTransposedDW", {"out": 2, "shape": [2]})
    (tf,) = [r for r in GRADS.fn(case) if r.prop == "grads_tf" and r.tensor == "dW"]
    argv = shlex.split(tf.reproduce)[2:]
    argv[argv.index("grads_tf")] = "grads"
    assert main(argv) == 1
    printed = capsys.readouterr().out
    assert "[grads_tf] dW vs TF: FAIL" in printed and "[grads_fd] dW vs FD: FAIL" in printed


class LayerNormBatchSums(L.LayerNorm):
    """A layer norm whose backward sums its two mean terms over the batch axis (a BatchNorm's
    backward pasted in): wrong wherever the batch has more than one sample, or xhat is not 0."""

    def backward(self, dout):
        xhat, inv, g = self._xhat, self._inv_std, self.params["gamma"]
        self.grads["gamma"], self.grads["beta"] = (dout * xhat).sum(axis=0), dout.sum(axis=0)
        d = dout * g
        n = d.shape[1]
        return inv / n * (n * d - d.sum(axis=0, keepdims=True)
                          - xhat * (d * xhat).sum(axis=0, keepdims=True))


register(Entry("joint.LayerNormBatchSums", lambda c, rng, dtype: LayerNormBatchSums(c["d"]),
               st.just({"d": 3}), input_shapes=lambda c, n: [(n, c["d"])]), planted=__name__)


@pytest.mark.planted
def test_a_part_with_nothing_to_say_on_the_shrunk_case_is_searched_on_its_own():
    """The joined search shrinks the layer norm's TF failure to all-zero inputs, where the
    variance vanishes and finite differences cannot judge (every stencil crosses the 1/eps
    curvature): grads_fd passed there. Searched on its own, it finds its own failing case,
    and both columns show the bug."""
    log = ResultLog()
    with pytest.raises(AssertionError) as info:
        run_property(GRADS, get("joint.LayerNormBatchSums"), log, derandomize=True,
                     database=None, max_examples=25)
    text = str(info.value)
    assert "grads_fd, searched on its own" in text
    assert text.index("[grads_tf]") < text.index("searched on its own") < text.rindex("[grads_fd]")
    failed = {r.prop for r in log.records if not r.passed}
    assert failed == set(PARTS), [r.message() for r in log.records if not r.passed]


def test_a_passing_joined_search_searches_no_part_again(monkeypatch):
    from properties import search
    called = []
    monkeypatch.setattr(search, "_search_alone", lambda *a: called.append(a))
    run_property(GRADS, get("Dense"), ResultLog(), derandomize=True, database=None,
                 max_examples=5)
    assert called == []


@pytest.mark.parametrize("name", ["Conv2D", "MaxPool2D.overlapping", "BatchNorm", "Dropout",
                                  "LSTMCell", "LayerNorm"])
def test_on_drawn_cases_of_stateful_and_random_layers_joined_is_the_parts(name):
    """A batch norm's running statistics, a dropout's mask, a recurrent cell's two inputs, a
    pool's ties: what the battery draws, the joined property says as the two parts alone."""
    from hypothesis import HealthCheck, given, settings
    from properties.cases import cases
    entry = get(name)

    @settings(max_examples=5, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(case=cases(entry, kinds=GRADS.kinds(entry), extra=GRADS.extra,
                      min_batch=GRADS.min_batch, modes=GRADS.modes(entry)))
    def joined_is_alone(case):
        assert _said(GRADS.fn(case)) == _said(_alone(case))
    joined_is_alone()


GELU_EXACT_SLOPE = '''
import numpy as np
from math import erf

_erf = np.vectorize(erf)


def gelu_forward(x):
    t = np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x ** 3))
    return 0.5 * x * (1.0 + t), (x,)


def gelu_backward(dout, cache):
    x, = cache
    return dout * (0.5 * (1.0 + _erf(x / np.sqrt(2.0))) + x * np.exp(-0.5 * x ** 2)
                   / np.sqrt(2.0 * np.pi))
'''


def test_a_bug_found_plainly_on_its_own_leads_a_shrunk_marginal_difference(tmp_path):
    """A tanh-GELU differentiated as the exact one: the joined search shrank to x = 0.04,
    where it is off TF by 1.5 tolerances, 'below fd resolution' ("the layer or the twin
    slightly off"), and finite differences searched on their own found 240 tolerances, a
    layer bug, listed second: a reader stopping at the first block took a bug for a twin's."""
    from tests.owncode_loading import collect_source
    found, _ = collect_source(tmp_path, "gelu_mixed.py", GELU_EXACT_SLOPE)
    (label,) = found
    log = ResultLog()
    with pytest.raises(AssertionError) as info:
        run_property(GRADS, get(label), log, derandomize=True, database=None, max_examples=25)
    text = str(info.value)
    first = text.split("\n\n", 1)[0]
    assert first.startswith("grads_fd, searched on its own") and "case below" in first
    assert text.index("verdict: layer bug") < text.index("'below fd resolution' (listed second")
    assert text.index("(listed second") < text.index("verdict: below fd resolution")


def test_a_layer_without_a_tf_twin_has_its_failure_shown_once():
    """With no TF twin, ``grads_tf`` falls back to the very finite-difference comparison
    ``grads_fd`` makes: the failure is shown once, saying so, and both cells are logged."""
    import tests.planted.conv  # noqa: F401  (registers the planted conv entries)
    log = ResultLog()
    with pytest.raises(AssertionError) as info:
        run_property(GRADS, get("planted.Conv2DDilatedChannelSumDropped"), log,
                     derandomize=True, database=None, max_examples=30)
    text = str(info.value)
    assert text.count(" dx vs FD: FAIL") == 1 and "[grads_fd] dx vs FD: FAIL" in text
    assert "grads_tf's cell is this very comparison" in text
    assert {(r.prop, r.oracle) for r in log.failures} == {("grads_tf", "fd"), ("grads_fd", "fd")}
