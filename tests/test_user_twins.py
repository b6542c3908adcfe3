"""match_twin on users' own layers: the right twin, said how, conventions named, None when none fits.

Every matched twin of a correct layer is then used as the oracle: its
GradientTape VJP must equal the layer's own backward at the float64 TF
tolerance, which proves the matched twins are usable oracles.
"""
import copy
import sys

import numpy as np
import pytest

from layers.adapter import AttributeLayer
from layers.functional import FunctionalLayer, FunctionalLoss
from layers.self_updating import SelfUpdatingLayer
from oracle import twins
from oracle.compare import compare
from oracle.tape import tape_vjp
from oracle.user_twins import TwinMatch, match_twin
from tests import user_twin_layers as small
from tests.owncode_loading import CORPUS, load, run_from

RNG = np.random.default_rng(11)
F = load("functional/layers.py")


def normal(*shape):
    return RNG.standard_normal(shape)


def dlfs_common():
    with run_from("dlfs_project"):
        sys.path.insert(0, str(CORPUS / "dlfs_project"))
        return load("dlfs_project/common/layers.py", "owncode_dlfs_common_layers_twins")


def bn_functional(mode):
    bn_param = {"mode": mode, "running_mean": normal(3), "running_var": RNG.uniform(0.5, 2, 3)}
    return FunctionalLayer(F.batchnorm_forward, F.batchnorm_backward,
                           {"gamma": RNG.normal(1, 0.2, 3), "beta": normal(3)}, bn_param)


def dlfs_bn(training):
    mod = load("attribute/batchnorm_trainflg.py")
    inner = mod.BatchNormalization(RNG.normal(1, 0.2, 3), normal(3), running_mean=normal(3),
                                   running_var=RNG.uniform(0.5, 2, 3))
    layer = AttributeLayer(inner, probe_inputs=(normal(4, 3),))
    layer.training = training
    return layer


def seed003():
    np.random.seed(5)
    return load("self_updating/cnn_single_image.py")


def seed001_linear():
    mod = load("self_updating/linear_global_lr.py")
    net = mod.NetWork()
    return SelfUpdatingLayer(net.linear_1, "update", forward="__call__", forward_args=(net,))


LABELS = RNG.integers(0, 4, 5)

