"""The classic blog BPNeuralNetwork: ``setup(ni, nh, no)``, weights as lists of lists or arrays,
``back_propagate(case, label, learn, correct)`` moving them with a momentum "correction" and
returning the error. It was passed over (beside its recognised sigmoid, a momentum sign slip
passed). Its step is now checked as -learn times the gradient of the error it returns, and
its momentum after a first step."""
from properties.user_learner import learner_method
from tests.owncode_loading import collect_source

BPNN = '''
import math
import random

random.seed(0)


def sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


def make_matrix(m, n):
    return [[0.0] * n for _ in range(m)]


class BPNeuralNetwork:
    def setup(self, ni, nh, no):
        self.input_n, self.hidden_n, self.output_n = ni + 1, nh, no
        self.input_cells = [1.0] * self.input_n
        self.hidden_cells = [1.0] * nh
        self.output_cells = [1.0] * no
        self.input_weights = [[random.uniform(-1, 1) for _ in range(nh)] for _ in range(ni + 1)]
        self.output_weights = [[random.uniform(-2, 2) for _ in range(no)] for _ in range(nh)]
        self.input_correction = make_matrix(ni + 1, nh)
        self.output_correction = make_matrix(nh, no)

    def predict(self, inputs):
        for i in range(self.input_n - 1):
            self.input_cells[i] = inputs[i]
        for j in range(self.hidden_n):
            self.hidden_cells[j] = sigmoid(sum(self.input_cells[i] * self.input_weights[i][j]
                                               for i in range(self.input_n)))
        for k in range(self.output_n):
            self.output_cells[k] = sigmoid(sum(self.hidden_cells[j] * self.output_weights[j][k]
                                               for j in range(self.hidden_n)))
        return self.output_cells[:]

    def back_propagate(self, case, label, learn, correct):
        self.predict(case)
        out_d = [(label[k] - self.output_cells[k]) * self.output_cells[k] *
                 (1 - self.output_cells[k]) for k in range(self.output_n)]
        hid_d = [sum(out_d[k] * self.output_weights[j][k] for k in range(self.output_n)) *
                 self.hidden_cells[j] * (1 - self.hidden_cells[j]) for j in range(self.hidden_n)]
        for j in range(self.hidden_n):
            for k in range(self.output_n):
                change = out_d[k] * self.hidden_cells[j]
                self.output_weights[j][k] += learn * change {sign} correct * self.output_correction[j][k]
                self.output_correction[j][k] = change
        for i in range(self.input_n):
            for j in range(self.hidden_n):
                change = hid_d[j] * self.input_cells[i]
                self.input_weights[i][j] += learn * change {sign} correct * self.input_correction[i][j]
                self.input_correction[i][j] = change
        return sum(0.5 * (label[k] - self.output_cells[k]) ** 2 for k in range(self.output_n))
'''


def _label(tmp_path, name, source):
    (tmp_path / name).mkdir()
    found, _ = collect_source(tmp_path / name, f"{name}.py", source)
    (label,) = [k for k in found if k.endswith("BPNeuralNetwork")]
    return found[label]


def test_arguments_after_the_rate_keep_their_defaults():
    from properties.user_learner import _call

    class Net:
        def back_propagate(self, case, label, learn, verbose=False):
            return verbose
    assert _call(Net(), "back_propagate", ["case", "label", "learn", "verbose"], 1, 2, 0.1,
                 0.0) is False


def test_the_step_is_recognised_by_its_learning_rate():
    class Net:
        def back_propagate(self, case, label, learn, correct): ...

    class Other:
        def back_propagate(self, case, label): ...
    assert learner_method(Net) == ("back_propagate", ["case", "label", "learn", "correct"])
    assert learner_method(Other) is None


def test_a_right_bpnn_of_lists_passes_and_its_momentum_sign_slip_is_caught(tmp_path):
    item = _label(tmp_path, "bpnn", BPNN.replace("{sign}", "+"))
    assert "weights input_weights, output_weights" in item.how, item.how  # (not the cells,
    results = item.check()                                               # nor the corrections)
    assert {r.layer for r in results} == {item.label, f"{item.label}.momentum"}
    assert results and all(r.passed for r in results)
    item = _label(tmp_path, "bpnn_bug", BPNN.replace("{sign}", "-"))
    results = item.check()
    failed = [r for r in results if not r.passed]
    assert failed and all(r.layer.endswith(".momentum") for r in failed)
    for r in failed:    # the step named per weight, not indexed like a dict of gradients
        assert f"/ 0.5, for {r.tensor}, is not" in r.explanation and "['" not in r.explanation


def test_a_hidden_error_taken_after_the_output_weights_moved_is_caught(tmp_path):
    """The hidden deltas computed after the output weights were updated: the input weights'
    step is then not the gradient's."""
    late = BPNN.replace("{sign}", "+").replace(
        "        hid_d = [", "        hid = lambda: [").replace(
        "        for i in range(self.input_n):\n", "        hid_d = hid()\n"
        "        for i in range(self.input_n):\n", 1)
    assert "hid_d = hid()" in late
    failed = [r for r in _label(tmp_path, "late", late).check() if not r.passed]
    assert {r.tensor for r in failed} == {"input_weights"}


def test_a_network_stepping_layers_of_its_own_is_listed_not_counted(tmp_path):
    """``train_step(x, t, lr)`` over self-updating layers (each checked on its own): the network
    as a whole is listed, and not counted as code left unchecked."""
    from tests.owncode_loading import collect_untouched
    (tmp_path / "net.py").write_text('''
import numpy as np


class Scale:
    def __init__(self, n):
        self.w = np.ones(n)

    def forward(self, x):
        self.x = x
        return x * self.w

    def backprop(self, d, lr):
        dx = d * self.w
        self.w -= lr * (d * self.x).sum(0)
        return dx


class Net:
    def __init__(self, n_in):
        self.layers = [Scale(n_in), Scale(n_in)]

    def train_step(self, x, t, lr):
        out = self.layers[1].forward(self.layers[0].forward(x))
        d = out - t
        for layer in reversed(self.layers):
            d = layer.backprop(d, lr)
        return 0.5 * float((d ** 2).sum())
''')
    found = collect_untouched(tmp_path)
    (net,) = [s for s in found.skipped if s.label == "net.Net"]
    assert not net.unchecked and "checked one by one" in net.reason
    assert "net.Scale" in {f.label for f in found.found}


def test_an_optimizers_update_with_a_rate_is_no_learner():
    """``update(params, grads, lr=0.1)`` takes no example: it stays an optimizer to check."""
    class SGD:
        def update(self, params, grads, lr=0.1): ...
    assert learner_method(SGD) is None
