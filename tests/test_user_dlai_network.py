"""deeplearning.ai's network as module functions on a parameters dict: L_model_forward(X,
parameters), L_model_backward(AL, Y, caches) -> grads["dW1"]..., compute_cost(AL, Y),
initialize_parameters_deep(layer_dims). The pair was taken for a layer's and could not be
driven; it is now checked as a network, examples as columns."""
import pytest

from tests.owncode_loading import collect_source

SOURCE = '''
import numpy as np


def initialize_parameters_deep(layer_dims):
    np.random.seed(3)
    parameters = {}
    L = len(layer_dims)
    for l in range(1, L):
        parameters['W' + str(l)] = np.random.randn(layer_dims[l], layer_dims[l - 1]) * 0.5
        parameters['b' + str(l)] = np.zeros((layer_dims[l], 1))
    return parameters


def linear_forward(A, W, b):
    Z = np.dot(W, A) + b
    return Z, (A, W, b)


def sigmoid(Z):
    return 1 / (1 + np.exp(-Z)), Z


def relu(Z):
    return np.maximum(0, Z), Z


def linear_activation_forward(A_prev, W, b, activation):
    Z, linear_cache = linear_forward(A_prev, W, b)
    if activation == "sigmoid":
        A, activation_cache = sigmoid(Z)
    else:
        A, activation_cache = relu(Z)
    return A, (linear_cache, activation_cache)


def L_model_forward(X, parameters):
    caches = []
    A = X
    L = len(parameters) // 2
    for l in range(1, L):
        A, cache = linear_activation_forward(A, parameters['W' + str(l)], parameters['b' + str(l)], "relu")
        caches.append(cache)
    AL, cache = linear_activation_forward(A, parameters['W' + str(L)], parameters['b' + str(L)], "sigmoid")
    caches.append(cache)
    return AL, caches


def compute_cost(AL, Y):
    m = Y.shape[1]
    cost = (-1 / m) * np.sum(Y * np.log(AL) + (1 - Y) * np.log(1 - AL))
    return np.squeeze(cost)


def linear_backward(dZ, cache):
    A_prev, W, b = cache
    m = A_prev.shape[1]
    dW = {dW}
    db = 1 / m * np.sum(dZ, axis=1, keepdims=True)
    dA_prev = np.dot(W.T, dZ)
    return dA_prev, dW, db


def relu_backward(dA, cache):
    Z = cache
    dZ = np.array(dA, copy=True)
    dZ[Z <= 0] = 0
    return dZ


def sigmoid_backward(dA, cache):
    Z = cache
    s = 1 / (1 + np.exp(-Z))
    return dA * s * (1 - s)


def linear_activation_backward(dA, cache, activation):
    linear_cache, activation_cache = cache
    if activation == "relu":
        dZ = relu_backward(dA, activation_cache)
    else:
        dZ = sigmoid_backward(dA, activation_cache)
    return linear_backward(dZ, linear_cache)


def L_model_backward(AL, Y, caches):
    grads = {}
    L = len(caches)
    Y = Y.reshape(AL.shape)
    dAL = - (np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))
    current_cache = caches[L - 1]
    grads["dA" + str(L - 1)], grads["dW" + str(L)], grads["db" + str(L)] = linear_activation_backward(dAL, current_cache, "sigmoid")
    for l in reversed(range(L - 1)):
        current_cache = caches[l]
        dA_prev_temp, dW_temp, db_temp = linear_activation_backward(grads["dA" + str(l + 1)], current_cache, "relu")
        grads["dA" + str(l)] = dA_prev_temp
        grads["dW" + str(l + 1)] = dW_temp
        grads["db" + str(l + 1)] = db_temp
    return grads
'''


@pytest.mark.parametrize("dW, passes", [("1 / m * np.dot(dZ, A_prev.T)", True),
                                        ("np.dot(dZ, A_prev.T)", False)])
def test_the_course_network_is_checked_against_its_own_cost(tmp_path, dW, passes):
    module = "deep_ok" if passes else "deep_bug"
    found, collected = collect_source(tmp_path, f"{module}.py", SOURCE.replace("{dW}", dW))
    item = found[f"{module}.L_model_forward"]
    assert "X (3, 4) (examples are columns)" in item.how, item.how
    results = item.check()
    assert {"W1", "b1", "W2", "b2"} <= {r.tensor for r in results}
    failed = [r for r in results if not r.passed]
    if passes:
        assert not failed, [r.message() for r in failed]
        return
    assert {r.tensor for r in failed} >= {"W1", "W2"} and "b1" not in {r.tensor for r in failed}
    w1 = next(r for r in failed if r.tensor == "W1")
    assert "['dW1']" in w1.explanation
    assert w1.shown_diagnosis.get("kind") == "constant factor", w1.message()   # 4 = m
    assert w1.config["batch"] == 4