# (case id, build layer, inputs, targets, name, kind, words in `how`, words in `convention`)
CORRECT = [
    ("functional affine", lambda: FunctionalLayer(F.affine_forward, F.affine_backward,
                                                  {"w": normal(6, 2), "b": normal(2)}),
     (normal(3, 2, 3),), (), "affine", "dense", "x.reshape(N, -1) @ w + b", ""),
    ("attribute affine", lambda: AttributeLayer(load("attribute/affine_lazy.py").Affine(normal(4, 3), normal(3)),
                                                probe_inputs=(normal(2, 4),)),
     (normal(5, 4),), (), "Affine", "dense", "x @ W + b", ""),
    ("pytorch-style linear", lambda: AttributeLayer(small.TorchLinear(normal(3, 4), normal(3))),
     (normal(5, 4),), (), "Linear", "dense", "weight.T", ""),
    ("functional relu", lambda: FunctionalLayer(F.relu_forward, F.relu_backward),
     (normal(4, 5),), (), "relu", "relu", "tf.nn.relu", ""),
    ("conv stride 2 pad 1", lambda: FunctionalLayer(F.conv_forward_naive, F.conv_backward_naive,
                                                    {"w": normal(2, 3, 3, 3), "b": normal(2)},
                                                    {"stride": 2, "pad": 1}),
     (normal(2, 3, 5, 5),), (), "conv_forward_naive", "conv2d", "stride=2, pad=1", ""),
    ("dlfs-style Convolution", lambda: AttributeLayer(small.Convolution(normal(2, 2, 3, 3), normal(2), stride=1, pad=1)),
     (normal(2, 2, 4, 4),), (), "Convolution", "conv2d", "stride=1, pad=1", ""),
    ("max pool pool_param", lambda: FunctionalLayer(F.max_pool_forward_naive, F.max_pool_backward_naive,
                                                    options={"pool_height": 2, "pool_width": 2, "stride": 2}),
     (normal(2, 3, 4, 4),), (), "max_pool_forward_naive", "max_pool", "pool_height=2, pool_width=2, stride=2", ""),
    ("dlfs-style avg Pooling", lambda: AttributeLayer(small.AvgPooling(pool_h=2, pool_w=2, stride=1)),
     (normal(2, 2, 4, 4),), (), "Pooling", "avg_pool", "pool_h=2, pool_w=2, stride=1", ""),
    ("cs231n batchnorm train", lambda: bn_functional("train"), (normal(5, 3),), (), "batchnorm",
     "batch_norm", "batch's mean and variance", ""),
    ("cs231n batchnorm test", lambda: bn_functional("test"), (normal(5, 3),), (), "batchnorm",
     "batch_norm", "running_mean / running_var", ""),
    ("dlfs batchnorm train", lambda: dlfs_bn(True), (normal(5, 3),), (), "BatchNormalization",
     "batch_norm", "eps=1e-06 found by probing", ""),
    ("dlfs batchnorm eval", lambda: dlfs_bn(False), (normal(5, 3),), (), "BatchNormalization",
     "batch_norm", "running_mean / running_var", ""),
    ("spatial batchnorm", lambda: FunctionalLayer(small.spatial_batchnorm_forward, small.spatial_batchnorm_backward,
                                                  {"gamma": RNG.normal(1, 0.2, 3), "beta": normal(3)},
                                                  {"mode": "train", "eps": 1e-5}),
     (normal(2, 3, 2, 2),), (), "spatial_batchnorm", "batch_norm", "per channel (spatial, NCHW)", ""),
    ("layer norm", lambda: AttributeLayer(small.LayerNorm(RNG.normal(1, 0.2, 4), normal(4))),
     (normal(3, 4),), (), "LayerNorm", "layer_norm", "eps=1e-05 from the layer", ""),
    ("inverted dropout", lambda: AttributeLayer(small.InvertedDropout(0.4, seed=1)),
     (normal(6, 5),), (), "Dropout", "dropout", "dropout (inverted)", ""),
    ("cs231n dropout, mask in the cache", lambda: FunctionalLayer(small.dropout_forward, small.dropout_backward,
                                                                  options={"p": 0.7, "mode": "train", "seed": 2}),
     (normal(6, 5),), (), "dropout", "dropout", "p is the keep probability", ""),
    ("leaky relu", lambda: AttributeLayer(small.LeakyRelu(0.2)), (normal(4, 5),), (), "LeakyReLU",
     "leaky_relu", "alpha", ""),
    ("tanh", lambda: AttributeLayer(load("dlfs_project/layers.py", "owncode_dlfs_own_twins").Tanh()),
     (normal(4, 5),), (), "Tanh", "tanh", "tf.math.tanh", ""),
    ("softmax activation", lambda: AttributeLayer(small.SoftmaxActivation()), (normal(4, 5),), (), "Softmax",
     "softmax", "last axis", ""),
    ("cs231n softmax_loss", lambda: FunctionalLoss(F.softmax_loss), (normal(5, 4),), (LABELS,), "softmax_loss",
     "softmax_cross_entropy", "int labels", ""),
    ("cs231n svm_loss", lambda: FunctionalLoss(F.svm_loss), (normal(5, 4),), (LABELS,), "svm_loss", "svm",
     "hinge", ""),
    ("mse 0.5 * sum", lambda: AttributeLayer(small.HalfSumSquares()), (normal(5, 3),), (normal(5, 3),),
     "MSELoss", "mse", "0.5 * sum((x - t)**2)", "not the mean"),
    ("seed 003 Conv3x3", lambda: SelfUpdatingLayer(seed003().Conv3x3(2), "backprop", per_sample=True),
     (normal(2, 5, 5),), (), "Conv3x3", "conv2d_single_channel", "seed 003's Conv3x3", ""),
    ("seed 003 MaxPool2", lambda: small.BackpropView(seed003().MaxPool2()), (normal(4, 6, 2),), (),
     "MaxPool2", "max_pool", "HWC; 2x2 windows, stride 2", ""),
    ("seed 003 Softmax", lambda: SelfUpdatingLayer(seed003().Softmax(18, 4), "backprop", per_sample=True),
     (normal(2, 3, 3, 2),), (), "Softmax", "dense+softmax", "softmax(x.reshape(N, -1) @ weights + biases)", ""),
    ("seed 001 Linear + sigmoid", seed001_linear, (normal(3, 4),), (), "Linear", "dense+sigmoid",
     "sigmoid(x @ weight + bias)", ""),
]


