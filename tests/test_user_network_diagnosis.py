"""A whole network whose gradient() divides by the batch twice got no diagnosis: the network's
config named x's shape but not the batch size, which is what says what a factor 1/N means."""
from tests.owncode_loading import collect_source

NET = '''
import numpy as np


class TwoLayerNet:
    def __init__(self, input_size=4, hidden_size=5, output_size=3):
        rng = np.random.default_rng(0)
        self.params = {"W1": rng.standard_normal((input_size, hidden_size)), "b1": np.zeros(hidden_size),
                       "W2": rng.standard_normal((hidden_size, output_size)), "b2": np.zeros(output_size)}

    def _scores(self, x):
        self.h = np.tanh(x @ self.params["W1"] + self.params["b1"])
        return self.h @ self.params["W2"] + self.params["b2"]

    def loss(self, x, t):
        d = self._scores(x) - t
        return 0.5 * np.sum(d ** 2) / len(x)

    def gradient(self, x, t):
        n = len(x)
        dy = (self._scores(x) - t) / n
        grads = {"W2": self.h.T @ dy {twice}, "b2": dy.sum(axis=0)}
        dh = dy @ self.params["W2"].T * (1 - self.h ** 2)
        grads["W1"], grads["b1"] = x.T @ dh, dh.sum(axis=0)
        return grads
'''


def test_a_network_dividing_by_the_batch_twice_is_diagnosed(tmp_path):
    found, _ = collect_source(tmp_path, "net_diag_twice.py", NET.replace("{twice}", "/ n"))
    (label,) = found
    failed = [r for r in found[label].check() if not r.passed and r.prop == "network_gradient"]
    assert [r.tensor for r in failed] == ["W2"]
    assert failed[0].diagnosis["kind"] == "constant factor"
    assert "1/N with N = " in failed[0].diagnosis["summary"]


def test_the_correct_network_passes(tmp_path):
    found, _ = collect_source(tmp_path, "net_diag_ok.py", NET.replace("{twice}", ""))
    (label,) = found
    assert all(r.passed for r in found[label].check())
