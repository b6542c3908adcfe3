"""Code in the style of "Neural Networks from Scratch" (nnfs): forward returns nothing and keeps
``self.output``, backward returns nothing and keeps ``self.dinputs``, and a loss's
``backward(dvalues, y_true)`` is handed the predictions, not an upstream gradient.

Before, a folder of such layers checked nothing: every layer was skipped ("no input shape
made forward and backward run", the forward's None read as a crash) and every loss failed
every check as "contract", its ``y_true`` read as a second upstream gradient."""
import numpy as np
import pytest

from properties.search import hunt
from tests.owncode_loading import collect_source

LAYERS = '''
import numpy as np


class Layer_Dense:
    def __init__(self, n_inputs, n_neurons):
        self.weights = 0.01 * np.random.randn(n_inputs, n_neurons)
        self.biases = np.zeros((1, n_neurons))

    def forward(self, inputs):
        self.inputs = inputs
        self.output = np.dot(inputs, self.weights) + self.biases

    def backward(self, dvalues):
        self.dweights = np.dot(self.inputs.T, dvalues)
        self.dbiases = np.sum(dvalues, axis=0, keepdims=True)
        self.dinputs = np.dot(dvalues, self.weights.T)


class Layer_DenseBiasMean(Layer_Dense):
    def backward(self, dvalues):
        self.dweights = np.dot(self.inputs.T, dvalues)
        self.dbiases = np.mean(dvalues, axis=0, keepdims=True)      # summed over the batch, not averaged
        self.dinputs = np.dot(dvalues, self.weights.T)


class Activation_ReLU:
    def forward(self, inputs):
        self.inputs = inputs
        self.output = np.maximum(0, inputs)

    def backward(self, dvalues):
        self.dinputs = dvalues.copy()
        self.dinputs[self.inputs <= 0] = 0


class Activation_Sigmoid:
    def forward(self, inputs):
        self.output = 1 / (1 + np.exp(-inputs))

    def backward(self, dvalues):
        self.dinputs = dvalues * (1 - self.output) * self.output


class Activation_SigmoidOnInputs(Activation_Sigmoid):
    def forward(self, inputs):
        self.inputs = inputs
        self.output = 1 / (1 + np.exp(-inputs))

    def backward(self, dvalues):
        self.dinputs = dvalues * (1 - self.inputs) * self.inputs     # the output's formula on x


class Forgetful:
    """Sets its output once, then returns nothing and sets nothing: never read as a result."""

    def forward(self, inputs):
        if not hasattr(self, "output"):
            self.output = inputs * 2.0

    def backward(self, dvalues):
        self.dinputs = dvalues * 2.0
'''

LOSSES = '''
import numpy as np


class Loss:
    def calculate(self, output, y):
        return np.mean(self.forward(output, y))


class Loss_CategoricalCrossentropy(Loss):
    def forward(self, y_pred, y_true):
        samples = len(y_pred)
        clipped = np.clip(y_pred, 1e-7, 1 - 1e-7)
        if len(y_true.shape) == 1:
            confidences = clipped[range(samples), y_true]
        else:
            confidences = np.sum(clipped * y_true, axis=1)
        return -np.log(confidences)

    def backward(self, dvalues, y_true):
        samples, labels = len(dvalues), len(dvalues[0])
        if len(y_true.shape) == 1:
            y_true = np.eye(labels, dtype=dvalues.dtype)[y_true]
        self.dinputs = -y_true / dvalues / samples


class Loss_CategoricalCrossentropyNotAveraged(Loss_CategoricalCrossentropy):
    def backward(self, dvalues, y_true):
        labels = len(dvalues[0])
        if len(y_true.shape) == 1:
            y_true = np.eye(labels, dtype=dvalues.dtype)[y_true]
        self.dinputs = -y_true / dvalues


class Loss_MeanSquaredError(Loss):
    def forward(self, y_pred, y_true):
        return np.mean((y_true - y_pred) ** 2, axis=-1)

    def backward(self, dvalues, y_true):
        samples, outputs = len(dvalues), len(dvalues[0])
        self.dinputs = -2 * (y_true - dvalues) / outputs / samples


class Activation_Softmax:
    def forward(self, inputs):
        exp_values = np.exp(inputs - np.max(inputs, axis=1, keepdims=True))
        self.output = exp_values / np.sum(exp_values, axis=1, keepdims=True)


class Activation_Softmax_Loss_CategoricalCrossentropy:
    def __init__(self):
        self.activation = Activation_Softmax()
        self.loss = Loss_CategoricalCrossentropy()

    def forward(self, inputs, y_true):
        self.activation.forward(inputs)
        self.output = self.activation.output
        return self.loss.calculate(self.output, y_true)

    def backward(self, dvalues, y_true):
        samples = len(dvalues)
        if len(y_true.shape) == 2:
            y_true = np.argmax(y_true, axis=1)
        self.dinputs = dvalues.copy()
        self.dinputs[range(samples), y_true] -= 1
        self.dinputs = self.dinputs / samples


class SoftmaxLossUnclipped(Activation_Softmax_Loss_CategoricalCrossentropy):
    def forward(self, inputs, y_true):
        self.activation.forward(inputs)
        self.output = self.activation.output
        return np.mean(-np.log(self.output[range(len(inputs)), y_true]))


class SoftmaxLossOneHotSign(Activation_Softmax_Loss_CategoricalCrossentropy):
    def backward(self, dvalues, y_true):
        samples = len(dvalues)
        if len(y_true.shape) == 2:
            y_true = np.argmax(y_true, axis=1)
        self.dinputs = -dvalues.copy()                    # the sign of the softmax term
        self.dinputs[range(samples), y_true] += 1
        self.dinputs = self.dinputs / samples
'''


