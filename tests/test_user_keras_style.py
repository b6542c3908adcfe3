"""Classes written the way Keras and PyTorch users write them. A Keras-style ``Dense`` whose
``__call__`` comes from a base class, with its weights made by ``build()`` on the first call,
was not found at all (a file of them "passed"); a ``backward(self, *douts)`` was "no
backward()"; a loss ``forward(x1, x2, y)`` whose backward returns (dx1, dx2) lost its ``y``,
and a hint giving it was refused."""
import pytest

from properties.search import hunt
from tests.owncode_loading import collect_source

KERAS = '# BUG: the tanh activation derivative (1 - y**2) is forgotten in backward (missing chain-rule factor)\n\n\n"""A Keras-like Dense layer: build() on first call, call(), plus a hand backward."""\nimport numpy as np\n\n\nclass Layer:\n    def __init__(self):\n        self.built = False\n\n    def build(self, input_shape):\n        self.built = True\n\n    def __call__(self, inputs):\n        if not self.built:\n            self.build(inputs.shape)\n        return self.call(inputs)\n\n\nclass Dense(Layer):\n    def __init__(self, units, activation=None, seed=0):\n        super().__init__()\n        self.units = units\n        self.activation = activation\n        self.seed = seed\n\n    def build(self, input_shape):\n        in_dim = input_shape[-1]\n        rng = np.random.default_rng(self.seed)\n        limit = np.sqrt(6.0 / (in_dim + self.units))\n        self.W = rng.uniform(-limit, limit, size=(in_dim, self.units))\n        self.b = np.zeros(self.units)\n        self.built = True\n\n    def call(self, inputs):\n        self.inputs = inputs\n        z = inputs @ self.W + self.b\n        if self.activation == "tanh":\n            self.outputs = np.tanh(z)\n        else:\n            self.outputs = z\n        return self.outputs\n\n    def backward(self, grad_output):\n        if self.activation == "tanh":\n            grad_z = grad_output\n        else:\n            grad_z = grad_output\n        self.grad_W = self.inputs.T @ grad_z\n        self.grad_b = grad_z.sum(axis=0)\n        return grad_z @ self.W.T\n\n\nclass TanhDense(Dense):\n    def __init__(self, units=4):\n        super().__init__(units, activation="tanh")\n'

SPLIT = '\n"""A layer with several outputs: Split along the feature axis."""\nimport numpy as np\n\n\nclass Split:\n    def __init__(self, sections=2, axis=1):\n        self.sections = sections\n        self.axis = axis\n\n    def forward(self, x):\n        self.shape = x.shape\n        return tuple(np.array_split(x, self.sections, axis=self.axis))\n\n    def backward(self, *douts):\n        return np.concatenate(douts, axis=self.axis)\n\n\nclass SplitHalves:\n    """x: (N, 2H) -> (x[:, :H], x[:, H:])  e.g. a GLU\'s two halves"""\n\n    def forward(self, x):\n        H = x.shape[1] // 2\n        self.H = H\n        return x[:, :H], x[:, H:]\n\n    def backward(self, d_first, d_second):\n        return np.concatenate([d_first, d_second], axis=1)\n'

CONTRASTIVE = '\n"""Contrastive loss (Hadsell et al.) for siamese pairs."""\nimport numpy as np\n\n\nclass ContrastiveLoss:\n    def __init__(self, margin=1.0):\n        self.margin = margin\n\n    def forward(self, x1, x2, y):\n        """x1, x2: (N, D); y: (N,) 1 for a similar pair, 0 for a dissimilar one"""\n        diff = x1 - x2\n        d = np.sqrt(np.sum(diff ** 2, axis=1))\n        hinge = np.maximum(0.0, self.margin - d)\n        loss = 0.5 * np.mean(y * d ** 2 + (1 - y) * hinge ** 2)\n        self.cache = (diff, d, hinge, y)\n        return loss\n\n    def backward(self, dout=1.0):\n        diff, d, hinge, y = self.cache\n        N = diff.shape[0]\n        safe_d = np.where(d > 0, d, 1.0)\n        coef = y - (1 - y) * hinge / safe_d\n        dx1 = coef[:, None] * diff * dout / N\n        return dx1, -dx1\n'


