"""A functional pair whose params come in one dict (``ffn_forward(x, params)`` with
``dx, grads = ffn_backward(dout, cache)``, the dict made by ``init_ffn(...)`` beside them) was
driven with a float array for ``params`` and could not be checked; the hint it suggested,
``params=(...)``, gave a correct one six "layer raised" failures. A helper pair whose second
function takes other arguments (``_act(x) -> (a, t)``, ``_act_grad(x, t)``) made a correct file
exit 3 although it is no derivative pair."""
import pytest

from properties.search import hunt
from tests.owncode_loading import collect_source

FFN = '''
import numpy as np


def init_block(d_in, d_hidden, seed=0):
    rng = np.random.default_rng(seed)
    return {"W1": rng.standard_normal((d_in, d_hidden)) * 0.5, "b1": np.zeros(d_hidden),
            "W2": rng.standard_normal((d_hidden, d_in)) * 0.5, "b2": np.zeros(d_in)}


def _act(x):
    t = np.tanh(x)
    return t, 1 - t ** 2


def _act_grad(x, slope):
    return slope


def block_forward(x, params):
    h = x @ params["W1"] + params["b1"]
    a, slope = _act(h)
    return a @ params["W2"] + params["b2"] + x, (x, a, slope, params)


def block_backward(dout, cache):
    x, a, slope, params = cache
    dh = dout @ params["W2"].T * {chain}
    grads = {"dW2": a.T @ dout, "db2": dout.sum(axis=0), "dW1": x.T @ dh, "db1": dh.sum(axis=0)}
    return dh @ params["W1"].T {residual}, grads
'''


def _source(chain, residual):
    return FFN.replace("{chain}", chain).replace("{residual}", residual)


@pytest.mark.parametrize("changes, failing", [
    (dict(chain="_act_grad(None, slope)", residual="+ dout"), None),
    (dict(chain="1.0", residual="+ dout"), {"dW1", "db1", "dx"}),     # the tanh's slope left out
    (dict(chain="slope", residual=""), {"dx"}),                       # the residual's dout lost
])
def test_a_params_dict_made_by_its_initializer_is_checked(tmp_path, changes, failing):
    module = f"ffn_{len(failing or ())}"
    found, collected = collect_source(tmp_path, f"{module}.py", _source(**changes))
    assert f"{module}.block" in found, {s.label: s.reason for s in collected.skipped}
    assert "params from init_block(): W1 (3, 2), b1 (2,), W2 (2, 3), b2 (3,)" in \
        found[f"{module}.block"].how
    assert {s.label for s in collected.skipped if s.unchecked} == set()     # _act: no pair
    bad = hunt(f"{module}.block", "grads_fd", max_examples=5, shrink=False)
    if failing is None:
        assert bad is None and hunt(f"{module}.block", "batch_additive", max_examples=5,
                                    shrink=False) is None
    else:
        assert bad is not None and {r.tensor for r in bad.failures} <= failing
        assert {r.verdict for r in bad.failures} <= {"layer bug", "layer vs fd"}


def test_without_an_initializer_it_says_what_is_missing(tmp_path):
    source = _source(chain="slope", residual="+ dout").replace("def init_block", "def other")
    found, collected = collect_source(tmp_path, "noinit.py", source)
    reason = {s.label: s.reason for s in collected.skipped}["noinit.block_forward"]
    assert "takes its params as one dict (params)" in reason and "init_block(...)" in reason


BARE = '''
import numpy as np


def init_params(D, H, C, std=1e-2):
    return {"W1": std * np.random.randn(D, H), "b1": np.zeros(H),
            "W2": std * np.random.randn(H, C), "b2": np.zeros(C)}


def forward(X, params):
    h = X.dot(params["W1"]) + params["b1"]
    a = np.maximum(0, h)
    return a.dot(params["W2"]) + params["b2"], (X, h, a)


def backward(dout, cache, params):
    X, h, a = cache
    grads = {"W2": a.T.dot(dout), "b2": dout.sum(axis=0)}
    dh = dout.dot(params["W2"].T) {mask}
    grads["W1"], grads["b1"] = X.T.dot(dh), dh.sum(axis=0)
    return grads
'''


def test_module_functions_forward_and_backward_on_a_params_dict_are_a_pair(tmp_path):
    """``forward(X, params)`` beside ``backward(dout, cache, params)`` returning the params'
    gradients alone (no dX): never found, so a ReLU mask left out passed silently."""
    found, _ = collect_source(tmp_path, "twolayer.py", BARE.replace("{mask}", "* (h > 0)"))
    item = found["twolayer.forward"]
    assert "backward returns no dx (params only)" in item.how and "init_params()" in item.how
    assert hunt("twolayer.forward", "grads_fd", max_examples=10, shrink=False) is None
    (tmp_path / "bug").mkdir()
    found, _ = collect_source(tmp_path / "bug", "twolayer_bug.py", BARE.replace("{mask}", ""))
    failed = hunt("twolayer_bug.forward", "grads_fd", max_examples=10)
    assert failed is not None and {r.tensor for r in failed.failures} <= {"dW1", "db1"}
