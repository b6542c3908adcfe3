"""deeplearning.ai's notebooks other than "Step by Step": course 1's logistic regression
(``propagate(w, b, X, Y)``) and planar network (``backward_propagation(parameters, cache, X,
Y)``), course 2's regularization, dropout and gradient-checking networks (``(X, Y, cache[,
lambd | keep_prob])``, a cost with its own suffix, a forward returning the cost), and its
update rules on the parameters dict with the state handed in and out. None of it was
recognised ("nothing recognised to check"), so every slip in them passed unseen."""
import pytest

from tests.owncode_loading import collect_source

PLANAR = '''
import numpy as np


def initialize_parameters(n_x, n_h, n_y):
    np.random.seed(2)
    return {"W1": np.random.randn(n_h, n_x) * 0.5, "b1": np.random.randn(n_h, 1) * 0.1,
            "W2": np.random.randn(n_y, n_h) * 0.5, "b2": np.random.randn(n_y, 1) * 0.1}


def forward_propagation(X, parameters):
    Z1 = np.dot(parameters["W1"], X) + parameters["b1"]
    A1 = np.tanh(Z1)
    Z2 = np.dot(parameters["W2"], A1) + parameters["b2"]
    A2 = 1 / (1 + np.exp(-Z2))
    assert A2.shape == (1, X.shape[1])
    return A2, {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2}


def compute_cost(A2, Y):
    m = Y.shape[1]
    return float(np.squeeze(-np.sum(Y * np.log(A2) + (1 - Y) * np.log(1 - A2)) / m))


def backward_propagation(parameters, cache, X, Y):
    m = X.shape[1]
    A1, A2 = cache["A1"], cache["A2"]
    dZ2 = A2 - Y
    dW2 = np.dot(dZ2, A1.T) / m
    db2 = np.sum(dZ2, axis=1, keepdims=True) / m
    dZ1 = np.dot(parameters["W2"].T, dZ2) * (1 - np.power(A1, 2))
    dW1 = np.dot(dZ1, X.T) / m
    db1 = np.sum(dZ1, axis={db1_axis}, keepdims=True) / m
    return {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}


def update_parameters(parameters, grads, learning_rate=1.2):
    return {k: parameters[k] - learning_rate * grads["d" + k] for k in parameters}
'''

COURSE2 = '''
import numpy as np


def relu(x):
    return np.maximum(0, x)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def compute_cost(a3, Y):
    m = Y.shape[1]
    logprobs = np.multiply(-np.log(a3), Y) + np.multiply(-np.log(1 - a3), 1 - Y)
    return {total}


def compute_cost_with_regularization(A3, Y, parameters, lambd):
    m = Y.shape[1]
    l2 = sum(np.sum(np.square(parameters["W%d" % i])) for i in (1, 2, 3))
    return compute_cost(A3, Y) + lambd / (2 * m) * l2


def forward_propagation(X, parameters):
    Z1 = np.dot(parameters["W1"], X) + parameters["b1"]
    A1 = relu(Z1)
    Z2 = np.dot(parameters["W2"], A1) + parameters["b2"]
    A2 = relu(Z2)
    Z3 = np.dot(parameters["W3"], A2) + parameters["b3"]
    A3 = sigmoid(Z3)
    return A3, (Z1, A1, parameters["W1"], Z2, A2, parameters["W2"], Z3, A3, parameters["W3"])


def backward_propagation_with_regularization(X, Y, cache, lambd):
    m = X.shape[1]
    (Z1, A1, W1, Z2, A2, W2, Z3, A3, W3) = cache
    dZ3 = A3 - Y
    dW3 = 1. / m * np.dot(dZ3, A2.T) + {l2} * W3
    db3 = 1. / m * np.sum(dZ3, axis=1, keepdims=True)
    dZ2 = np.multiply(np.dot(W3.T, dZ3), np.int64(A2 > 0))
    dW2 = 1. / m * np.dot(dZ2, A1.T) + {l2} * W2
    db2 = 1. / m * np.sum(dZ2, axis=1, keepdims=True)
    dZ1 = np.multiply(np.dot(W2.T, dZ2), np.int64(A1 > 0))
    dW1 = 1. / m * np.dot(dZ1, X.T) + {l2} * W1
    db1 = 1. / m * np.sum(dZ1, axis=1, keepdims=True)
    return {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2, "dW3": dW3, "db3": db3}


def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):
    Z1 = np.dot(parameters["W1"], X) + parameters["b1"]
    D1 = np.random.rand(*Z1.shape) < keep_prob
    A1 = relu(Z1) * D1 / keep_prob
    Z2 = np.dot(parameters["W2"], A1) + parameters["b2"]
    D2 = np.random.rand(*Z2.shape) < keep_prob
    A2 = relu(Z2) * D2 / keep_prob
    Z3 = np.dot(parameters["W3"], A2) + parameters["b3"]
    A3 = sigmoid(Z3)
    return A3, (Z1, D1, A1, parameters["W1"], Z2, D2, A2, parameters["W2"], Z3, A3,
                parameters["W3"])


def backward_propagation_with_dropout(X, Y, cache, keep_prob):
    m = X.shape[1]
    (Z1, D1, A1, W1, Z2, D2, A2, W2, Z3, A3, W3) = cache
    dZ3 = A3 - Y
    dW3 = 1. / m * np.dot(dZ3, A2.T)
    db3 = 1. / m * np.sum(dZ3, axis=1, keepdims=True)
    dA2 = np.dot(W3.T, dZ3) * D2 {rescale}
    dZ2 = np.multiply(dA2, np.int64(Z2 > 0))
    dW2 = 1. / m * np.dot(dZ2, A1.T)
    db2 = 1. / m * np.sum(dZ2, axis=1, keepdims=True)
    dA1 = np.dot(W2.T, dZ2) * D1 {rescale}
    dZ1 = np.multiply(dA1, np.int64(Z1 > 0))
    dW1 = 1. / m * np.dot(dZ1, X.T)
    db1 = 1. / m * np.sum(dZ1, axis=1, keepdims=True)
    return {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2, "dW3": dW3, "db3": db3}
'''

