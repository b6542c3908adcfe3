"""min-char-rnn's style: a module-level ``lossFun(inputs, targets, hprev)`` returning the loss,
the gradients of the module's global weights and the last hidden state. It was "nothing
recognised to check"; each returned gradient is now checked against finite differences of
the loss with respect to the module's array."""
import numpy as np
import pytest

from tests.owncode_loading import collect_source

SOURCE = '''
import numpy as np

vocab_size, hidden_size = 7, 5
rng = np.random.default_rng(1)
Wxh = rng.standard_normal((hidden_size, vocab_size)) * 0.3
Whh = rng.standard_normal((hidden_size, hidden_size)) * 0.3
Why = rng.standard_normal((vocab_size, hidden_size)) * 0.3
bh = np.zeros((hidden_size, 1))
by = np.zeros((vocab_size, 1))


def lossFun(inputs, targets, hprev):
    xs, hs, ps = {}, {}, {}
    hs[-1] = np.copy(hprev)
    loss = 0
    for t in range(len(inputs)):
        xs[t] = np.zeros((vocab_size, 1))
        xs[t][inputs[t]] = 1
        hs[t] = np.tanh(Wxh @ xs[t] + Whh @ hs[t - 1] + bh)
        y = Why @ hs[t] + by
        ps[t] = np.exp(y) / np.sum(np.exp(y))
        loss += -np.log(ps[t][targets[t], 0])
    dWxh, dWhh, dWhy = np.zeros_like(Wxh), np.zeros_like(Whh), np.zeros_like(Why)
    dbh, dby = np.zeros_like(bh), np.zeros_like(by)
    dhnext = np.zeros_like(hs[0])
    for t in reversed(range(len(inputs))):
        dy = np.copy(ps[t])
        dy[targets[t]] -= 1
        dWhy += dy @ hs[t].T
        dby += dy
        dh = Why.T @ dy + {dhnext}
        dhraw = (1 - hs[t] * hs[t]) * dh
        dbh += dhraw
        dWxh += dhraw @ xs[t].T
        dWhh += dhraw @ hs[t - 1].T
        dhnext = Whh.T @ dhraw
    return loss, dWxh, dWhh, dWhy, dbh, dby, hs[len(inputs) - 1]


def sampleFun(h, seed_ix, n, temperature):
    """Not a loss: returns indices."""
    return [seed_ix] * n
'''


@pytest.mark.parametrize("dhnext, passes", [("dhnext", True), ("0", False)])
def test_the_returned_gradients_are_checked_against_the_module_weights(tmp_path, dhnext, passes):
    module = "charrnn" if passes else "charrnn_bug"
    found, collected = collect_source(tmp_path, f"{module}.py", SOURCE.replace("{dhnext}", dhnext))
    item = found[f"{module}.lossFun"]
    assert "on the module's Wxh, Whh, Why, bh, by" in item.how and "hprev (5, 1)" in item.how
    results = item.check()
    assert {r.tensor for r in results} == {"dWxh", "dWhh", "dWhy", "dbh", "dby"}
    failed = {r.tensor for r in results if not r.passed}
    if passes:
        assert not failed, [r.message() for r in results if not r.passed]
    else:       # dhnext left out: every gradient reached through the recurrence is wrong
        assert {"dWhh", "dbh"} <= failed and "dWhy" not in failed and "dby" not in failed
        assert {r.verdict for r in results if not r.passed} == {"layer bug"}


def test_the_module_weights_are_put_back(tmp_path):
    found, _ = collect_source(tmp_path, "charrnn_put.py", SOURCE.replace("{dhnext}", "dhnext"))
    item = found["charrnn_put.lossFun"]
    (fn,) = [c.cell_contents for c in item.check.__closure__
             if getattr(c.cell_contents, "__name__", "") == "lossFun"]
    module = fn.__globals__          # the user's module, as the check moves its weights
    before = {k: module[k].copy() for k in ("Wxh", "Whh", "Why", "bh", "by")}
    item.check()
    for k, v in before.items():
        np.testing.assert_array_equal(module[k], v)


LSTM_LIKE = """
import numpy as np

vocab_size, hidden_size = 6, 4
rng = np.random.default_rng(2)
W = rng.standard_normal((hidden_size, hidden_size + vocab_size)) * 0.3   # on [h; x]: no square
Wy = rng.standard_normal((vocab_size, hidden_size)) * 0.3


def lossFun(inputs, targets, hprev):
    hs, xs, ps = {-1: np.copy(hprev)}, {}, {}
    loss = 0.0
    for t in range(len(inputs)):
        x = np.zeros((vocab_size, 1))
        x[inputs[t]] = 1
        xs[t] = np.vstack([hs[t - 1], x])
        hs[t] = np.tanh(W @ xs[t])
        y = Wy @ hs[t]
        ps[t] = np.exp(y) / np.exp(y).sum()
        loss -= np.log(ps[t][targets[t], 0])
    dW, dWy, dh_next = np.zeros_like(W), np.zeros_like(Wy), np.zeros_like(hprev)
    for t in reversed(range(len(inputs))):
        dy = ps[t].copy()
        dy[targets[t]] -= 1
        dWy += dy @ hs[t].T
        dz = (1 - hs[t] ** 2) * (Wy.T @ dy + dh_next)
        dW += dz @ xs[t].T
        dh_next = (W.T @ dz)[:hidden_size]
    return loss, dW, dWy, hs[len(inputs) - 1]
"""


def test_a_state_is_sized_by_hidden_size_where_no_weight_is_square(tmp_path):
    found, collected = collect_source(tmp_path, "concat_rnn.py", LSTM_LIKE)
    assert "concat_rnn.lossFun" in found, collected.skipped
    assert "hprev (4, 1)" in found["concat_rnn.lossFun"].how
    assert all(r.passed for r in found["concat_rnn.lossFun"].check())


def test_a_loss_function_that_raises_is_a_failure_naming_its_line(tmp_path):
    """Its check runs the user's code: an exception there was a bare traceback from inside
    the harness; it is a failing result, "layer raised", with the user's file and line."""
    from properties.owncode_items import _checked
    source = SOURCE.replace("{dhnext}", "dhnext").replace(
        "    loss = 0\n", "    loss = 0\n    raise ValueError('a typo in the forward')\n")
    found, _ = collect_source(tmp_path, "charrnn_raises.py", source)
    (result,) = _checked(found["charrnn_raises.lossFun"])
    assert not result.passed and result.verdict == "layer raised"
    assert "ValueError: a typo in the forward" in result.note and "charrnn_raises.py:" in result.note
