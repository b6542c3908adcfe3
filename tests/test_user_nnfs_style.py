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


OPTIMIZERS = '''
import numpy as np


class Optimizer_SGD:
    def __init__(self, learning_rate=1., decay=0., momentum=0.):
        self.learning_rate = learning_rate
        self.current_learning_rate = learning_rate
        self.decay = decay
        self.iterations = 0
        self.momentum = momentum

    def pre_update_params(self):
        if self.decay:
            self.current_learning_rate = self.learning_rate * (1. / (1. + self.decay * self.iterations))

    def update_params(self, layer):
        if self.momentum:
            if not hasattr(layer, "weight_momentums"):
                layer.weight_momentums = np.zeros_like(layer.weights)
                layer.bias_momentums = np.zeros_like(layer.biases)
            weight_updates = self.momentum * layer.weight_momentums - self.current_learning_rate * layer.dweights
            layer.weight_momentums = weight_updates
            bias_updates = self.momentum * layer.bias_momentums - self.current_learning_rate * layer.dbiases
            layer.bias_momentums = bias_updates
        else:
            weight_updates = -self.current_learning_rate * layer.dweights
            bias_updates = -self.current_learning_rate * layer.dbiases
        layer.weights += weight_updates
        layer.biases += bias_updates

    def post_update_params(self):
        self.iterations += 1


class Optimizer_Adam:
    def __init__(self, learning_rate=0.001, decay=0., epsilon=1e-7, beta_1=0.9, beta_2=0.999):
        self.learning_rate = learning_rate
        self.current_learning_rate = learning_rate
        self.decay = decay
        self.iterations = 0
        self.epsilon = epsilon
        self.beta_1 = beta_1
        self.beta_2 = beta_2

    def pre_update_params(self):
        if self.decay:
            self.current_learning_rate = self.learning_rate * (1. / (1. + self.decay * self.iterations))

    def update_params(self, layer):
        if not hasattr(layer, "weight_cache"):
            layer.weight_momentums = np.zeros_like(layer.weights)
            layer.weight_cache = np.zeros_like(layer.weights)
        layer.weight_momentums = self.beta_1 * layer.weight_momentums + (1 - self.beta_1) * layer.dweights
        m_hat = layer.weight_momentums / (1 - self.beta_1 ** ({t}))
        layer.weight_cache = self.beta_2 * layer.weight_cache + (1 - self.beta_2) * layer.dweights ** 2
        v_hat = layer.weight_cache / (1 - self.beta_2 ** ({t}))
        layer.weights += -self.current_learning_rate * m_hat / (np.sqrt(v_hat) + self.epsilon)

    def post_update_params(self):
        self.iterations += 1
'''


def test_optimizers_stepping_a_layer_between_pre_and_post_updates_are_checked(tmp_path):
    found, collected = collect_source(tmp_path, "nnfs_opt.py",
                                      OPTIMIZERS.replace("{t}", "self.iterations + 1"))
    assert {"nnfs_opt.Optimizer_SGD", "nnfs_opt.Optimizer_SGD(momentum=0.9)",
            "nnfs_opt.Optimizer_Adam"} <= set(found), collected.skipped
    assert found["nnfs_opt.Optimizer_Adam"].how.startswith("Adam optimizer with update_params")
    assert found["nnfs_opt.Optimizer_SGD(momentum=0.9)"].how.startswith("Momentum optimizer")
    for label in ("nnfs_opt.Optimizer_SGD", "nnfs_opt.Optimizer_SGD(momentum=0.9)",
                  "nnfs_opt.Optimizer_Adam"):
        results = found[label].check()
        assert results and all(r.passed for r in results), [r.message() for r in results]


def test_an_adam_correcting_its_bias_one_step_late_fails(tmp_path):
    found, _ = collect_source(tmp_path, "nnfs_opt_bug.py",
                              OPTIMIZERS.replace("{t}", "self.iterations"))
    with np.errstate(divide="ignore", invalid="ignore"):       # (1 - beta ** 0 is 0)
        assert not all(r.passed for r in found["nnfs_opt_bug.Optimizer_Adam"].check())
    assert all(r.passed for r in found["nnfs_opt_bug.Optimizer_SGD"].check())


CHAPTER_21 = '''
import numpy as np


class Activation_ReLU:
    def forward(self, inputs, training):
        self.inputs = inputs
        self.output = np.maximum(0, inputs)

    def backward(self, dvalues):
        self.dinputs = dvalues.copy()
        self.dinputs[self.inputs <= 0] = 0


class Layer_Dropout:
    def __init__(self, rate):
        self.rate = 1 - rate

    def forward(self, inputs, training):
        self.inputs = inputs
        if not training:
            self.output = inputs.copy()
            return
        self.binary_mask = np.random.binomial(1, self.rate, size=inputs.shape) / self.rate
        self.output = inputs * self.binary_mask

    def backward(self, dvalues):
        self.dinputs = dvalues * self.binary_mask{slip}
'''


def test_a_forward_taking_a_training_flag_is_no_loss_and_a_dropout_rate_is_guessed(tmp_path):
    """forward(inputs, training) was probed as a loss's forward(x, t) and skipped; a dropout's
    required ``rate`` is 0.5 (and both modes are drawn)."""
    found, collected = collect_source(tmp_path, "ch21.py", CHAPTER_21.replace("{slip}", ""))
    assert {"ch21.Activation_ReLU", "ch21.Layer_Dropout"} <= set(found), collected.skipped
    for label in ("ch21.Activation_ReLU", "ch21.Layer_Dropout"):
        assert hunt(label, "grads_fd", max_examples=10, shrink=False) is None, label