@pytest.mark.parametrize("case", CORRECT, ids=[c[0] for c in CORRECT])
def test_correct_layers_get_the_right_twin_and_it_is_a_usable_oracle(case):
    _, build, inputs, targets, name, kind, how, convention = case
    layer = build()
    match = match_twin(layer, inputs, targets, name=name)
    assert isinstance(match, TwinMatch), f"no twin matched {name}"
    assert match.kind == kind, match
    assert how in match.how, match.how
    assert (convention in match.convention) if convention else match.convention == "", match.convention
    assert_twin_is_the_oracle(layer, match, inputs, targets, name)


def assert_twin_is_the_oracle(layer, match, inputs, targets, name):
    """The layer's own backward equals the twin's GradientTape VJP at the float64 TF tolerance."""
    out = np.asarray(layer.forward(*inputs, *targets))
    dout = np.float64(1.0) if targets else RNG.standard_normal(out.shape)
    dx = layer.backward(np.array(dout, copy=True))
    grads = {k: np.array(v, copy=True) for k, v in layer.grads.items()}
    tape = tape_vjp(match.twin, layer, inputs, dict(layer.params), dout, targets, name=name)
    assert not tape.unavailable, tape.unavailable
    pairs = [("out", out, tape.out)] + [("d" + k, grads[k], tape.dparams[k]) for k in layer.params]
    if dx is not None:                      # seed 003's first layer returns no dx
        pairs.append(("dx", dx, tape.dinputs[0]))
    for tensor, got, expected in pairs:
        r = compare(got, expected, layer=name, prop="grads_tf", tensor=tensor, oracle="tf", dtype="float64")
        assert r.passed, r.message()


def test_dlfs_project_layers_non_inverted_dropout_and_the_delta_in_the_log_are_named():
    common = dlfs_common()
    for training in (True, False):
        layer = AttributeLayer(common.Dropout(0.3))
        layer.training = training
        match = match_twin(layer, (normal(6, 5),), name="Dropout")
        assert match.kind == "dropout" and "non-inverted" in match.how
        assert match.convention.startswith("non-inverted dropout: ")
        if training:
            assert_twin_is_the_oracle(layer, match, (normal(6, 5),), (), "Dropout")
    for labels in (LABELS, np.eye(4)[LABELS]):
        loss = AttributeLayer(common.SoftmaxWithLoss())
        match = match_twin(loss, (normal(5, 4),), (labels,), name="SoftmaxWithLoss")
        assert match.kind == "softmax_cross_entropy"
        assert "+ 1e-7" in match.how and "log(p + 1e-7)" in match.convention
        # Its backward is the exact (y - t) / N: the gradient of the cross-entropy WITHOUT the
        # delta. The matched twin has the guarded loss's value and that exact gradient, so the
        # textbook backward is right against it, saturated scores included (p far below 1e-7).
        for x in (normal(5, 4), normal(5, 4) * 400.0):
            value = loss.forward(x, labels)
            dx = loss.backward(1.0)
            tape = tape_vjp(match.twin, loss, (x,), {}, np.float64(1.0), (labels,))
            exact = tape_vjp(twins.softmax_cross_entropy, loss, (x,), {}, np.float64(1.0),
                             (labels,))
            np.testing.assert_allclose(dx, exact.dinputs[0], rtol=1e-12, atol=1e-15)
            np.testing.assert_allclose(tape.dinputs[0], exact.dinputs[0], rtol=1e-12, atol=1e-15)
            np.testing.assert_allclose(float(tape.out), value, rtol=1e-12)   # the guarded value
        assert abs(float(tape.out) - float(exact.out)) > 1.0     # where p << 1e-7 they part
    assert match_twin(AttributeLayer(common.Affine(normal(6, 2), normal(2))), (normal(3, 6),),
                      name="Affine").kind == "dense"
    relu = match_twin(AttributeLayer(common.Relu()), (normal(3, 6),), name="Relu")
    assert relu.kind == "relu"      # its backward overwrites dout: the battery's no_mutation catches that


def test_an_exact_cross_entropy_is_not_matched_to_the_twin_with_the_delta():
    match = match_twin(FunctionalLoss(F.softmax_loss), (normal(5, 4),), (LABELS,), name="SoftmaxWithLoss")
    assert match.convention == "" and "1e-7" not in match.how


