"""Laws of BatchNorm, LayerNorm and Dropout that the generic battery does not state.

The battery checks their gradients in both training modes; here: BatchNorm's
running statistics against tf.keras, what evaluation mode must (not) do, what
a normalised output looks like, and where dropout's mask comes from.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import layers as L
from oracle.tape import tape_forward
from oracle.tolerance import tolerance_for
from oracle.twins import twin_for
from properties.contract import run_forward
from properties.trial import Trial
from properties.cases import Case, cases
from properties.catalog import entries
from properties.strategies import batch_sizes, dtypes, trailing_shapes


def assert_close(got, want, dtype=np.float64, oracle="tf"):
    tol = tolerance_for(dtype, oracle)
    want = np.asarray(want, np.float64)
    np.testing.assert_allclose(got, want, rtol=tol.rtol, atol=tol.atol * max(1.0, np.abs(want).max()))


# --- BatchNorm's running statistics ----------------------------------------------------------

@pytest.mark.verify
@pytest.mark.parametrize("momentum", [0.9, 0.99])
@pytest.mark.parametrize("shape", [(5, 3), (4, 2, 3, 2)], ids=["features", "NCHW"])
def test_batchnorm_running_statistics_match_keras(shape, momentum):
    """Several training steps on the same batches: running mean and variance as tf.keras's."""
    from oracle.tf_runtime import tf
    rng = np.random.default_rng(int(momentum * 100) + len(shape))
    channels, eps = shape[1], 1e-3
    ours = L.BatchNorm(channels, eps=eps, momentum=momentum)
    ours.params["gamma"], ours.params["beta"] = rng.normal(1, 0.3, channels), rng.standard_normal(channels)
    keras = tf().keras.layers.BatchNormalization(axis=1, momentum=momentum, epsilon=eps, dtype="float64")
    keras.build(shape)
    keras.gamma.assign(ours.params["gamma"])
    keras.beta.assign(ours.params["beta"])
    for step in range(6):
        x = rng.standard_normal((shape[0] + step % 3, *shape[1:])) * 2.0 + rng.standard_normal()
        assert_close(ours.forward(x), keras(x, training=True).numpy())
        assert_close(ours.running_mean, keras.moving_mean.numpy())
        assert_close(ours.running_var, keras.moving_variance.numpy())
    assert np.abs(ours.running_mean).min() > 0 and not np.allclose(ours.running_var, 1.0), \
        "the running statistics never moved: the comparison would be vacuous"
    ours.training = False
    x = rng.standard_normal(shape)
    assert_close(ours.forward(x), keras(x, training=False).numpy())


def test_batchnorm_evaluation_leaves_running_statistics_alone_and_does_not_couple_samples():
    rng = np.random.default_rng(0)
    bn = L.BatchNorm(3)
    bn.running_mean, bn.running_var = rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    mean0, var0 = bn.running_mean.copy(), bn.running_var.copy()
    bn.training = False
    x = rng.standard_normal((4, 3, 2, 2))
    out = bn.forward(x)
    np.testing.assert_array_equal(bn.running_mean, mean0)
    np.testing.assert_array_equal(bn.running_var, var0)
    per_sample = np.concatenate([bn.forward(x[i:i + 1]) for i in range(4)])
    assert_close(out, per_sample, oracle="law")
    bn.training = True
    bn.forward(x)
    assert not np.allclose(bn.running_mean, mean0), "training mode must move the running mean"


@given(shape=trailing_shapes(max_dims=3, max_side=4), n=batch_sizes(min_size=2),
       eps=st.sampled_from([1e-5, 1e-2]), seed=st.integers(0, 2 ** 16))
def test_normalised_outputs_have_zero_mean_and_the_expected_variance(shape, n, eps, seed):
    """With gamma = 1, beta = 0: mean 0 and variance var / (var + eps) over each group."""
    x = np.random.default_rng(seed).standard_normal((n, *shape)) * 3 + 1
    for layer, axes in [(L.BatchNorm(shape[0], eps=eps), (0, *range(2, x.ndim))),
                        (L.LayerNorm(shape, eps=eps), tuple(range(1, x.ndim)))]:
        out = layer.forward(x)
        var = x.var(axis=axes, keepdims=True)
        assert_close(out.mean(axis=axes, keepdims=True), np.zeros_like(var), oracle="law")
        assert_close(out.var(axis=axes, keepdims=True), var / (var + eps), oracle="law")


# --- Dropout ----------------------------------------------------------------------------------

@given(shape=trailing_shapes(max_dims=3), n=batch_sizes(), dtype=dtypes(),
       p=st.sampled_from([0.0, 0.3, 0.9]), seed=st.integers(0, 2 ** 16))
def test_dropout_is_the_identity_in_evaluation_and_draws_nothing(shape, n, dtype, p, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, *shape)).astype(dtype)
    dout = rng.standard_normal(x.shape).astype(dtype)
    layer = L.Dropout(p, rng=np.random.default_rng(seed))
    layer.training = False
    state = layer.rng.bit_generator.state
    out, dx = layer.forward(x), layer.backward(dout)
    assert out.dtype == x.dtype and dx.dtype == dout.dtype
    np.testing.assert_array_equal(out, x)
    np.testing.assert_array_equal(dx, dout)
    assert layer.rng.bit_generator.state == state, "evaluation mode consumed random numbers"