def test_a_dropout_backward_without_the_rescaling_fails(tmp_path):
    found, _ = collect_source(tmp_path, "ch21_bug.py", CHAPTER_21.replace(
        "{slip}", " * self.rate"))       # (mask * keep: the forward's 1/keep left out)
    assert hunt("ch21_bug.Layer_Dropout", "grads_fd", max_examples=10, shrink=False) is not None


REGULARISED = '''
import numpy as np


class Layer_Dense:
    def __init__(self, n_inputs, n_neurons, weight_regularizer_l1=0, weight_regularizer_l2=0,
                 bias_regularizer_l1=0, bias_regularizer_l2=0):
        self.weights = 0.01 * np.random.randn(n_inputs, n_neurons)
        self.biases = np.zeros((1, n_neurons))
        self.weight_regularizer_l1 = weight_regularizer_l1
        self.weight_regularizer_l2 = weight_regularizer_l2
        self.bias_regularizer_l1 = bias_regularizer_l1
        self.bias_regularizer_l2 = bias_regularizer_l2

    def forward(self, inputs):
        self.inputs = inputs
        self.output = np.dot(inputs, self.weights) + self.biases

    def backward(self, dvalues):
        self.dweights = np.dot(self.inputs.T, dvalues)
        self.dbiases = np.sum(dvalues, axis=0, keepdims=True)
        if self.weight_regularizer_l1 > 0:
            dL1 = np.ones_like(self.weights)
            dL1[self.weights < 0] = -1
            self.dweights += self.weight_regularizer_l1 * dL1
        if self.weight_regularizer_l2 > 0:
            self.dweights += {two} * self.weight_regularizer_l2 * self.weights
        if self.bias_regularizer_l1 > 0:
            dL1 = np.ones_like(self.biases)
            dL1[self.biases < 0] = -1
            self.dbiases += self.bias_regularizer_l1 * dL1
        if self.bias_regularizer_l2 > 0:
            self.dbiases += 2 * self.bias_regularizer_l2 * self.biases
        self.dinputs = np.dot(dvalues, self.weights.T)


class Regularised(Layer_Dense):
    def __init__(self):
        super().__init__(3, 2, weight_regularizer_l1=5e-4, weight_regularizer_l2=5e-4,
                         bias_regularizer_l1=5e-4, bias_regularizer_l2=5e-4)


class Activation_Softmax_Loss_CategoricalCrossentropy:
    """Chapter 19's: the model computes the loss; only the backward is kept here."""

    def backward(self, dvalues, y_true):
        samples = len(dvalues)
        self.dinputs = dvalues.copy()
        self.dinputs[range(samples), y_true] -= 1
        self.dinputs = self.dinputs / samples
'''
VARIANT = ("reg.Layer_Dense(weight_regularizer_l1=0.1, weight_regularizer_l2=0.1, "
           "bias_regularizer_l1=0.1, bias_regularizer_l2=0.1)")


@pytest.mark.parametrize("two, passes", [("2", True), ("1", False)])
def test_a_regularised_dense_is_checked_less_its_penalty(tmp_path, two, passes):
    """The L1/L2 penalty's gradient, added in backward, is the loss's, not the output's: it
    failed every check on correct code, and a penalty missing its factor 2 failed the same."""
    module = "reg" if passes else "reg_bug"
    found, collected = collect_source(tmp_path, f"{module}.py", REGULARISED.replace("{two}", two))
    variant = VARIANT.replace("reg.", f"{module}.")
    assert {f"{module}.Layer_Dense", variant, f"{module}.Regularised"} <= set(found), \
        collected.skipped
    assert hunt(f"{module}.Layer_Dense", "grads_tf", max_examples=5, shrink=False) is None
    for label in (variant, f"{module}.Regularised"):
        bad = hunt(label, "grads_tf", max_examples=5, shrink=False)
        assert (bad is None) == passes, label
        if bad is not None:
            assert {r.tensor for r in bad.failures} == {"dweights"}


def test_a_backward_with_no_forward_is_listed_not_dropped(tmp_path):
    found, collected = collect_source(tmp_path, "ch19.py", REGULARISED.replace("{two}", "2"))
    (skip,) = [s for s in collected.skipped
               if s.label == "ch19.Activation_Softmax_Loss_CategoricalCrossentropy"]
    assert "has a backward() but no forward()" in skip.reason and not skip.unchecked


def test_an_abstract_base_layer_is_listed_as_nothing_to_check(tmp_path):
    """Its forward raises NotImplementedError: the skip said to add a hint with its shape."""
    found, collected = collect_source(tmp_path, "base.py", '''
class Layer:
    def forward(self, inputs):
        raise NotImplementedError

    def backward(self, dvalues):
        raise NotImplementedError
''')
    (skip,) = collected.skipped
    assert "raises NotImplementedError: a base class" in skip.reason and not skip.unchecked


def test_a_strength_the_backward_never_reads_is_neither_varied_nor_taken_out(tmp_path):
    """A Dense taking an L1 strength it applies nowhere (its loss leaves L1 out too): checked at
    l1 = 0.1 with the book's L1 term taken out, the correct layer failed."""
    source = REGULARISED.replace("{two}", "2").replace(
        "        if self.weight_regularizer_l1 > 0:\n            dL1 = np.ones_like(self.weights)\n"
        "            dL1[self.weights < 0] = -1\n            self.dweights += "
        "self.weight_regularizer_l1 * dL1\n", "")
    assert "self.weight_regularizer_l1 * dL1" not in source
    found, _ = collect_source(tmp_path, "l2only.py", source)
    variant = ("l2only.Layer_Dense(weight_regularizer_l2=0.1, bias_regularizer_l1=0.1, "
               "bias_regularizer_l2=0.1)")
    assert variant in found, sorted(found)
    assert hunt(variant, "grads_tf", max_examples=5, shrink=False) is None
