"""The determinism probe before finite differences: REPEATS forwards on one point must agree.

The layer's own forward (a float64 case's) counts as one of them, so a deterministic
layer costs one forward of the float64 copy fewer; that output never decides alone: when
it differs from the copy's, the copy's own forwards decide.
"""

from properties import contract as C
from properties.catalog import entries
from properties.cases import Case
from properties.trial import REPEATS, Trial

entries()   # the catalog's layers registered


def _dense_trial(dtype="float64"):
    case = Case(layer="Dense", config={"shape": (5,), "out": 3}, dtype=dtype, batch=4,
                kind="normal", seed=11)
    trial = Trial(case, "grads_fd").setup()
    trial.run()
    return trial


def _counted(trial):
    """The trial's float64 function, counting its calls."""
    fn, calls = trial.float64_function(), []

    def counted(arrays):
        calls.append(1)
        return fn(arrays)
    trial._float64_fn = counted
    return calls


def test_a_float64_layers_own_forward_spares_one_forward_of_the_copy():
    trial = _dense_trial()
    calls = _counted(trial)
    assert trial.nondeterminism() == ""
    assert len(calls) == REPEATS - 1


def test_an_own_output_that_differs_from_the_copys_leaves_the_copy_to_decide():
    """A layer whose own forward differs from its copy's (a generator of its own, seeded apart
    from the snapshot's) is not called random when the copy repeats itself."""
    trial = _dense_trial()
    trial._own_out = trial._own_out + 1.0
    calls = _counted(trial)
    assert trial.nondeterminism() == ""
    assert len(calls) == REPEATS


def test_a_float32_case_runs_every_forward_on_the_copy():
    trial = _dense_trial("float32")
    assert trial._own_out is None
    calls = _counted(trial)
    assert trial.nondeterminism() == ""
    assert len(calls) == REPEATS


def test_a_copy_that_does_not_repeat_itself_is_not_deterministic_whatever_the_own_output():
    trial = _dense_trial()
    fn, state = trial.float64_function(), {"n": 0}

    def drifting(arrays):
        state["n"] += 1
        return fn(arrays) + (0.0 if state["n"] == 1 else 1e-3)
    trial._float64_fn = drifting
    why = trial.nondeterminism()
    assert why.startswith("two forwards on the same inputs and params gave different outputs")
    assert "max |difference| 0.001" in why


def test_a_forward_writing_into_its_input_is_not_called_random(tmp_path):
    """A softmax shifting and exponentiating the caller's x in place: its second forward on
    the probe's own arrays saw another x, and it was reported "not deterministic". Each
    forward now gets fresh arrays; no_mutation names the real fault."""
    from properties.search import hunt
    from tests.owncode_loading import collect_source
    source = '''
import numpy as np


class Softmax:
    def forward(self, x):
        x -= x.max(axis=1, keepdims=True)
        np.exp(x, out=x)
        x /= x.sum(axis=1, keepdims=True)
        self.out = x
        return x

    def backward(self, dout):
        s = self.out
        return s * (dout - (dout * s).sum(axis=1, keepdims=True))
'''
    collect_source(tmp_path, "inplace_softmax.py", source)
    for prop in ("grads_fd", "batch_additive"):
        bad = hunt("inplace_softmax.Softmax", prop, max_examples=10, shrink=False)
        assert bad is None or "not deterministic" not in {r.verdict for r in bad.failures}, \
            bad.failures[0].message()
    mutated = hunt("inplace_softmax.Softmax", "no_mutation", max_examples=10, shrink=False)
    assert mutated is not None and {r.verdict for r in mutated.failures} == {"layer bug"}


def test_estimates_that_agree_with_every_claim_need_no_probe():
    """The joint pass's acceptance needs no determinism probe: a forward moving from call to
    call makes its estimates noise, which agrees with no claim. Its point is the layer's own
    output (a float64 case's): the estimates cost only their own forwards."""
    trial = _dense_trial()
    out, dout, dins, grads = trial.run()
    probed = []
    trial.nondeterminism = lambda: probed.append(1) or ""
    calls = _counted(trial)
    fd = trial.fd(dout, claims=dict(trial.grad_pairs(dins, grads)))
    assert all(g.joint for g in fd.values())
    assert probed == [] and len(calls) % 2 == 0    # central differences only, no f(x) again


def test_a_claim_the_estimates_reject_is_judged_only_after_the_probe():
    """A wrong claim: the probe runs before the per-tensor estimates that can fail a layer, and
    a forward that does not repeat itself is said to be that, not a wrong gradient."""
    trial = _dense_trial()
    out, dout, dins, grads = trial.run()
    claims = dict(trial.grad_pairs(dins, grads))
    claims["dW"] = claims["dW"] * 2.0
    fn, state = trial.float64_function(), {"n": 0}

    def drifting(arrays):
        state["n"] += 1
        return fn(arrays) + 1e-3 * state["n"]
    trial._float64_fn = drifting
    try:
        trial.fd(dout, claims=claims)
    except C.LayerContractError as e:
        assert e.verdict == "not deterministic"
    else:
        raise AssertionError("a forward drifting from call to call was judged by finite differences")