LOGREG = '''
import numpy as np


def propagate(w, b, X, Y):
    m = X.shape[1]
    A = 1 / (1 + np.exp(-(np.dot(w.T, X) + b)))
    cost = -np.sum(Y * np.log(A) + (1 - Y) * np.log(1 - A)) / m
    dw = np.dot(X, (A - Y).T) / m
    db = np.sum(A - Y) {db_scale}
    return {"dw": dw, "db": db}, np.squeeze(cost)


def optimize(w, b, X, Y, num_iterations, learning_rate):
    for _ in range(num_iterations):
        grads, cost = propagate(w, b, X, Y)
        w, b = w - learning_rate * grads["dw"], b - learning_rate * grads["db"]
    return w, b
'''

RULES = '''
import numpy as np


def initialize_velocity(parameters):
    return {"d" + k: np.zeros_like(v) for k, v in parameters.items()}


def update_parameters_with_momentum(parameters, grads, v, beta, learning_rate):
    L = len(parameters) // 2
    for l in range(1, L + 1):
        for p in ("W", "b"):
            key = "d" + p + str(l)
            v[key] = beta * v[key] + (1 - beta) * grads[key]
            parameters[p + str(l)] = parameters[p + str(l)] - learning_rate * {step}
    return parameters, v
'''


def _found(tmp_path, module, source, **changes):
    for k, v in changes.items():
        source = source.replace("{" + k + "}", v)
    found, collected = collect_source(tmp_path, module, source)
    return found, {s.label: s.reason for s in collected.skipped}


@pytest.mark.parametrize("source, changes, name", [
    (PLANAR, dict(db1_axis="1"), "backward_propagation"),
    (COURSE2, dict(total="1. / m * np.sum(logprobs)", l2="lambd / m", rescale="/ keep_prob"),
     "backward_propagation_with_regularization"),
    (COURSE2, dict(total="1. / m * np.sum(logprobs)", l2="lambd / m", rescale="/ keep_prob"),
     "backward_propagation_with_dropout"),
    (LOGREG, dict(db_scale="/ m"), "propagate"),
])
def test_each_notebooks_right_network_passes(tmp_path, source, changes, name):
    module = f"dlai_ok_{name}.py"
    found, skipped = _found(tmp_path, module, source, **changes)
    item = found[f"{module[:-3]}.{name}"]
    results = item.check()
    assert results and all(r.passed and not r.warning for r in results), \
        [r.message() for r in results if not r.passed][:1]
    assert {r.tensor for r in results} >= ({"w", "b"} if name == "propagate" else {"W1", "b1"})


@pytest.mark.parametrize("source, changes, name, tensor, factor", [
    (PLANAR, dict(db1_axis="0"), "backward_propagation", "b1", None),
    (COURSE2, dict(total="1. / m * np.sum(logprobs)", l2="lambd / (2 * m)",
                   rescale="/ keep_prob"), "backward_propagation_with_regularization", "W1",
     "plus -0.0875 * the param itself"),          # lambd / (2m) where lambd / m belongs
    (COURSE2, dict(total="1. / m * np.sum(logprobs)", l2="lambd / m", rescale=""),
     "backward_propagation_with_dropout", "W1", None),
    (LOGREG, dict(db_scale=""), "propagate", "b", "N = 4"),
])
def test_a_slip_fails_naming_its_gradient(tmp_path, source, changes, name, tensor, factor):
    module = f"dlai_bug_{name}_{tensor}.py"
    found, _ = _found(tmp_path, module, source, **changes)
    failed = [r for r in found[f"{module[:-3]}.{name}"].check() if not r.passed]
    assert tensor in {r.tensor for r in failed}, [r.tensor for r in failed]
    assert {r.verdict for r in failed} == {"layer bug"}
    if factor:
        (r,) = [r for r in failed if r.tensor == tensor][:1]
        assert factor in r.shown_diagnosis.get("summary", ""), r.message()