def test_dropout_keeps_each_unit_with_probability_1_minus_p_and_scales_it():
    p, x = 0.3, np.full((200, 500), 2.0)
    layer = L.Dropout(p, rng=np.random.default_rng(0))
    out = layer.forward(x)
    kept = out != 0
    np.testing.assert_array_equal(kept, layer.mask)
    np.testing.assert_allclose(out[kept], 2.0 / (1 - p), rtol=1e-15)
    sd = np.sqrt(p * (1 - p) / x.size)
    assert abs(kept.mean() - (1 - p)) < 5 * sd
    assert abs(out.mean() - 2.0) < 5 * 2.0 / (1 - p) * sd     # inverted dropout keeps the mean
    dout = np.random.default_rng(1).standard_normal(x.shape)
    np.testing.assert_allclose(layer.backward(dout), dout * kept / (1 - p), rtol=1e-15)


def test_dropout_mask_comes_from_the_injected_generator_whatever_the_dtype():
    x = np.random.default_rng(0).standard_normal((4, 6))
    masks = [L.Dropout(0.5, rng=np.random.default_rng(seed)) for seed in (7, 7, 8)]
    masks[0].forward(x)
    masks[1].forward(x.astype(np.float32))
    masks[2].forward(x)
    np.testing.assert_array_equal(masks[0].mask, masks[1].mask)
    assert not np.array_equal(masks[0].mask, masks[2].mask)
    state = np.random.get_state()[1].copy()
    L.Dropout(0.5, rng=np.random.default_rng(0)).forward(x)
    np.testing.assert_array_equal(np.random.get_state()[1], state)   # global state untouched


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_finite_differences_and_the_twin_use_the_mask_the_layer_drew(dtype):
    case = Case(layer="Dropout", config={"shape": (5,), "p": 0.5}, dtype=dtype, batch=3,
                kind="normal", seed=4)
    layer = case.build()
    x = case.inputs()[0]
    out = layer.forward(x)
    assert 0 < layer.mask.sum() < layer.mask.size, "a mask that keeps all or nothing proves nothing"
    fn = Trial(case, "grads_fd").setup().float64_function()
    x64 = {"x": x.astype(np.float64)}
    first, second = fn(x64), fn({"x": x64["x"] + 1e-3})
    np.testing.assert_array_equal(first == 0, ~layer.mask)           # no fresh mask per evaluation
    np.testing.assert_array_equal(second == 0, ~layer.mask)
    assert_close(out, first, dtype)
    assert_close(out, tape_forward(twin_for(layer), layer, [x], {}), dtype)


# --- the training flag is drawn for every layer that has one ----------------------------------

@pytest.mark.parametrize("entry", entries(), ids=lambda e: e.name)
def test_every_layer_whose_output_depends_on_training_draws_both_modes(entry):
    """If a layer computes something else in evaluation, the battery must draw both modes."""
    differs = []

    @settings(max_examples=6, derandomize=True, database=None)
    @given(case=cases(entry, kinds=("normal",)))
    def probe(case):
        inputs, targets = case.inputs(), case.targets()
        outs = []
        for mode in (True, False):
            layer = case.build()
            layer.training = mode
            outs.append(np.asarray(run_forward(case.layer, layer, inputs, targets)))
        if not np.array_equal(*outs):
            differs.append(case)

    probe()
    if differs:
        assert set(entry.training_modes) == {True, False}, (
            f"{entry.name} computes something else with training=False ({differs[0]}), "
            f"but its registry entry draws only training_modes={entry.training_modes}")


def test_norm_and_dropout_arguments_and_inputs_get_clear_errors():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"Dropout: p must be a number in \[0, 1\), got 1.0"):
        L.Dropout(1.0, rng=rng)
    with pytest.raises(TypeError, match="Dropout: rng must be a numpy.random.Generator .* got RandomState"):
        L.Dropout(0.5, rng=np.random.RandomState(0))
    with pytest.raises(ValueError, match="BatchNorm: momentum must lie in"):
        L.BatchNorm(3, momentum=1.0)
    with pytest.raises(ValueError, match="BatchNorm: eps must be positive"):
        L.BatchNorm(3, eps=0)
    with pytest.raises(ValueError, match=r"BatchNorm.forward: x of shape \(2, 4\) has 4 .* num_features=3"):
        L.BatchNorm(3).forward(np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"LayerNorm.forward: x of shape \(2, 3, 4\) must end with "
                                         r"normalized_shape=\(3,\)"):
        L.LayerNorm(3).forward(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="LayerNorm: normalized_shape must be a positive integer, got 0"):
        L.LayerNorm((2, 0))


def test_on_a_batch_of_equal_values_pytorchs_whole_convention_is_the_one_said():
    """A batch whose features are constant has one variance, biased or not: PyTorch's update
    (momentum on the new batch, unbiased variance) and the plain swapped momentum both fit, and
    the first one listed was said: a right PyTorch BatchNorm failed as a 'convention'."""
    from types import SimpleNamespace
    from oracle.compare import compare
    from properties.running_stats import PYTORCH, _verdict
    batch = np.tile(np.array([[1.0, -2.0, 0.5]]), (4, 1))          # every row alike: var 0
    m = 0.1
    mean, var = (1 - m) * np.zeros(3) + m * batch.mean(0), (1 - m) * np.ones(3) + m * 0.0
    trial = SimpleNamespace(compare=lambda n, got, want, oracle: compare(
        got, want, layer="bn", prop="running_stats", tensor=n, oracle=oracle, dtype="float64"))
    verdict, why = _verdict(mean, var, [batch], np.zeros(3), np.ones(3), m, trial, 1)
    assert verdict == "convention" and PYTORCH in why, why
