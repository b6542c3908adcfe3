"""A user's class layer with two differentiable inputs: ``Add.forward(x, y)`` returning
``dout, dout``, deep-learning-from-scratch's ``MulLayer``, ``Mul.forward(input1, input2)``.

The backward's ``return dx, dy`` says both inputs are differentiated, whatever they are
called: ``y`` was read as a loss's labels (7 false FAILs on a correct ``Add``, with or
without the hint the harness suggested) and ``input2`` as nothing at all (a skip).
"""
import textwrap

import pytest

from tests.owncode_loading import collect_source
from properties.search import hunt
from properties.user_targets import method_roles, returned_gradients

TWO_INPUTS = '''
import numpy as np


class Add:
    def forward(self, x, y):
        return x + y

    def backward(self, dout):
        return dout, dout


class MulLayer:
    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, dout):
        dx = dout * self.y
        dy = dout * self.x
        return dx, dy


class Mul:
    def forward(self, input1, input2):
        self.cache = (input1, input2)
        return input1 * input2

    def backward(self, dout):
        a, b = self.cache
        return dout * b, dout * a


class MulSwapped(Mul):
    """Each input gets the gradient of the other."""

    def backward(self, dout):
        a, b = self.cache
        return dout * a, dout * b


class SoftmaxWithLoss:
    """A loss: forward(x, t) with labels t; its backward returns dx alone."""

    def forward(self, x, t):
        self.t = t
        e = np.exp(x - x.max(axis=1, keepdims=True))
        self.y = e / e.sum(axis=1, keepdims=True)
        return -np.log(self.y[np.arange(len(t)), t]).mean()

    def backward(self, dout=1):
        dx = self.y.copy()
        dx[np.arange(len(self.t)), self.t] -= 1
        return dx * dout / len(self.t)
'''

PROPERTIES = ("grads_fd", "linear_in_dout", "batch_additive", "batch_resize", "no_mutation",
              "shapes_dtypes")


@pytest.fixture(scope="module")
def found(tmp_path_factory):
    return collect_source(tmp_path_factory.mktemp("two_inputs"), "nodes.py", TWO_INPUTS)[1]


def test_both_inputs_are_differentiated_and_labels_stay_labels(found):
    assert not found.skipped
    labels = {f.label for f in found.found}
    assert labels == {"nodes.Add", "nodes.MulLayer", "nodes.Mul", "nodes.MulSwapped",
                      "nodes.SoftmaxWithLoss"}


@pytest.mark.parametrize("layer", ["nodes.Add", "nodes.MulLayer", "nodes.Mul"])
def test_a_correct_two_input_layer_passes_every_property(found, layer):
    for prop in PROPERTIES:
        failed = hunt(layer, prop, max_examples=6, shrink=False)
        assert failed is None, (prop, failed and failed.failures[0].note)


def test_swapped_input_gradients_fail_on_both_inputs(found):
    failed = hunt("nodes.MulSwapped", "grads_fd", max_examples=10)
    assert failed is not None
    assert {r.tensor for r in failed.failures} == {"dinput1", "dinput2"}
    assert {r.verdict for r in failed.failures} == {"layer vs fd"}   # no TF twin to arbitrate


def test_a_loss_keeps_its_labels(found):
    assert hunt("nodes.SoftmaxWithLoss", "grads_fd", max_examples=6, shrink=False) is None


class _Nested:
    def forward(self, x, y, mask):
        return x

    def backward(self, dout):
        def helper():
            return 1, 2, 3
        if dout is None:
            return dout, dout
        return dout * 2, dout


class _WithNone:
    def forward(self, x, lengths):
        return x

    def backward(self, dout):
        return dout, None


class _Mixed:
    def forward(self, x, y):
        return x

    def backward(self, dout):
        if dout.ndim == 1:
            return dout
        return dout, dout


def test_the_count_is_read_off_the_backwards_own_return_statements():
    assert returned_gradients(_Nested.backward) == 2        # not the nested helper's 3
    assert returned_gradients(_WithNone.backward) == 0      # None: not a gradient
    assert returned_gradients(_Mixed.backward) == 0          # returns of two kinds: unknown
    assert method_roles(_Nested)[:2] == (("x", "y"), ("mask",))
    assert method_roles(_WithNone)[:2] == (("x",), ("lengths",))
    assert method_roles(_Mixed)[:2] == (("x",), ("y",))