class _GuardedXent:
    """Softmax cross-entropy with ``log(p + guard)``, written as a user would."""

    def __init__(self, guard):
        self.guard = guard

    def forward(self, x, t):
        e = np.exp(x - x.max(axis=1, keepdims=True))
        self.p, self.t = e / e.sum(axis=1, keepdims=True), t
        picked = self.p[np.arange(len(x)), t] if t.ndim == 1 else (self.p * t).sum(axis=1)
        return -np.mean(np.log(picked + self.guard))

    def backward(self, dout=1.0):
        onehot = np.eye(self.p.shape[1])[self.t] if self.t.ndim == 1 else self.t
        return dout * (self.p - onehot) / len(self.p)


@pytest.mark.parametrize("guard", [1e-12, 1e-10, 1e-8, 1e-15])
@pytest.mark.parametrize("onehot", [False, True])
def test_a_guard_of_any_usual_size_inside_the_log_is_named_as_such(guard, onehot):
    """On ordinary scores a guard of 1e-12 is far below the tolerance, so the exact twin
    agreed and the layer later failed 'forward differs' where some p was tiny; the twin is
    now also confirmed where every target's probability is tiny, and the guard is named."""
    labels = np.eye(4)[LABELS] if onehot else LABELS
    loss = AttributeLayer(_GuardedXent(guard), names=(), input_names=("x",), target_names=("t",))
    match = match_twin(loss, (normal(5, 4),), (labels,), name="SoftmaxXent")
    written = f"{guard:e}".split("e")
    written = f"{float(written[0]):g}e{int(written[1])}"
    assert match.kind == "softmax_cross_entropy" and f"+ {written})" in match.how
    assert match.convention.startswith(f"log(p + {written}) inside the cross-entropy")


def test_a_guard_not_among_the_usual_sizes_still_gets_the_exact_twin():
    loss = AttributeLayer(_GuardedXent(3e-11), names=(), input_names=("x",), target_names=("t",))
    match = match_twin(loss, (normal(5, 4),), (LABELS,), name="SoftmaxXent")
    assert match.kind == "softmax_cross_entropy" and match.convention == ""


def test_an_inverted_dropout_is_not_reported_as_non_inverted():
    layer = AttributeLayer(small.InvertedDropout(0.3, seed=4))
    layer.training = False
    match = match_twin(layer, (normal(4, 4),), name="Dropout")
    assert "(inverted)" in match.how and match.convention == ""


@pytest.mark.parametrize("layer, name", [
    (lambda: AttributeLayer(load("dlfs_project/layers.py", "owncode_dlfs_own_twins2").Scale(3),
                            probe_inputs=(np.ones((1, 3)),)), "Scale"),
    (lambda: AttributeLayer(small.Square()), "Square"),
    (lambda: AttributeLayer(small.Square()), "MyActivation"),
], ids=["dlfs Scale", "Square by name", "Square unnamed"])
def test_a_layer_whose_forward_matches_no_twin_gets_none(layer, name):
    assert match_twin(layer(), (normal(4, 3),), name=name) is None


@pytest.mark.parametrize("build, inputs, targets, name", [
    (lambda: AttributeLayer(small.TanhNamedSigmoid()), (normal(4, 5),), (), "Sigmoid"),
    (lambda: AttributeLayer(small.AffineBiasSubtracted(normal(4, 3), normal(3))), (normal(5, 4),), (), "Affine"),
    (lambda: AttributeLayer(small.BatchNormUnbiasedVar(RNG.normal(1, 0.2, 3), normal(3))), (normal(5, 3),), (),
     "BatchNorm"),
    (lambda: AttributeLayer(small.Convolution(normal(2, 2, 3, 3), normal(2), stride=2, pad=0, honour_stride=False)),
     (normal(1, 2, 5, 5),), (), "Convolution"),
    (lambda: FunctionalLoss(small.softmax_loss_summed), (normal(5, 4),), (LABELS,), "softmax_loss"),
    (lambda: FunctionalLoss(F.svm_loss), (normal(5, 4),), (LABELS,), "softmax_loss"),
], ids=["tanh named Sigmoid", "affine minus b", "bn with ddof=1", "conv ignoring stride",
        "loss summed not averaged", "svm named softmax"])
def test_buggy_forwards_are_not_matched_to_a_wrong_twin(build, inputs, targets, name):
    assert match_twin(build(), inputs, targets, name=name) is None


