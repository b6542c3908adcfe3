"""Reinforcement-learning code with hand-written gradients: Karpathy's policy_forward /
policy_backward(eph, epdlogp) over a module-level model (it was driven as a cs231n pair and
a right file failed), a policy's score function grad_log_prob(s, a) beside its log_prob or
its probabilities, log_pi / grad_log_pi functions, and learners whose update(...) takes an
episode or a transition (one was called an optimizer "to be renamed", one failed as a
self-updating layer)."""
import pytest

from tests.owncode_loading import collect_source

PONG = '''
import numpy as np

model = {"W1": np.random.default_rng(0).standard_normal((6, 4)) / 2,
         "W2": np.random.default_rng(1).standard_normal(6) / 2}


def policy_forward(x):
    h = model["W1"] @ x
    h[h < 0] = 0
    return 1.0 / (1.0 + np.exp(-(model["W2"] @ h))), h


def policy_backward(eph, epdlogp):
    dW2 = (eph.T @ epdlogp).ravel()
    dh = np.outer(epdlogp, model["W2"])
    dh[{mask}] = 0
    return {"W1": dh.T @ epx, "W2": dW2}
'''

SCORE = '''
import numpy as np


class SoftmaxPolicy:
    def __init__(self, n_features, n_actions, lr=0.01):
        self.theta = np.random.default_rng(0).normal(size=(n_features, n_actions))
        self.n_actions, self.lr = n_actions, lr

    def forward(self, state):
        z = state @ self.theta
        e = np.exp(z - z.max())
        return e / e.sum()

    def grad_log_prob(self, state, action):
        onehot = np.eye(self.n_actions)[action]
        return np.outer(state, onehot {expected})

    def update(self, episode, gamma=0.99):
        for s, a, r in episode:
            self.theta += self.lr * r * self.grad_log_prob(s, a)


def log_pi(theta, log_sigma, s, a):
    mu = theta @ np.array([1.0, s, s * s])
    return -log_sigma - (a - mu) ** 2 / (2 * np.exp(2 * log_sigma))


def grad_log_pi(theta, log_sigma, s, a):
    mu = theta @ np.array([1.0, s, s * s])
    z2 = (a - mu) ** 2 / np.exp(2 * log_sigma)
    return (a - mu) / np.exp(2 * log_sigma) * np.array([1.0, s, s * s]), z2 {minus_one}


class LinearCritic:
    def __init__(self, n_features, alpha=0.1, gamma=0.9):
        self.w, self.alpha, self.gamma = np.zeros(n_features), alpha, gamma

    def update(self, s, r, s_next, done):
        target = r + (0.0 if done else self.gamma * s_next @ self.w)
        self.w += self.alpha * (target - s @ self.w) * s
'''


@pytest.mark.parametrize("mask, passes", [("eph <= 0", True), ("eph > 0", False)])
def test_karpathys_policy_backward_is_the_logits_vjp(tmp_path, mask, passes):
    module = f"pong_{int(passes)}"
    found, collected = collect_source(tmp_path, f"{module}.py", PONG.replace("{mask}", mask))
    item = found[f"{module}.policy"]
    assert "sigmoid policy" in item.how and "model W1 (6, 4), W2 (6,)" in item.how
    results = item.check()
    assert all(r.passed for r in results) == passes, [r.message() for r in results if not r.passed][:1]


@pytest.mark.parametrize("expected, minus_one, passes", [
    ("- self.forward(state)", "- 1.0", True),
    ("", "- 1.0", False),             # the expected features left out of the score
    ("- self.forward(state)", "", False),     # the log-sigma gradient missing its -1
])
def test_score_functions_are_checked_against_the_log_probability(tmp_path, expected, minus_one,
                                                                passes):
    module = f"score_{len(expected)}_{len(minus_one)}"
    source = SCORE.replace("{expected}", expected).replace("{minus_one}", minus_one)
    found, collected = collect_source(tmp_path, f"{module}.py", source)
    skipped = {s.label: s.reason for s in collected.skipped}
    assert {f"{module}.SoftmaxPolicy", f"{module}.log_pi"} <= set(found), skipped
    assert "takes no params nor gradients" in skipped[f"{module}.LinearCritic"]
    outcome = {n: all(r.passed for r in found[f"{module}.{n}"].check())
               for n in ("SoftmaxPolicy", "log_pi")}
    wrong = {"SoftmaxPolicy": not expected, "log_pi": not minus_one}
    assert outcome == {n: not wrong[n] for n in outcome}, outcome
    assert passes == all(outcome.values())


CRITIC = '''
import numpy as np

params = {"W1": np.random.default_rng(0).standard_normal((4, 5)) * 0.3, "b1": np.zeros(5),
          "w2": np.random.default_rng(1).standard_normal(5) * 0.3, "b2": 0.0}


def value_loss_and_grads(params, S, G):
    a1 = np.tanh(S @ params["W1"] + params["b1"])
    err = a1 @ params["w2"] + params["b2"] - G
    dv = err {over_n}
    dz = np.outer(dv, params["w2"]) * (1 - a1 ** 2)
    return 0.5 * np.mean(err ** 2), {"W1": S.T @ dz, "b1": dz.sum(axis=0),
                                     "w2": a1.T @ dv, "b2": dv.sum()}
'''


@pytest.mark.parametrize("over_n, passes", [("/ len(G)", True), ("", False)])
def test_a_cost_taking_its_params_as_one_module_dict_is_checked_entry_by_entry(tmp_path, over_n,
                                                                              passes):
    module = f"critic_{int(passes)}"
    found, _ = collect_source(tmp_path, f"{module}.py", CRITIC.replace("{over_n}", over_n))
    item = found[f"{module}.value_loss_and_grads"]
    assert "params_W1 (4, 5)" in item.how and "params_b2 ()" in item.how, item.how
    results = item.check()
    assert all(r.passed for r in results) == passes


def test_a_module_drawing_its_model_at_import_draws_the_same_one_every_run(tmp_path):
    """A module-level model drawn with unseeded np.random.randn changed at every run, and its
    reproduce line replayed another model; the import is seeded, the caller's state kept."""
    import numpy as np
    from properties.user_import import import_file
    (tmp_path / "drawn.py").write_text("import numpy as np\nmodel = {'W': np.random.randn(4)}\n")
    before = np.random.get_state()[1].copy()
    first = import_file(tmp_path / "drawn.py").module.model["W"]
    second = import_file(tmp_path / "drawn.py").module.model["W"]
    assert np.array_equal(first, second)
    assert np.array_equal(np.random.get_state()[1], before)
