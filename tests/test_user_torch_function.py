"""Layers written as PyTorch's ``torch.autograd.Function`` (static ``forward(ctx, ...)`` and
``backward(ctx, grad)``, what forward keeps saved on ``ctx``) were not recognised: the forward
got x in ctx's slot, and with the hint the harness suggested a correct one failed as "layer
raised" at the harness's own line. They are functional pairs, the context made by the
harness. And a functional pair's weight applied elementwise (``x * w``, w of shape (D,)) was
guessed 2-D and checked on one sample, where a correct one failed and an unsummed one passed."""
import pytest

from properties.search import hunt
from tests.owncode_loading import collect_source

FUNCTIONS = '''
import numpy as np


class Function:
    @classmethod
    def apply(cls, *args):
        raise NotImplementedError


class LinearFunction(Function):
    @staticmethod
    def forward(ctx, x, weight, bias=None):
        ctx.save_for_backward(x, weight)
        return x @ weight.T + bias

    @staticmethod
    def backward(ctx, grad_output):
        x, weight = ctx.saved_tensors
        return grad_output @ weight, grad_output.T @ x, {bias_grad}


class LeakyFunction:
    @staticmethod
    def forward(ctx, x, slope=0.1):
        ctx.mask = x > 0
        ctx.slope = slope
        return np.where(ctx.mask, x, slope * x)

    @staticmethod
    def backward(ctx, grad_output):
        return np.where(ctx.mask, grad_output, ctx.slope * grad_output), None


class ScaleFunction:
    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(x, w)
        return x * w

    @staticmethod
    def backward(ctx, grad_output):
        x, w = ctx.saved_tensors
        return grad_output * w, {w_grad}
'''
RIGHT = dict(bias_grad="grad_output.sum(axis=0)", w_grad="(grad_output * x).sum(axis=0)")


@pytest.fixture(scope="module")
def right(tmp_path_factory):
    return collect_source(tmp_path_factory.mktemp("torchfn"), "torchfn.py",
                          FUNCTIONS.format(**RIGHT))


def test_each_function_is_found_as_a_functional_pair(right):
    found, collected = right
    assert set(found) == {"torchfn.LinearFunction", "torchfn.LeakyFunction",
                          "torchfn.ScaleFunction"}, {s.label: s.reason for s in collected.skipped}
    assert "TF twin: dense" in found["torchfn.LinearFunction"].how
    assert "(N, 3) from w (3,)" in found["torchfn.ScaleFunction"].how     # batched, w 1-D


@pytest.mark.parametrize("label", ["torchfn.LinearFunction", "torchfn.LeakyFunction",
                                   "torchfn.ScaleFunction"])
def test_right_functions_pass(right, label):
    for prop in ("grads_fd", "batch_additive", "no_mutation"):
        assert hunt(label, prop, max_examples=5, shrink=False) is None, (label, prop)


@pytest.mark.parametrize("changes, label, tensor", [
    (dict(bias_grad="grad_output.mean(axis=0)"), "torchfn.LinearFunction", "dbias"),
    (dict(w_grad="grad_output * x"), "torchfn.ScaleFunction", "dw"),    # not summed over N
])
def test_a_slip_in_a_function_is_caught(tmp_path, changes, label, tensor):
    module = f"torchfn_{tensor}"
    found, _ = collect_source(tmp_path, f"{module}.py", FUNCTIONS.format(**{**RIGHT, **changes}))
    label = label.replace("torchfn", module)
    assert label in found
    bad = hunt(label, "grads_fd", max_examples=10, shrink=False)
    assert bad is not None and tensor in {r.tensor for r in bad.failures}, bad
    assert {r.verdict for r in bad.failures} == {"layer bug"}
