"""A user layer's params are drawn afresh for every case; standard normal draws replaced the
weights of a fixed-point layer its author had scaled down to a contraction, its iteration
did not converge, and a right implicit gradient failed. Each param is now drawn at most at the
scale its own init gives it; a layer initialised at 1 or above, or at 0, is drawn as before.
A param its init makes all of one sign keeps that sign: an RBF's precisions made ones, drawn
negative, turned its decaying exp into one overflowing on large inputs (a false alarm)."""
import numpy as np

from properties.user_draws import at_own_scale
from tests.owncode_loading import hunt_alone

FIXED_POINT = '''
import numpy as np


class FixedPoint:
    """z = tanh(z W + x), solved by iteration; x: (N, D)"""

    def __init__(self, dim=3, seed=0):
        self.W = 0.4 * np.random.default_rng(seed).standard_normal((dim, dim)) / np.sqrt(dim)

    def forward(self, x):
        z = np.zeros_like(x)
        for _ in range(300):
            z = np.tanh(z @ self.W + x)
        self.x, self.z = x, z
        return z

    def backward(self, dz):
        d = 1 - self.z ** 2                       # implicit: g = dz + (g * d) @ W.T
        g = dz.copy()
        for _ in range(300):
            g = dz + (g * d) @ self.W.T
        self.dW = self.z.T @ (g * d){dw_scale}
        return g * d
'''


def test_a_contraction_keeps_its_scale_and_its_implicit_gradient_passes(tmp_path):
    item, failed = hunt_alone(tmp_path, "fixed", FIXED_POINT.replace("{dw_scale}", ""))
    assert failed is None, failed
    _, failed = hunt_alone(tmp_path, "fixed_bug", FIXED_POINT.replace("{dw_scale}", " * 2"))
    assert failed is not None and {r.tensor for r in failed.failures} == {"dW"}


def test_only_params_initialised_below_one_are_drawn_smaller():
    class Layer:
        params = {"W": np.full((4, 4), 0.1), "b": np.zeros(4), "g": np.full(4, 2.0)}
    draw = at_own_scale(Layer())
    w = draw("W", (200, 200), np.random.default_rng(0))
    b = draw("b", (200, 200), np.random.default_rng(0))
    assert abs(np.sqrt(np.mean(w ** 2)) - 0.1) < 0.01 and abs(b.std() - 1.0) < 0.05
    g = draw("g", (200, 200), np.random.default_rng(0))     # all 2.0: positive, at scale 1
    assert np.all(g >= 0) and abs(np.sqrt(np.mean(g ** 2)) - 1.0) < 0.05
    assert np.all(w >= 0) and (b < 0).any()

    class Mixed:
        params = {"W": np.array([[1.5, -2.0], [3.0, 1.0]]), "b": np.zeros(2)}
    assert at_own_scale(Mixed()) is None


RBF = '''
import numpy as np


class RBF:
    """phi[n, j] = exp(-beta_j * ||x_n - c_j||^2)"""
    def __init__(self, in_dim=3, n_centers=4):
        self.centers = np.random.default_rng(1).standard_normal((n_centers, in_dim))
        self.betas = np.ones(n_centers)

    def forward(self, x):
        self.diff = x[:, None, :] - self.centers[None]
        self.sq = np.sum(self.diff ** 2, axis=-1)
        self.phi = np.exp(-self.betas * self.sq)
        return self.phi

    def backward(self, dout):
        g = dout * self.phi
        self.dbetas = -np.sum(g * self.sq, axis=0)
        gs = -2.0 * g * self.betas
        self.dcenters = -np.einsum("nm,nmd->md", gs, self.diff){slip}
        return np.einsum("nm,nmd->nd", gs, self.diff)
'''


def test_a_param_made_positive_is_drawn_positive_and_its_exp_stays_in_range(tmp_path):
    for prop in ("grads_tf", "grads_fd"):
        _, failed = hunt_alone(tmp_path, f"rbf_{prop}", RBF.replace("{slip}", ""), prop, 25)
        assert failed is None, (prop, [r.message() for r in failed.failures][:1])
    _, failed = hunt_alone(tmp_path, "rbf_bug", RBF.replace("{slip}", " / 2"), "grads_fd", 25)
    assert failed is not None and {r.tensor for r in failed.failures} == {"dcenters"}
