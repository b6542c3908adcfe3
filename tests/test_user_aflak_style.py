"""The "Neural Network from scratch in Python" tutorial's layers: ``forward_propagation(input)``
and ``backward_propagation(output_error, learning_rate)`` that updates the layer itself, fed
one sample at a time as a row (1, D). Its ``self.bias -= learning_rate * output_error`` cannot
take a batch of 2, and the correct layer failed every check as "layer raised"; it is now
checked one row at a time, saying so, and a slip in it still fails."""
import pytest

from properties.search import hunt
from tests.owncode_loading import collect_source

SOURCE = '''
import numpy as np


class Layer:
    def __init__(self):
        self.input = None
        self.output = None

    def forward_propagation(self, input):
        raise NotImplementedError

    def backward_propagation(self, output_error, learning_rate):
        raise NotImplementedError


class FCLayer(Layer):
    def __init__(self, input_size, output_size):
        self.weights = np.random.rand(input_size, output_size) - 0.5
        self.bias = np.random.rand(1, output_size) - 0.5

    def forward_propagation(self, input_data):
        self.input = input_data
        self.output = np.dot(self.input, self.weights) + self.bias
        return self.output

    def backward_propagation(self, output_error, learning_rate):
        input_error = np.dot(output_error, self.weights.T)
        weights_error = np.dot(self.input.T, output_error){slip}
        self.weights -= learning_rate * weights_error
        self.bias -= learning_rate * output_error
        return input_error
'''


@pytest.mark.parametrize("slip, passes", [("", True), (" * 2", False)])
def test_a_one_row_self_updating_layer_is_checked_a_row_at_a_time(tmp_path, slip, passes):
    module = "aflak_ok" if passes else "aflak_bug"
    found, collected = collect_source(tmp_path, f"{module}.py", SOURCE.replace("{slip}", slip))
    item = found[f"{module}.FCLayer"]
    assert "one sample at a time, as a row x[i:i + 1]" in item.how, item.how
    reasons = {s.label: s.reason for s in collected.skipped}
    assert "a base class" in reasons[f"{module}.Layer"]
    for prop in ("grads_tf", "grads_fd", "batch_additive"):
        bad = hunt(f"{module}.FCLayer", prop, max_examples=8, shrink=False)
        if passes:
            assert bad is None, (prop, bad and bad.failures[0].message())
    bad = hunt(f"{module}.FCLayer", "grads_fd", max_examples=8, shrink=False)
    assert (bad is None) == passes
    if not passes:
        assert "dweights" in {r.tensor for r in bad.failures}
