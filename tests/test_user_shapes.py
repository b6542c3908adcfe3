"""infer_input_shapes on users' own layers: from params, from docstrings, by probing; None when nothing runs."""
import sys

import numpy as np
import pytest

from layers.adapter import AttributeLayer
from layers.functional import FunctionalLayer, FunctionalLoss
from layers.self_updating import SelfUpdatingLayer
from properties.user_shapes import BATCH, InputSpec, infer_input_shapes
from tests import user_twin_layers as small
from tests.owncode_loading import CORPUS, load, run_from

RNG = np.random.default_rng(5)
F = load("functional/layers.py")
N = BATCH


def normal(*shape):
    return RNG.standard_normal(shape)


def infer(layer, name, doc="", kind=None):
    return infer_input_shapes(layer, name=name, doc=doc, kind=kind, rng=np.random.default_rng(0))


def seed003():
    np.random.seed(5)
    return load("self_updating/cnn_single_image.py")


def dlfs_common():
    with run_from("dlfs_project"):
        sys.path.insert(0, str(CORPUS / "dlfs_project"))
        return load("dlfs_project/common/layers.py", "owncode_dlfs_common_layers_shapes")


def seed001_linear():
    mod = load("self_updating/linear_global_lr.py")
    net = mod.NetWork()
    return SelfUpdatingLayer(net.linear_2, "update", forward="__call__", forward_args=(net,))


