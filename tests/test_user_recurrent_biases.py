"""A recurrent cell with two biases (a "reset after" GRU's ``bx`` and ``bh``, PyTorch's
``b_ih`` / ``b_hh``): its weights were not read as a recurrent layer's, its hidden state was
tried at the input's width, and it was "not checked". The weights now say the shapes."""
import numpy as np

from oracle.user_hyper import recurrent_roles
from properties.search import hunt
from tests.owncode_loading import collect_source

GRU = '''
import numpy as np


def _sigmoid(v):
    return 1 / (1 + np.exp(-v))


class GRUCell:
    """n = tanh(x W_n + bx_n + r * (h U_n + bh_n)); h' = z * h + (1 - z) * n."""

    def __init__(self, input_size, hidden_size):
        H, rng = hidden_size, np.random.default_rng(0)
        self.params = {"W": rng.standard_normal((input_size, 3 * H)) * 0.5,
                       "U": rng.standard_normal((H, 3 * H)) * 0.5,
                       "bx": rng.standard_normal(3 * H) * 0.1,
                       "bh": rng.standard_normal(3 * H) * 0.1}
        self.grads = {}
        self.H = H

    def forward(self, x, h_prev):
        P, H = self.params, self.H
        gx, gh = x @ P["W"] + P["bx"], h_prev @ P["U"] + P["bh"]
        z = _sigmoid(gx[:, :H] + gh[:, :H])
        r = _sigmoid(gx[:, H:2 * H] + gh[:, H:2 * H])
        n = np.tanh(gx[:, 2 * H:] + r * gh[:, 2 * H:])
        self.cache = (x, h_prev, z, r, n, gh)
        return z * h_prev + (1 - z) * n

    def backward(self, dh):
        x, h_prev, z, r, n, gh = self.cache
        P, H = self.params, self.H
        dz = dh * (h_prev - n) * z * (1 - z)
        dn = dh * (1 - z) * (1 - n ** 2)
        dr = dn * {hn} * r * (1 - r)
        dgx = np.concatenate([dz, dr, dn], axis=1)
        dgh = np.concatenate([dz, dr, dn * r], axis=1)
        self.grads = {"W": x.T @ dgx, "U": h_prev.T @ dgh, "bx": dgx.sum(0), "bh": dgh.sum(0)}
        return dgx @ P["W"].T, dgh @ P["U"].T + dh * z
'''


def test_two_biases_still_make_a_recurrent_layer():
    params = {"W": np.zeros((3, 6)), "U": np.zeros((2, 6)), "bx": np.zeros(6), "bh": np.zeros(6)}
    assert recurrent_roles(params)[0] == ("W", "U", None, 3)    # (input first, as defined)


def test_a_reset_after_gru_is_checked_and_a_bias_left_out_of_its_backward_caught(tmp_path):
    found, _ = collect_source(tmp_path, "gru.py", GRU.replace("{hn}", "gh[:, 2 * H:]"))
    (label,) = found
    for prop in ("grads_fd", "batch_additive"):
        assert hunt(label, prop, max_examples=10, shrink=False) is None, prop
    (tmp_path / "bug").mkdir()
    found, _ = collect_source(tmp_path / "bug", "gru_bug.py", GRU.replace(
        "{hn}", "(h_prev @ P['U'][:, 2 * H:])"))        # bh_n left out of the reset gate's path
    (label,) = found
    failed = hunt(label, "grads_fd", max_examples=10)
    assert failed is not None and {"dx", "dh_prev"} <= {r.tensor for r in failed.failures}


def test_pytorchs_weight_layout_sizes_the_input_and_the_state(tmp_path):
    """W_ih (3H, D), W_hh (3H, H), as torch.nn.GRUCell keeps them: the state was tried at the
    input's width and the cell "not checked"."""
    torch_layout = GRU
    for old, new in (
            ('rng.standard_normal((input_size, 3 * H))', 'rng.standard_normal((3 * H, input_size))'),
            ('rng.standard_normal((H, 3 * H))', 'rng.standard_normal((3 * H, H))'),
            ('gx, gh = x @ P["W"] + P["bx"], h_prev @ P["U"] + P["bh"]',
             'gx, gh = x @ P["W"].T + P["bx"], h_prev @ P["U"].T + P["bh"]'),
            ('"W": x.T @ dgx, "U": h_prev.T @ dgh', '"W": dgx.T @ x, "U": dgh.T @ h_prev'),
            ('return dgx @ P["W"].T, dgh @ P["U"].T', 'return dgx @ P["W"], dgh @ P["U"]')):
        assert old in torch_layout, old
        torch_layout = torch_layout.replace(old, new)
    found, _ = collect_source(tmp_path, "gru_torch.py", torch_layout.replace("{hn}", "gh[:, 2 * H:]"))
    (label,) = found
    assert "x (N, 3); h_prev (N, 2) from W (6, 3), U (6, 2)" in found[label].how
    assert hunt(label, "grads_fd", max_examples=10, shrink=False) is None
