"""A recurrent step on the input and the state side by side, ``[x, h] @ W`` with one weight W
(D + H, G*H) (Karpathy's LSTM, most blog posts'): its state was tried at widths no forward
took, and the cell was "not checked". The weight's rows and columns, or the hidden size the
layer keeps, now say the shapes."""
import numpy as np

from properties.search import hunt
from properties.user_recurrent import concatenated_templates
from tests.owncode_loading import collect_source

LSTM = '''
import numpy as np


def _sig(v):
    return 1.0 / (1.0 + np.exp(-v))


class {name}:
    """Gates i, f, o, g from one weight on [x, h_prev]."""

    def __init__(self, n_in, n_out):
        rng = np.random.default_rng(0)
        self.W = rng.standard_normal((n_in + n_out, 4 * n_out)) * 0.3
        self.b = np.zeros(4 * n_out)
        {kept}

    def forward(self, x, h_prev, c_prev):
        H = self.W.shape[1] // 4
        xh = np.hstack([x, h_prev])
        a = xh @ self.W + self.b
        i, f, o = _sig(a[:, :H]), _sig(a[:, H:2 * H]), _sig(a[:, 2 * H:3 * H])
        g = np.tanh(a[:, 3 * H:])
        c = f * c_prev + i * g
        h = o * np.tanh(c)
        self.cache = (xh, c_prev, i, f, o, g, c)
        return h

    def backward(self, dh):
        xh, c_prev, i, f, o, g, c = self.cache
        n_x = xh.shape[1] - i.shape[1]
        tc = np.tanh(c)
        dc = dh * o * (1 - tc ** 2)
        da = np.hstack([dc * g * i * (1 - i), dc * c_prev * f * (1 - f),
                        dh * tc * o * (1 - o), dc * i * (1 - g ** 2)])
        self.dW, self.db = xh.T @ da, da.sum(axis=0)
        dxh = da @ self.W.T
        return dxh[:, :n_x], dxh[:, n_x:], dc * {dc_prev}
'''


def _source(name="LSTMCell", kept="", dc_prev="f"):
    return LSTM.replace("{name}", name).replace("{kept}", kept or "pass").replace(
        "{dc_prev}", dc_prev)


class _Held:
    pass


class LSTMHeld:
    pass


def test_the_weights_rows_and_columns_give_the_input_and_the_state():
    names = ("x", "h_prev", "c_prev")
    params = {"W": np.zeros((7, 8)), "b": np.zeros(8)}
    found = [t for t, _ in concatenated_templates(LSTMHeld(), params, names)]   # 4: the name
    assert found == [(("N", 5), ("N", 2), ("N", 2))]
    # gates not said: 4 (H 2), 3 (8 columns do not split), 1 (H 8, more than W's 7 rows)
    found = [t for t, _ in concatenated_templates(_Held(), params, names)]
    assert found == [(("N", 5), ("N", 2), ("N", 2))]
    params = {"W": np.zeros((9, 6)), "b": np.zeros(6)}    # 4 no; 3: H 2, x 7; 1: H 6, x 3
    found = [t for t, _ in concatenated_templates(_Held(), params, names)]
    assert found == [(("N", 7), ("N", 2), ("N", 2)), (("N", 3), ("N", 6), ("N", 6))]
    held = _Held()
    held.hidden_size = 3       # kept by the layer: said first
    (first, how), *_ = concatenated_templates(held, {"W": np.zeros((7, 8))}, names)
    assert first == (("N", 4), ("N", 3), ("N", 3)) and "hidden_size" in how
    assert list(concatenated_templates(_Held(), params, ("x",))) == []    # no state: not a step


def test_an_lstm_on_x_and_h_side_by_side_is_checked_and_its_slip_caught(tmp_path):
    (tmp_path / "ok").mkdir()
    found, _ = collect_source(tmp_path / "ok", "lstm_concat.py", _source())
    (label,) = found
    for prop in ("grads_fd", "batch_additive"):
        assert hunt(label, prop, max_examples=10, shrink=False) is None, prop
    (tmp_path / "bug").mkdir()
    found, _ = collect_source(tmp_path / "bug", "lstm_concat_bug.py", _source(dc_prev="1.0"))
    (label,) = found
    failed = hunt(label, "grads_fd", max_examples=10)
    assert failed is not None and "dc_prev" in {r.tensor for r in failed.failures}


def test_a_kept_hidden_size_sizes_a_cell_whose_name_says_no_gates(tmp_path):
    """A class named ``Cell`` (no LSTM in the name) keeping ``self.hidden_size``."""
    (tmp_path / "kept").mkdir()
    found, _ = collect_source(tmp_path / "kept", "cell_concat.py",
                              _source(name="Cell", kept="self.hidden_size = n_out"))
    (label,) = found
    assert hunt(label, "grads_fd", max_examples=5, shrink=False) is None


def test_a_params_dict_cell_is_sized_by_the_same_weight(tmp_path):
    """The same step keeping ``self.params`` / ``self.grads`` dicts (the forward is then run
    on shapes read from the dict, not probed for attributes)."""
    source = _source().replace("rng = np.random.default_rng(0)",
                               "rng = np.random.default_rng(0)\n        self.params = {}")
    for old, new in (("self.W =", "self.params['W'] ="), ("self.b =", "self.params['b'] ="),
                     ("self.W", "self.params['W']"), ("+ self.b", "+ self.params['b']"),
                     ("self.dW, self.db = xh.T @ da, da.sum(axis=0)",
                      "self.grads = {'W': xh.T @ da, 'b': da.sum(axis=0)}")):
        source = source.replace(old, new)
    assert "self.dW" not in source and "self.b" not in source
    (tmp_path / "dict").mkdir()
    found, _ = collect_source(tmp_path / "dict", "lstm_dict.py", source)
    (label,) = found
    assert hunt(label, "grads_fd", max_examples=5, shrink=False) is None