BILINEAR = '''
import numpy as np


class Bilinear:
    """Its weight kept flat: no axis of it says how wide either input is."""
    def __init__(self, in1_features, in2_features, out_features):
        rng = np.random.default_rng(2)
        self.shape = (out_features, in1_features, in2_features)
        self.weight = rng.standard_normal(out_features * in1_features * in2_features) * 0.3
        self.bias = np.zeros(out_features)

    def forward(self, x1, x2):
        self.cache = (x1, x2)
        return np.einsum("ni,kij,nj->nk", x1, self.weight.reshape(self.shape), x2) + self.bias

    def backward(self, grad_output):
        x1, x2 = self.cache
        W = self.weight.reshape(self.shape)
        self.grad_weight = np.einsum("nk,ni,nj->kij", grad_output, x1, x2).ravel()
        self.grad_bias = grad_output.sum(axis=0)
        return (np.einsum("nk,kij,nj->ni", grad_output, W, x2),
                np.einsum("nk,kij,ni->nj", grad_output, W, x1))
'''


def test_a_skip_suggests_the_call_that_was_made_and_that_hint_works_once_filled_in(tmp_path):
    """Inputs of two sizes no param tells are not guessed (a weight kept (K, I, J) tells them:
    tests/test_user_weight_axes.py): the skip's hint shows the constructor call the harness
    made (not ``Bilinear()``, which raises), and filled in with the shapes it checks."""
    (skipped,) = collect_source(tmp_path, "bil.py", BILINEAR)[1].skipped
    assert skipped.label == "bil.Bilinear" and skipped.unchecked
    line = skipped.reason[skipped.reason.index("# gradcheck: "):]
    assert line.startswith("# gradcheck: Bilinear(in1_features=") and "x1=(N, ...); x2=(N, ...)" in line
    call = line.split(";")[0]
    in1, in2 = (int(call.split(f"{k}=")[1].split(",")[0].rstrip(")")) for k in ("in1_features",
                                                                                  "in2_features"))
    hinted = tmp_path / "hinted"
    hinted.mkdir()
    _, found = collect_source(hinted, "bil.py", f"{call}; x1=(N, {in1}); x2=(N, {in2})\n"
                              + textwrap.dedent(BILINEAR))
    assert not found.skipped and [f.label for f in found.found] == ["bil.Bilinear"]
    for prop in ("grads_fd", "batch_additive"):
        assert hunt("bil.Bilinear", prop, max_examples=5, shrink=False) is None


UNGUESSABLE = '''
import numpy as np


class Conv2D:
    def __init__(self, src, dst, k, stride=1, pad=0):
        self.W = np.ones((dst, src, k, k))

    def forward(self, x):
        return x

    def backward(self, dout):
        return dout
'''


def test_a_constructor_it_cannot_guess_gets_a_hint_with_every_argument(tmp_path):
    """``src`` and ``dst`` cannot be guessed from their names: the suggested hint puts
    ``...`` for them and keeps the argument that was guessed (it suggested
    ``Conv2D(src=..., dst=...)``, leaving ``k`` out: filled in, that raised a TypeError)."""
    (skipped,) = collect_source(tmp_path, "c.py", UNGUESSABLE)[1].skipped
    line = skipped.reason[skipped.reason.index("# gradcheck: "):]
    assert line.startswith("# gradcheck: Conv2D(src=..., dst=..., k="), line


CONCAT = '''
import numpy as np


class Concat:
    def forward(self, a, b):
        self.da = a.shape[1]
        return np.concatenate([a, b], axis=1)

    def backward(self, dout):
        return dout[:, :self.da], dout[:, self.da:]


class ConcatHalves(Concat):
    def backward(self, dout):
        half = dout.shape[1] // 2          # right only when a and b are as wide
        return dout[:, :half], dout[:, half:]
'''


def test_two_inputs_are_first_tried_at_different_widths(tmp_path):
    """Drawn alike, a Concat splitting dout in halves was right and passed; inputs that can
    differ in width are checked so, and the split is caught (an Add, which cannot, is still
    checked on inputs alike: test_a_correct_two_input_layer_passes_every_property)."""
    found, _ = collect_source(tmp_path, "cat.py", CONCAT)
    assert "a (N, 3); b (N, 5): inputs of different widths" in found["cat.ConcatHalves"].how
    assert hunt("cat.Concat", "grads_fd", max_examples=5, shrink=False) is None
    bad = hunt("cat.ConcatHalves", "grads_fd", max_examples=5)
    assert bad is not None and {r.tensor for r in bad.failures} == {"da", "db"}