def test_a_summed_cost_beside_the_gradients_of_the_mean_is_a_convention(tmp_path):
    """Course 2's optimization notebook: compute_cost returns the sum over the examples (its
    model divides by m), the backward the gradients of the mean. That failed every gradient
    by 1/m; it is a warning saying so, and a real 1/m slip there still fails."""
    source = COURSE2.replace("{l2}", "lambd / m").replace("{rescale}", "/ keep_prob")
    found, _ = _found(tmp_path, "dlai_sum.py", source, total="np.sum(logprobs)")
    results = found["dlai_sum.backward_propagation_with_dropout"].check()
    assert all(r.passed and r.warning and r.verdict == "convention" for r in results)
    assert "is the sum over the 4 examples" in results[0].explanation
    found, _ = _found(tmp_path, "dlai_sum_bug.py", source.replace(
        "dW3 = 1. / m * np.dot(dZ3, A2.T)\n", "dW3 = 1. / m / m * np.dot(dZ3, A2.T)\n"),
        total="np.sum(logprobs)")
    failed = [r for r in found["dlai_sum_bug.backward_propagation_with_dropout"].check()
              if not r.passed]
    assert {r.tensor for r in failed} == {"W3"}


@pytest.mark.parametrize("step, passes", [("v[key]", True), ("grads[key]", False)])
def test_update_rules_on_the_parameters_dict_are_checked_against_keras(tmp_path, step, passes):
    module = f"dlai_rules_{passes}.py"
    found, _ = _found(tmp_path, module, RULES, step=step)
    item = found[f"{module[:-3]}.update_parameters_with_momentum"]
    assert "its state from initialize_velocity" in item.how
    results = item.check()
    assert all(r.passed for r in results) == passes
    if passes:          # momentum as an average: Keras's at (1 - beta) times the rate
        assert all(r.warning and r.verdict == "convention" for r in results)
    else:
        assert {r.verdict for r in results if not r.passed} == {"layer bug"}


def test_a_plain_update_parameters_is_sgd(tmp_path):
    found, _ = _found(tmp_path, "dlai_plain.py", PLANAR, db1_axis="1")
    item = found["dlai_plain.update_parameters"]
    assert item.how.startswith("SGD optimizer update_parameters(parameters, grads)")
    assert all(r.passed for r in item.check())


RMSPROP = '''
import numpy as np


def initialize_rmsprop(parameters):
    return {"d" + k: np.zeros_like(v) for k, v in parameters.items()}


def update_parameters_with_rmsprop(parameters, grads, s, learning_rate=0.01, beta2=0.9,
                                   epsilon=1e-8):
    for key in list(parameters):
        g = grads["d" + key]
        s["d" + key] = beta2 * s["d" + key] + (1 - beta2) * {square}
        parameters[key] = parameters[key] - learning_rate * g / (np.sqrt(s["d" + key]) + epsilon)
    return parameters, s
'''


@pytest.mark.parametrize("square, passes", [("np.square(g)", True), ("2 * np.square(g)", False)])
def test_a_rule_keeping_one_state_dict_gets_it_from_its_initializer(tmp_path, square, passes):
    """A rule taking s alone (no v) was handed None for it, and failed as a broken contract;
    its decay rate is read from beta2."""
    module = f"dlai_rms_{passes}.py"
    found, _ = _found(tmp_path, module, RMSPROP, square=square)
    item = found[f"{module[:-3]}.update_parameters_with_rmsprop"]
    assert item.how.startswith("RMSProp optimizer") and "initialize_rmsprop" in item.how
    results = item.check()
    assert all(r.passed for r in results) == passes
    assert passes or {r.verdict for r in results if not r.passed} == {"layer bug"}


def test_an_initializer_of_more_sizes_and_a_flat_w_are_driven(tmp_path):
    two_hidden = COURSE2 + '''

def initialize_parameters(n_x, n_h1, n_h2, n_y):
    rng = np.random.default_rng(3)
    sizes = [n_x, n_h1, n_h2, n_y]
    return {k: v for i in (1, 2, 3) for k, v in (
        ("W%d" % i, rng.standard_normal((sizes[i], sizes[i - 1]))),
        ("b%d" % i, rng.uniform(0.2, 0.5, (sizes[i], 1))))}
'''
    found, skipped = _found(tmp_path, "dlai_sizes.py", two_hidden, total="1. / m * np.sum(logprobs)",
                            l2="lambd / m", rescale="/ keep_prob")
    item = found["dlai_sizes.backward_propagation_with_regularization"]
    assert "initialize_parameters(3, 4, 3, 2)" in item.how
    assert all(r.passed for r in item.check()), skipped
    flat = LOGREG.replace("np.dot(w.T, X)", "np.dot(w, X)").replace(
        "dw = np.dot(X, (A - Y).T) / m", "dw = np.dot(X, (A - Y)[0]) / m")
    found, skipped = _found(tmp_path, "dlai_flat.py", flat, db_scale="/ m")
    assert all(r.passed for r in found["dlai_flat.propagate"].check()), skipped
