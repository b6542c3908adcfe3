"""Recurrent language models in WildML's RNN tutorial style: weights as attributes,
``bptt(x, y)`` returning their gradients as a list, ``calculate_total_loss`` over a list of
sentences. Such a class (a forward_propagation, no backward) was "no gradient to check"."""
import pytest

from tests.owncode_loading import collect_source

RNN = '''
import numpy as np


def softmax(z):
    e = np.exp(z - np.max(z))
    return e / e.sum()


class RNNNumpy:
    def __init__(self, word_dim, hidden_dim=100, bptt_truncate={trunc}):
        self.word_dim, self.hidden_dim, self.bptt_truncate = word_dim, hidden_dim, bptt_truncate
        self.U = np.random.uniform(-0.5, 0.5, (hidden_dim, word_dim))
        self.V = np.random.uniform(-0.5, 0.5, (word_dim, hidden_dim))
        self.W = np.random.uniform(-0.5, 0.5, (hidden_dim, hidden_dim))

    def forward_propagation(self, x):
        T = len(x)
        s = np.zeros((T + 1, self.hidden_dim))
        o = np.zeros((T, self.word_dim))
        for t in range(T):
            s[t] = np.tanh(self.U[:, x[t]] + self.W.dot(s[t - 1]))
            o[t] = softmax(self.V.dot(s[t]))
        return [o, s]

    def calculate_total_loss(self, x, y):
        L = 0.0
        for i in range(len(y)):
            o, s = self.forward_propagation(x[i])
            L += -np.sum(np.log(o[np.arange(len(y[i])), y[i]]))
        return L

    def bptt(self, x, y):
        T = len(y)
        o, s = self.forward_propagation(x)
        dLdU, dLdV, dLdW = np.zeros(self.U.shape), np.zeros(self.V.shape), np.zeros(self.W.shape)
        delta_o = o
        delta_o[np.arange(len(y)), y] -= 1.0
        for t in np.arange(T)[::-1]:
            dLdV += np.outer(delta_o[t], s[t])
            delta_t = self.V.T.dot(delta_o[t]) * (1 - s[t] ** 2)
            for step in np.arange(max(0, t - self.bptt_truncate), t + 1)[::-1]:
                dLdW {acc} np.outer(delta_t, s[step - 1])
                dLdU[:, x[step]] += delta_t
                delta_t = self.W.T.dot(delta_t) * {tanh_prime}
        return [{returned}]
'''
RIGHT = {"trunc": "1000", "acc": "+=", "tanh_prime": "(1 - s[step - 1] ** 2)",
         "returned": "dLdU, dLdV, dLdW"}


def _item(tmp_path, module, **changes):
    text = RNN
    for k, v in {**RIGHT, **changes}.items():
        text = text.replace("{" + k + "}", v)
    found, _ = collect_source(tmp_path, module, text)
    return found[f"{module[:-3]}.RNNNumpy"]


@pytest.mark.parametrize("changes, steps", [
    ({}, 6),
    (dict(trunc="2"), 3),                          # the tutorial's truncation: exact on 3 steps
    (dict(returned="dLdV, dLdW, dLdU"), 6),        # another order: read by the shapes
])
def test_a_right_model_passes_on_its_own_loss(tmp_path, changes, steps):
    item = _item(tmp_path, f"wildml_ok_{len(changes)}_{steps}.py", **changes)
    assert f"a sentence of {steps} word indices" in item.how
    results = item.check()
    assert {r.tensor for r in results} >= {"U", "V", "W"}
    assert all(r.passed for r in results), [r.message() for r in results if not r.passed][:1]


@pytest.mark.parametrize("changes, wrong", [
    (dict(acc="="), "W"),                          # not accumulated over the time steps
    (dict(tanh_prime="1"), "U"),                   # tanh's derivative left out going back
])
def test_a_slip_in_bptt_fails_naming_the_weight(tmp_path, changes, wrong):
    item = _item(tmp_path, f"wildml_bug_{wrong}.py", **changes)
    failed = [r for r in item.check() if not r.passed]
    assert wrong in {r.tensor for r in failed} and {r.verdict for r in failed} == {"layer bug"}
