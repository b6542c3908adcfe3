"""A block built from the user's own sublayers (``self.fc1 = Linear(...)``, ``self.layers = [...]``):
its sublayers' weights are its params, named by their paths (``fc1.W``, ``layers.0.W``), and the
gradients its backward leaves in them are checked, not only its dx. Before, such a block was
"no input shape made forward and backward run" (exit 3), and with a hint only dx was compared:
a slip in a sublayer's gradient that leaves dx right (a tied weight's second use dropped) passed."""
import numpy as np

from layers.adapter import AttributeLayer
from properties.search import hunt
from tests.owncode_loading import collect_source

LINEAR = '''
import numpy as np


class Linear:
    def __init__(self, d_in, d_out):
        self.W = np.random.randn(d_in, d_out) * 0.1
        self.b = np.zeros(d_out)

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, dout):
        self.dW = self.x.T @ dout
        self.db = dout.sum(axis=0)
        return dout @ self.W.T


class Tanh:
    def forward(self, x):
        self.y = np.tanh(x)
        return self.y

    def backward(self, dout):
        return dout * (1 - self.y ** 2)
'''

BLOCK = LINEAR + '''

class MLPBlock:
    def __init__(self, d=4, h=6):
        self.fc1, self.act, self.fc2 = Linear(d, h), Tanh(), Linear(h, d)

    def forward(self, x):
        return x + self.fc2.forward(self.act.forward(self.fc1.forward(x)))

    def backward(self, dout):
        d = self.fc1.backward(self.act.backward(self.fc2.backward(dout)))
        {slip}
        return dout + d


class Stack:
    def __init__(self):
        self.layers = [Linear(3, 5), Tanh(), Linear(5, 2)]

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dout):
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout
'''


def _label(found, name):
    return next(lab for lab in found if lab.endswith("." + name))


def test_a_blocks_sublayer_weights_are_its_params_and_a_correct_block_passes(tmp_path):
    found, _ = collect_source(tmp_path, "nested_block_ok.py", BLOCK.format(slip="pass"))
    block, stack = found[_label(found, "MLPBlock")], found[_label(found, "Stack")]
    assert "(N, 4) from its first 2-D param fc1.W (4, 6); params from its sublayers: fc1.W, " \
        "fc1.b, fc2.W, fc2.b" in block.how, block.how
    assert list(block.entry.build({}, np.random.default_rng(0),
                                  "float64").params) == ["fc1.W", "fc1.b", "fc2.W", "fc2.b"]
    assert list(stack.entry.build({}, np.random.default_rng(0),
                                  "float64").params) == ["layers.0.W", "layers.0.b",
                                                         "layers.2.W", "layers.2.b"]
    for label in (block.label, stack.label):
        for prop in ("grads_fd", "no_mutation", "shapes_dtypes", "batch_additive", "batch_resize"):
            assert hunt(label, prop, max_examples=10, shrink=False) is None, (label, prop)


def test_a_slip_only_in_a_sublayers_gradient_fails_on_that_tensor(tmp_path):
    found, _ = collect_source(tmp_path, "nested_block_bug.py",
                              BLOCK.format(slip="self.fc1.dW = self.fc1.dW / len(dout)"))
    failed = hunt(_label(found, "MLPBlock"), "grads_fd", max_examples=10)
    assert failed is not None
    assert {r.tensor for r in failed.failures} == {"dfc1.W"}
    assert {r.verdict for r in failed.failures} == {"layer vs fd"}


TIED = LINEAR + '''

class Tied:
    """One Linear used twice, its weight shared: setting one sublayer's W would untie them."""

    def __init__(self):
        self.a = Linear(3, 3)
        self.b = Linear(3, 3)
        self.b.W = self.a.W

    def forward(self, x):
        return self.b.forward(np.tanh(self.a.forward(x)))

    def backward(self, dout):
        d = self.b.backward(dout)
        return self.a.backward(d * (1 - np.tanh(self.a.x @ self.a.W + self.a.b) ** 2))
'''


def test_a_tied_weight_is_no_param_and_the_rest_are_checked(tmp_path):
    """Which gradient stands for a weight two sublayers share (either's, or their sum) is the
    block's training loop's choice: it is left a constant of the block, and checking sets each
    other param through one path without untying it."""
    found, _ = collect_source(tmp_path, "nested_tied.py", TIED)
    entry = found[_label(found, "Tied")]
    assert list(entry.entry.build({}, np.random.default_rng(0), "float64").params) == ["a.b", "b.b"]
    for prop in ("grads_fd", "batch_resize"):
        assert hunt(entry.label, prop, max_examples=10, shrink=False) is None, prop


class _Dense:
    """A sublayer keeping params and grads dicts (the protocol)."""

    def __init__(self):
        self.params = {"W": np.ones((2, 3))}
        self.grads = {"W": np.zeros((2, 3))}

    def forward(self, x):
        self.x = x
        return x @ self.params["W"]

    def backward(self, dout):
        self.grads["W"] = self.x.T @ dout
        return dout @ self.params["W"].T


class _Holder:
    def __init__(self):
        self.inner = {"proj": _Dense()}

    def forward(self, x):
        return self.inner["proj"].forward(x)

    def backward(self, dout):
        return self.inner["proj"].backward(dout)


def test_a_sublayer_keeping_dicts_is_reached_through_a_dict_and_written_through_its_path():
    layer = AttributeLayer(_Holder())
    assert list(layer.params) == ["inner.proj.W"]
    layer.params["inner.proj.W"] = np.full((2, 3), 2.0)
    assert np.array_equal(layer.layer.inner["proj"].params["W"], np.full((2, 3), 2.0))
    layer.forward(np.ones((4, 2)))
    layer.backward(np.ones((4, 3)))
    assert np.array_equal(layer.grads["inner.proj.W"], np.full((2, 3), 4.0))


def test_a_block_whose_backward_always_raises_fails_saying_so_not_a_skip(tmp_path):
    """A Stack walking its layers in forward order in backward raises on every input; probing its
    sublayers' gradients made that a skip (exit 3), where a layer raising is a failure to show."""
    buggy = BLOCK.format(slip="pass").replace("for layer in reversed(self.layers):",
                                                 "for layer in self.layers:")
    found, collected = collect_source(tmp_path, "stack_order_bug.py", buggy)
    assert "stack_order_bug.Stack" in found, [s.reason for s in collected.skipped]
    failed = hunt("stack_order_bug.Stack", "grads_fd", max_examples=5)
    assert failed is not None and {r.verdict for r in failed.failures} == {"layer raised"}
