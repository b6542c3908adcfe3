"""Networks written as in Nielsen's "Neural Networks and Deep Learning": lists of weights and
biases, ``feedforward(a)`` on a column, ``backprop(x, y) -> (nabla_b, nabla_w)`` for one
example. They were "nothing recognised to check"; now every gradient is checked against
finite differences of the network's own cost."""
import pytest

from tests.owncode_loading import collect_source

NETWORK = '''
import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z):
    return sigmoid(z) * (1 - sigmoid(z))


class QuadraticCost:
    @staticmethod
    def fn(a, y):
        return 0.5 * np.linalg.norm(a - y) ** 2

    @staticmethod
    def delta(z, a, y):
        return (a - y) * sigmoid_prime(z)


class CrossEntropyCost:
    @staticmethod
    def fn(a, y):
        return np.sum(np.nan_to_num(-y * np.log(a) - (1 - y) * np.log(1 - a)))

    @staticmethod
    def delta(z, a, y):
        return {ce_delta}


class Network:
    def __init__(self, sizes):
        self.num_layers = len(sizes)
        self.sizes = sizes
        self.biases = [np.random.randn(y, 1) for y in sizes[1:]]
        self.weights = [np.random.randn(y, x) for x, y in zip(sizes[:-1], sizes[1:])]

    def feedforward(self, a):
        for b, w in zip(self.biases, self.weights):
            a = sigmoid(np.dot(w, a) + b)
        return a

    def backprop(self, x, y):
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        activation, activations, zs = x, [x], []
        for b, w in zip(self.biases, self.weights):
            z = np.dot(w, activation) + b
            zs.append(z)
            activation = sigmoid(z)
            activations.append(activation)
        delta = self.output_delta(zs[-1], activations[-1], y)
        nabla_b[-1] = delta
        nabla_w[-1] = np.dot(delta, activations[-2].transpose())
        for l in range(2, self.num_layers):
            sp = {hidden_prime}
            delta = np.dot(self.weights[-l + 1].transpose(), delta) * sp
            nabla_b[-l] = delta
            nabla_w[-l] = np.dot(delta, activations[-l - 1].transpose())
        return {returned}

    def output_delta(self, z, a, y):
        return self.cost_derivative(a, y) * sigmoid_prime(z)

    def cost_derivative(self, output_activations, y):
        return {derivative}

    def summed_gradients(self, mini_batch):
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        for x, y in mini_batch:
            delta_nabla_b, delta_nabla_w = self.backprop(x, y)
            nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b)]
            nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w)]
        return nabla_b, nabla_w

    def update_mini_batch(self, mini_batch, eta):
        nabla_b, nabla_w = self.summed_gradients(mini_batch)
        self.weights = [w - {rate} * nw for w, nw in zip(self.weights, nabla_w)]
        self.biases = [b - {rate} * nb for b, nb in zip(self.biases, nabla_b)]


class Network2(Network):
    def __init__(self, sizes, cost=CrossEntropyCost):
        super().__init__(sizes)
        self.cost = cost

    def output_delta(self, z, a, y):
        return self.cost.delta(z, a, y)

    def update_mini_batch(self, mini_batch, eta, lmbda, n):
        nabla_b, nabla_w = self.summed_gradients(mini_batch)
        self.weights = [{decayed} - (eta / len(mini_batch)) * nw
                        for w, nw in zip(self.weights, nabla_w)]
        self.biases = [b - (eta / len(mini_batch)) * nb for b, nb in zip(self.biases, nabla_b)]
'''
RIGHT = dict(ce_delta="(a - y)", hidden_prime="sigmoid_prime(zs[-l])", returned="(nabla_b, nabla_w)",
             derivative="(output_activations - y)", rate="(eta / len(mini_batch))",
             decayed="(1 - eta * (lmbda / n)) * w")


def _source(**changes):
    text = NETWORK
    for k, v in {**RIGHT, **changes}.items():
        text = text.replace("{" + k + "}", v)
    return text


def _outcome(tmp_path, name, **changes):
    found, collected = collect_source(tmp_path, "nielsen.py", _source(**changes))
    if f"nielsen.{name}" not in found:
        return None, {s.label: s.reason for s in collected.skipped}
    return found[f"nielsen.{name}"], found[f"nielsen.{name}"].check()


@pytest.mark.parametrize("name", ["Network", "Network2"])
def test_a_right_network_passes_on_its_own_cost(tmp_path, name):
    item, results = _outcome(tmp_path, name)
    assert item is not None, results
    assert {r.tensor for r in results} >= {"weights[0]", "weights[1]", "biases[0]", "biases[1]"}
    assert all(r.passed for r in results), [r.message() for r in results if not r.passed]
    want = "CrossEntropyCost.fn(feedforward(x), y)" if name == "Network2" else \
        "0.5 * ||feedforward(x) - y||^2"
    assert want in item.how