def test_an_unnamed_activation_is_matched_by_probing_and_says_so():
    match = match_twin(AttributeLayer(small.SoftmaxActivation()), (normal(3, 4),), name="Thing")
    assert match.kind == "softmax" and "probing alone" in match.how


def test_hint_picks_the_kind_when_the_name_does_not():
    layer = FunctionalLayer(F.relu_forward, F.relu_backward)
    assert match_twin(layer, (normal(3, 4),), name="my_layer_forward", hint="relu").how.endswith("x == 0)")


def test_matching_never_touches_the_users_object():
    inner = small.InvertedDropout(0.5, seed=3)
    match_twin(AttributeLayer(inner), (normal(3, 4),), name="Dropout")
    assert inner.mask is None
    fn_layer = bn_functional("train")
    saved = copy.deepcopy(fn_layer.options)
    match_twin(fn_layer, (normal(5, 3),), name="batchnorm")
    assert all(np.array_equal(saved[k], fn_layer.options[k]) for k in saved)


def test_a_forward_that_cannot_run_on_the_inputs_gives_none():
    layer = FunctionalLayer(F.affine_forward, F.affine_backward, {"w": normal(6, 2), "b": normal(2)})
    assert match_twin(layer, (normal(3, 5),), name="affine") is None


@pytest.mark.parametrize("cap", [6.0, 20.0])
def test_a_capped_relu_is_not_matched_to_relu_but_relu_still_is(cap):
    """A twin must agree on inputs as wide as the checks draw (the ``large`` kind), not only on
    ordinary ones, where a ReLU6 and a ReLU agree: the capped one gets no twin (finite
    differences judge it), a plain ReLU keeps its twin."""
    x = normal(4, 5)
    assert np.abs(x).max() < cap          # on these the two agree
    assert match_twin(AttributeLayer(small.CappedRelu(cap)), (x,), name="ReLU6") is None
    plain = match_twin(AttributeLayer(small.CappedRelu(np.inf)), (x,), name="ReLU")
    assert plain is not None and plain.kind == "relu"


def test_a_loss_twin_must_agree_at_a_second_batch_size():
    """At batch 2, sum / N equals 0.5 * sum: probed there alone, the first of the two in the
    list was taken and the correct loss failed. The candidate must agree one sample on too."""
    y, t = normal(2, 5), normal(2, 5)
    assert np.isclose(0.5 * np.sum((y - t) ** 2), np.sum((y - t) ** 2) / 2)
    match = match_twin(AttributeLayer(small.HalfSumSquares()), (y,), (t,), name="SumSquaredError")
    assert match is not None and match.how == "mse: loss = 0.5 * sum((x - t)**2)", match


def test_finite_differences_of_a_guarded_loss_are_explained_by_its_guard(tmp_path):
    """Where a target's probability is below the guard, finite differences of
    ``-log(p + 1e-7)`` part from the exact (p - t) / N the backward gives and the guarded
    twin agrees with: a warning ("fd artifact") that blamed a kink or the step size. It
    now names the convention's own term, which is what finite differences see."""
    from properties.battery import all_properties
    from properties.cases import Case
    from tests.owncode_loading import collect_source
    found, _ = collect_source(tmp_path, "guarded_fd_loss.py", """
        import numpy as np

        class SoftmaxWithLoss:
            def forward(self, x, t):
                e = np.exp(x - x.max(axis=1, keepdims=True))
                self.y, self.t = e / e.sum(axis=1, keepdims=True), t
                return -np.sum(t * np.log(self.y + 1e-7)) / len(x)

            def backward(self, dout=1):
                return dout * (self.y - self.t) / len(self.y)
        """)
    (label,) = found
    scores = 20.0 * np.eye(4, 5)     # each row certain of another class: most targets' p ~ 2e-9
    case = Case(layer=label, config={}, dtype="float64", batch=4, kind="normal", seed=0,
                values=(tuple(scores.ravel()),))
    (dx,) = [r for r in all_properties()["grads_fd"].fn(case) if r.tensor == "dx"]
    assert dx.passed and dx.warning and dx.verdict == "fd artifact", dx.message()
    assert "convention's own term" in dx.explanation and "kink" not in dx.explanation.split(".")[0]
    assert "log(p + 1e-7)" in dx.note