@pytest.fixture(scope="module")
def layers(tmp_path_factory):
    return collect_source(tmp_path_factory.mktemp("nnfs"), "nnfs_layers.py", LAYERS)


@pytest.fixture(scope="module")
def losses(tmp_path_factory):
    return collect_source(tmp_path_factory.mktemp("nnfs_loss"), "nnfs_losses.py", LOSSES)


@pytest.mark.parametrize("name", ["Layer_Dense", "Activation_ReLU", "Activation_Sigmoid"])
def test_layers_keeping_output_and_dinputs_are_checked_and_pass(layers, name):
    found, collected = layers
    assert f"nnfs_layers.{name}" in found, collected.skipped
    for prop in ("grads_tf", "grads_fd", "batch_resize", "linear_in_dout"):
        assert hunt(f"nnfs_layers.{name}", prop, max_examples=10, shrink=False) is None, prop


def test_the_dense_layers_params_are_its_weights_and_biases(layers):
    found, _ = layers
    entry = found["nnfs_layers.Layer_Dense"].entry
    built = entry.build({}, np.random.default_rng(0), "float64")
    assert set(built.params) == {"weights", "biases"}


@pytest.mark.parametrize("name, tensor", [("Layer_DenseBiasMean", "dbiases"),
                                          ("Activation_SigmoidOnInputs", "dinputs")])
def test_a_wrong_kept_gradient_is_a_layer_bug(layers, name, tensor):
    bad = hunt(f"nnfs_layers.{name}", "grads_fd", max_examples=10, shrink=False)
    assert bad is not None and tensor in {r.tensor for r in bad.failures}
    assert {"layer bug", "layer vs fd"} & {r.verdict for r in bad.failures}, \
        bad.failures[0].message()


def test_an_output_left_by_an_earlier_call_is_not_taken_for_this_ones(layers):
    """A fresh layer's first forward sets it (each check builds one); the second forward of
    batch_resize returns nothing and sets nothing, and the protocol says so."""
    found, collected = layers
    assert "nnfs_layers.Forgetful" in found, collected.skipped
    bad = hunt("nnfs_layers.Forgetful", "batch_resize", max_examples=5, shrink=False)
    assert bad is not None and "forward returned None" in bad.failures[0].message()


@pytest.mark.parametrize("name", ["Loss_CategoricalCrossentropy", "Loss_MeanSquaredError",
                                  "Activation_Softmax_Loss_CategoricalCrossentropy"])
def test_a_loss_handed_its_predictions_is_checked_as_a_loss_and_passes(losses, name):
    found, collected = losses
    assert f"nnfs_losses.{name}" in found, collected.skipped
    assert "handed the predictions" in found[f"nnfs_losses.{name}"].how
    for prop in ("grads_fd", "batch_additive", "no_mutation"):
        assert hunt(f"nnfs_losses.{name}", prop, max_examples=10, shrink=False) is None, prop


def test_predictions_a_loss_clips_are_drawn_inside_the_clip(losses):
    found, _ = losses
    how = found["nnfs_losses.Loss_CategoricalCrossentropy"].how
    assert "y_pred drawn in (1e-07, 1)" in how and "clips" in how
    assert "drawn in" not in found["nnfs_losses.Loss_MeanSquaredError"].how


def test_the_softmax_and_its_loss_in_one_class_is_matched_to_tfs_and_passes(losses):
    """Its probabilities clipped to [1e-7, 1 - 1e-7] before the log: on large scores (p below
    1e-7) its value is the clip's, and forward_tf failed it against the exact cross-entropy.
    The twin is now the clipped loss (a convention: a warning), its gradient the exact one."""
    found, _ = losses
    label = "nnfs_losses.Activation_Softmax_Loss_CategoricalCrossentropy"
    assert "TF twin: softmax_cross_entropy: mean over the batch of -log(clip(softmax(x)[t], " \
           "1e-7, 1 - 1e-7))" in found[label].how
    for prop in ("grads_tf", "forward_tf"):
        assert hunt(label, prop, max_examples=25, shrink=False) is None, prop


def test_an_unclipped_softmax_loss_keeps_the_exact_twin(losses):
    found, _ = losses
    how = found["nnfs_losses.SoftmaxLossUnclipped"].how
    assert "-log softmax(x)[t], int labels" in how and "clip" not in how, how


@pytest.mark.parametrize("name, prop", [("Loss_CategoricalCrossentropyNotAveraged", "grads_fd"),
                                        ("SoftmaxLossOneHotSign", "grads_tf")])
def test_a_wrong_loss_gradient_is_a_layer_bug(losses, name, prop):
    bad = hunt(f"nnfs_losses.{name}", prop, max_examples=10, shrink=False)
    assert bad is not None and bad.failures
    # (no TF twin for a loss on probabilities: finite differences alone say "layer vs fd")
    assert {"layer bug", "layer vs fd"} & {r.verdict for r in bad.failures}, \
        bad.failures[0].message()