@pytest.fixture(scope="module")
def keras(tmp_path_factory):
    return collect_source(tmp_path_factory.mktemp("kerasstyle"), "kerasstyle.py", KERAS)[0]


def test_an_inherited_call_is_the_forward_and_build_makes_the_params(keras):
    how = keras["kerasstyle.Dense"].how
    assert "(N, 3) from W (3, 3)" in how and "TF twin: dense: x @ W + b" in how
    assert set(keras["kerasstyle.Dense"].entry.build({}, __import__("numpy").random.default_rng(0),
                                                     "float64").params) == {"W", "b"}
    for prop in ("grads_tf", "grads_fd"):
        assert hunt("kerasstyle.Dense", prop, max_examples=5, shrink=False) is None, prop


def test_a_forgotten_tanh_derivative_in_the_subclass_is_caught(keras):
    bad = hunt("kerasstyle.TanhDense", "grads_tf", max_examples=5, shrink=False)
    assert bad is not None and bad.failures
    assert {r.tensor for r in bad.failures} <= {"dinputs", "dW", "db"}, bad.failures[0].message()
    assert {r.verdict for r in bad.failures} == {"layer bug"}


def test_a_backward_taking_star_douts_is_found(tmp_path):
    found, _ = collect_source(tmp_path, "splits.py", SPLIT)
    assert "splits.Split" in found
    assert hunt("splits.Split", "grads_fd", max_examples=5, shrink=False) is None


def test_a_label_after_the_differentiated_inputs_is_passed_and_may_be_hinted(tmp_path):
    hinted = "# gradcheck: ContrastiveLoss(); x1=(N, 3); x2=(N, 3); y=int(N)<2\n" + CONTRASTIVE
    found, collected = collect_source(tmp_path, "contrastive.py", hinted)
    assert not collected.skipped, collected.skipped
    for prop in ("grads_tf", "grads_fd", "batch_additive"):
        assert hunt("contrastive.ContrastiveLoss", prop, max_examples=10, shrink=False) is None, prop


KERAS_FORWARD = '''
import numpy as np


class Layer:
    def __init__(self):
        self.built = False

    def __call__(self, x):
        if not self.built:
            self.build(x.shape)
            self.built = True
        return self.forward(x)


class DenseTanh(Layer):
    """Keras's build() on the first call, the pass named forward (not call)."""
    def __init__(self, units=3):
        super().__init__()
        self.units = units

    def build(self, input_shape):
        rng = np.random.default_rng(0)
        self.kernel = rng.standard_normal((input_shape[-1], self.units)) * 0.5
        self.bias = np.zeros(self.units)

    def forward(self, x):
        self.x = x
        self.y = np.tanh(x @ self.kernel + self.bias)
        return self.y

    def backward(self, dout):
        dz = dout * (1 - self.y ** 2)
        self.dkernel, self.dbias = self.x.T @ dz, dz.sum(axis=0)
        return dz @ self.kernel.T


class DenseTanhNoDerivative(DenseTanh):
    def backward(self, dout):
        self.dkernel, self.dbias = self.x.T @ dout, dout.sum(axis=0)
        return dout @ self.kernel.T
'''


def test_a_keras_layer_whose_pass_is_named_forward_is_built_by_its_call(tmp_path):
    """Run through forward() alone, its weights were never made (skipped: "no attribute
    'kernel'"), and a wrong backward of it went unchecked."""
    found, collected = collect_source(tmp_path, "kforward.py", KERAS_FORWARD)
    assert "kforward.DenseTanh" in found, [s.reason for s in collected.skipped]
    assert hunt("kforward.DenseTanh", "grads", max_examples=8, shrink=False) is None
    bad = hunt("kforward.DenseTanhNoDerivative", "grads", max_examples=8, shrink=False)
    assert bad is not None and {r.verdict for r in bad.failures} == {"layer bug"}
