"""nnfs's training side: optimizers stepping a layer (``pre_update_params``, ``update_params(layer)``,
``post_update_params``), chapter 21's ``forward(inputs, training)`` and dropout ``rate``, and a
Dense whose backward adds its L1/L2 penalty's gradient (``layers.penalized``)."""
import numpy as np
import pytest

from properties.search import hunt
from tests.owncode_loading import collect_source


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