def test_the_two_lists_returned_the_other_way_round_are_read_by_their_shapes(tmp_path):
    found, _ = collect_source(tmp_path, "nielsen_wb.py", _source(returned="(nabla_w, nabla_b)").replace(
        "delta_nabla_b, delta_nabla_w = self.backprop", "delta_nabla_w, delta_nabla_b = self.backprop"))
    results = found["nielsen_wb.Network"].check()
    assert all(r.passed for r in results), [r.message() for r in results if not r.passed]


@pytest.mark.parametrize("name, change, wrong", [
    ("Network", dict(hidden_prime="sigmoid_prime(activations[-l])"), "weights[0]"),
    ("Network2", dict(ce_delta="(y - a)"), "biases[1]"),
])
def test_a_slip_in_backprop_fails_naming_the_gradient(tmp_path, name, change, wrong):
    _, results = _outcome(tmp_path, name, **change)
    failed = {r.tensor for r in results if not r.passed}
    assert wrong in failed, [r.message() for r in results]
    assert {r.verdict for r in results if not r.passed} == {"layer bug"}


def test_a_cost_derivative_that_is_not_a_minus_y_leaves_the_cost_unknown(tmp_path):
    item, reasons = _outcome(tmp_path, "Network", derivative="(output_activations - y) ** 3")
    assert item is None
    assert "cost_derivative(a, y) is not a - y" in reasons["nielsen.Network"], reasons


def test_a_transposed_nabla_w_is_diagnosed_so_and_its_batch_is_one_column(tmp_path):
    """Against zeros of the right shape (what a wrong shape was compared with) it got no
    diagnosis; and the config called the example's 3 rows a batch of 3."""
    source = _source().replace("nabla_w[-l] = np.dot(delta, activations[-l - 1].transpose())",
                               "nabla_w[-l] = np.dot(activations[-l - 1], delta.transpose())")
    found, _ = collect_source(tmp_path, "nielsen_t.py", source)
    results = found["nielsen_t.Network"].check()
    (bad,) = [r for r in results if not r.passed]
    assert bad.tensor == "weights[0]" and bad.shown_diagnosis.get("kind") == "transposed"
    assert bad.config["batch"] == 1


@pytest.mark.parametrize("name, change, decay", [
    ("Network", {}, None),
    ("Network2", {}, "L2"),
    ("Network2", dict(decayed="w - eta * (lmbda / n) * np.sign(w)"), "L1"),
])
def test_a_right_update_mini_batch_is_sgd_on_the_mean_cost_with_its_decay(tmp_path, name, change,
                                                                          decay):
    item, results = _outcome(tmp_path, name, **change)
    assert "then update_mini_batch's step" in item.how
    step = [r for r in results if r.prop.startswith("network_sgd_step")]
    assert {r.tensor for r in step} >= {"weights[0]", "weights[1]", "biases[0]", "biases[1]"}
    assert all(r.passed for r in results), [r.message() for r in results if not r.passed]
    assert all((f"{decay} decay" in r.note) == bool(decay) for r in step)


W = {"weights[0]", "weights[1]"}


@pytest.mark.parametrize("name, change, wrong, why", [
    ("Network2", dict(decayed="(1 + eta * (lmbda / n)) * w"), W, "the decay's sign is flipped"),
    ("Network2", dict(decayed="(1 - eta * lmbda) * w"), W, "lmbda, not lmbda / n"),
    ("Network2", dict(decayed="w"), W, "no weight decay at all"),
    ("Network2", dict(decayed="(1 - 2 * eta * (lmbda / n)) * w"), W, "= 2 * lmbda / n"),
    ("Network", dict(rate="eta"), W | {"biases[0]", "biases[1]"}, None),
])
def test_a_slip_in_the_step_fails_though_backprop_passed(tmp_path, name, change, wrong, why):
    _, results = _outcome(tmp_path, name, **change)
    assert all(r.passed for r in results if r.prop.startswith("network_gradient"))
    failed = [r for r in results if not r.passed]
    assert {r.tensor for r in failed} == wrong, [r.message() for r in failed]
    for r in failed:
        assert r.prop.startswith("network_sgd_step") and r.verdict == "layer bug"
        assert "though backprop(x, y) passed" in r.explanation
        assert (r.shown_diagnosis.get("kind") == "weight decay") == bool(why), r.message()
        assert why is None or why in r.shown_diagnosis["summary"], r.message()


def test_update_mini_batch_of_another_signature_is_said_not_checked(tmp_path):
    source = _source().replace("def update_mini_batch(self, mini_batch, eta, lmbda, n):",
                               "def update_mini_batch(self, mini_batch, eta, lmbda):\n"
                               "        n = 8")
    found, _ = collect_source(tmp_path, "nielsen_s.py", source)
    item = found["nielsen_s.Network2"]
    assert "update_mini_batch not checked" in item.how
    assert not any(r.prop.startswith("network_sgd_step") for r in item.check())