def test_without_a_cost_function_the_pair_is_a_skip_saying_so(tmp_path):
    source = SOURCE.replace("{dW}", "1 / m * np.dot(dZ, A_prev.T)").replace("compute_cost", "score")
    found, collected = collect_source(tmp_path, "deep_nocost.py", source)
    reasons = {s.label: s.reason for s in collected.skipped}
    assert "the module has no cost function (its name holding cost or loss" in \
        reasons["deep_nocost.L_model_forward"], reasons


def test_a_backward_taking_dout_cache_params_is_not_taken_for_the_course_network(tmp_path):
    """forward(X, params) beside backward(dout, cache, params): its second argument is no
    labels; read as L_model_backward(AL, Y, caches) it would be handed the wrong things."""
    from properties.user_params_network import is_params_forward

    def forward(X, params):
        return X, None

    def backward(dout, cache, params):
        return {}

    def L_model_backward(AL, Y, caches):
        return {}
    assert not is_params_forward("forward", forward, {"backward": backward})
    assert is_params_forward("L_model_forward", forward, {"L_model_backward": L_model_backward})


def test_the_course_two_notebooks_backward_of_x_y_cache_is_not_taken_for_it():
    """backward_propagation(X, Y, cache) beside forward_propagation(X, parameters): handed AL
    for X, the correct network failed (a new user's find)."""
    from properties.user_params_network import is_params_forward

    def forward_propagation(X, parameters):
        return X, None

    def backward_propagation(X, Y, cache):
        return {}
    assert not is_params_forward("forward_propagation", forward_propagation,
                                 {"backward_propagation": backward_propagation})


def test_labels_are_one_hot_columns_for_several_outputs_and_bits_for_one():
    import numpy as np
    from properties.user_params_network import labels_for
    many = labels_for((3, 6))
    assert np.array_equal(many.sum(axis=0), np.ones(6)) and set(np.unique(many)) <= {0.0, 1.0}
    one = labels_for((1, 6))
    assert one.shape == (1, 6) and set(np.unique(one)) <= {0.0, 1.0}


def test_the_deep_initializer_is_preferred_so_a_slip_in_the_deep_loop_shows(tmp_path):
    """With initialize_parameters(n_x, n_h, n_y) beside initialize_parameters_deep, the two-layer
    one was taken: one hidden layer never ran the loop over hidden layers, and a slip there
    (every layer handed the last layer's dA) passed."""
    two_layer_init = (
        "\n\ndef initialize_parameters(n_x, n_h, n_y):\n"
        "    return {'W1': np.random.randn(n_h, n_x) * 0.5, 'b1': np.zeros((n_h, 1)),\n"
        "            'W2': np.random.randn(n_y, n_h) * 0.5, 'b2': np.zeros((n_y, 1))}\n")
    source = SOURCE.replace("{dW}", "1 / m * np.dot(dZ, A_prev.T)").replace(
        'linear_activation_backward(grads["dA" + str(l + 1)], current_cache, "relu")',
        'linear_activation_backward(grads["dA" + str(L - 1)], current_cache, "relu")')
    found, _ = collect_source(tmp_path, "deep_loop.py", two_layer_init + source)
    item = found["deep_loop.L_model_forward"]
    assert "initialize_parameters_deep([3, 4, 3, 2])" in item.how, item.how
    assert not all(r.passed for r in item.check())


def test_the_courses_binary_cost_gets_one_output_row(tmp_path):
    """``compute_cost`` written with np.dot(Y, np.log(AL).T) (the course's own) sums cross terms
    of two output rows: a right network failed at two outputs. Where the cost of several rows
    is not each row's summed, the network is built with one output."""
    dotted = SOURCE.replace("{dW}", "1 / m * np.dot(dZ, A_prev.T)").replace(
        "cost = (-1 / m) * np.sum(Y * np.log(AL) + (1 - Y) * np.log(1 - AL))",
        "cost = (-1 / m) * np.sum(np.dot(Y, np.log(AL).T) + np.dot(1 - Y, np.log(1 - AL).T))")
    assert "np.dot(Y, np.log(AL).T)" in dotted
    found, _ = collect_source(tmp_path, "deep_dot.py", dotted)
    item = found["deep_dot.L_model_forward"]
    assert "initialize_parameters_deep([3, 4, 3, 1])" in item.how, item.how
    assert all(r.passed for r in item.check())