# (case id, build, name, doc, expected templates, batched, source, targets)
CASES = [
    ("functional affine", lambda: FunctionalLayer(F.affine_forward, F.affine_backward,
                                                  {"w": normal(6, 2), "b": normal(2)}),
     "affine", F.affine_forward.__doc__, ((N, 6),), True, "params", ""),
    ("lazy attribute affine", lambda: AttributeLayer(load("attribute/affine_lazy.py").Affine(normal(4, 3), normal(3)),
                                                     probe_inputs=(normal(2, 4),)),
     "Affine", "", ((N, 4),), True, "params", ""),
    ("pytorch-style weight (out, in)", lambda: AttributeLayer(small.TorchLinear(normal(3, 4), normal(3))),
     "Linear", "", ((N, 4),), True, "params", ""),
    ("conv stride 2 pad 1", lambda: FunctionalLayer(F.conv_forward_naive, F.conv_backward_naive,
                                                    {"w": normal(2, 3, 3, 3), "b": normal(2)},
                                                    {"stride": 2, "pad": 1}),
     "conv_forward_naive", F.conv_forward_naive.__doc__, ((N, 3, 5, 7),), True, "params", ""),
    ("max pool from the docstring", lambda: FunctionalLayer(F.max_pool_forward_naive, F.max_pool_backward_naive,
                                                            options={"pool_height": 2, "pool_width": 2, "stride": 2}),
     "max_pool_forward_naive", F.max_pool_forward_naive.__doc__, ((N, 4, 6, 7),), True, "docstring", ""),
    ("pooling from its attributes", lambda: AttributeLayer(small.AvgPooling(pool_h=3, pool_w=3, stride=2)),
     "Pooling", "", ((N, 3, 5, 7),), True, "probe", ""),     # wider than high
    ("cs231n batchnorm", lambda: FunctionalLayer(F.batchnorm_forward, F.batchnorm_backward,
                                                 {"gamma": normal(3), "beta": normal(3)}, {"mode": "train"}),
     "batchnorm", F.batchnorm_forward.__doc__, ((N, 3),), True, "params", ""),
    ("spatial batchnorm", lambda: FunctionalLayer(small.spatial_batchnorm_forward, small.spatial_batchnorm_backward,
                                                  {"gamma": normal(3), "beta": normal(3)}, {"mode": "train"}),
     "spatial_batchnorm", "", ((N, 3, 4, 4),), True, "params", ""),
    ("dlfs batchnorm", lambda: AttributeLayer(load("attribute/batchnorm_trainflg.py").BatchNormalization(
        normal(3), normal(3)), probe_inputs=(normal(4, 3),)), "BatchNormalization", "", ((N, 3),), True, "params", ""),
    ("relu by probing", lambda: FunctionalLayer(F.relu_forward, F.relu_backward), "relu", "",
     ((N, 5),), True, "probe", ""),
    ("softmax_loss: labels", lambda: FunctionalLoss(F.softmax_loss), "softmax_loss", F.softmax_loss.__doc__,
     ((N, 4),), True, "docstring", "labels"),
    ("svm_loss: labels", lambda: FunctionalLoss(F.svm_loss), "svm_loss", F.svm_loss.__doc__,
     ((N, 4),), True, "docstring", "labels"),
    ("mse: real targets", lambda: AttributeLayer(small.HalfSumSquares()), "MSELoss", "",
     ((N, 5),), True, "probe", "like_x"),
    ("seed 003 Conv3x3, per sample", lambda: SelfUpdatingLayer(seed003().Conv3x3(2), "backprop", per_sample=True),
     "Conv3x3", "", ((N, 6, 6),), True, "params", ""),
    ("seed 003 Conv3x3, one image", lambda: SelfUpdatingLayer(seed003().Conv3x3(2), "backprop"),
     "Conv3x3", "", ((6, 6),), False, "params", ""),
    ("seed 003 MaxPool2, one image", lambda: small.BackpropView(seed003().MaxPool2()),
     "MaxPool2", "", ((6, 6, 3),), False, "probe", ""),
    ("seed 003 Softmax, one image", lambda: SelfUpdatingLayer(seed003().Softmax(18, 4), "backprop"),
     "Softmax", "", ((18,),), False, "params", ""),
    ("seed 003 Softmax, per sample", lambda: SelfUpdatingLayer(seed003().Softmax(18, 4), "backprop",
                                                                per_sample=True),
     "Softmax", "", ((N, 18),), True, "params", ""),
    ("seed 001 Linear", seed001_linear, "Linear", "", ((N, 8),), True, "params", ""),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_shapes_are_inferred_for_each_users_layer_and_run(case):
    _, build, name, doc, templates, batched, source, targets = case
    layer = build()
    spec = infer(layer, name, doc)
    assert isinstance(spec, InputSpec), f"no shapes for {name}"
    assert (spec.inputs, spec.batched, spec.source, spec.targets) == (templates, batched, source, targets), spec
    assert spec.how
    xs, ts = spec.draw(np.random.default_rng(1), batch=3)
    out = layer.forward(*xs, *ts)
    assert np.all(np.isfinite(out))
    if targets in ("labels", "one_hot"):
        assert spec.classes == templates[0][-1]


def test_dlfs_project_layers():
    common = dlfs_common()
    assert infer(AttributeLayer(common.Affine(normal(6, 2), normal(2))), "Affine").inputs == ((N, 6),)
    loss = infer(AttributeLayer(common.SoftmaxWithLoss()), "SoftmaxWithLoss")
    assert (loss.inputs, loss.targets, loss.classes) == (((N, 5),), "labels", 5)
    assert infer(AttributeLayer(common.Dropout(0.5)), "Dropout").inputs == ((N, 5),)


def test_letters_in_the_docstring_are_bound_to_the_params_sizes():
    doc = """Inputs:
    - x: A numpy array containing input data, of shape (N, d_1, ..., d_k)
    - w: A numpy array of weights, of shape (D, M)
    """
    layer = FunctionalLayer(F.affine_forward, F.affine_backward, {"w": normal(7, 2), "b": normal(2)})
    from properties.user_shapes import _from_doc
    assert [t for t, _ in _from_doc(doc, dict(layer.params))] == [(N, 7)]
    assert [t for t, _ in _from_doc("x: Input data, of shape (N, C, H, W)", {})] == [(N, 4, 6, 7)]
    assert [t for t, _ in _from_doc("x: (N, D)", {})] == [(N, 5)]


def test_kind_says_the_targets_of_a_loss():
    spec = infer(FunctionalLoss(lambda x, t: (0.5 * np.sum((x - t) ** 2), x - t)), "my_loss", kind="mse")
    assert spec.targets == "like_x"


def test_a_layer_that_runs_on_nothing_gives_none():
    class Picky:
        def forward(self, x):
            if x.shape != (7, 11, 13):
                raise ValueError("only (7, 11, 13)")
            return x

        def backward(self, dout):
            return dout

    assert infer(AttributeLayer(Picky()), "Picky") is None


def test_a_backward_returning_the_wrong_shape_is_set_up_so_the_bug_is_reported_not_skipped():
    class WrongDx:
        def forward(self, x):
            return x * 2

        def backward(self, dout):
            return dout[:, :1]

    spec = infer(AttributeLayer(WrongDx()), "WrongDx")
    assert spec is not None and spec.inputs == ((N, 5),)     # the first shape that runs
