"""The sequence and attention layers against their TF twins, and the planted bugs made visible.

Every reference layer must agree with its twin (forward value and GradientTape's
VJP for a random upstream gradient) in float64, keep float32 in float32, raise
clear errors on bad input and leave its caches intact for a second backward.
Every class in tests/planted/sequence.py must visibly differ from its twin.
"""
import numpy as np
import pytest

import layers as L
import tests.planted.sequence as P
from oracle.tf_runtime import tf
from oracle.twins import twin_for

SEEDS = (0, 1)


def as_list(value):
    return list(value) if isinstance(value, tuple) else [value]


def tape_vjp(layer, inputs, targets, douts):
    """The twin's outputs, input gradients and param gradients (float64), for upstream ``douts``."""
    t = tf()
    xs = [t.constant(np.asarray(x, np.float64)) for x in inputs]
    ps = {k: t.constant(np.asarray(v, np.float64)) for k, v in layer.params.items()}
    ts = [t.constant(v) if v.dtype.kind in "iub" else t.constant(v.astype(np.float64)) for v in targets]
    with t.GradientTape() as tape:
        for v in [*xs, *ps.values()]:
            tape.watch(v)
        outs = as_list(twin_for(layer)(layer, *xs, *ts, **ps))
    grads = tape.gradient(outs, [*xs, *ps.values()],
                          output_gradients=[t.constant(np.asarray(d, np.float64)) for d in douts],
                          unconnected_gradients=t.UnconnectedGradients.ZERO)
    grads = [t.convert_to_tensor(g).numpy() for g in grads]
    return [o.numpy() for o in outs], grads[:len(xs)], dict(zip(ps, grads[len(xs):]))


def run_layer(layer, inputs, targets, rng):
    """Forward, then backward with random douts. Returns (outs, douts, input grads tuple)."""
    outs = as_list(layer.forward(*inputs, *targets))
    douts = [rng.standard_normal(np.shape(o)).astype(np.asarray(o).dtype) for o in outs]
    grads = layer.backward(*douts)
    grads = () if grads is None else tuple(as_list(grads))
    return outs, douts, grads


def mismatches(layer, inputs, targets, rng, rtol=1e-9, atol=1e-11):
    """Names of the outputs and gradients where ``layer`` and its twin disagree."""
    outs, douts, grads = run_layer(layer, inputs, targets, rng)
    t_outs, t_grads, t_params = tape_vjp(layer, inputs, targets, douts)
    names = getattr(layer, "output_names", ("out",))
    pairs = [(f"out {n}", o, r) for n, o, r in zip(names, outs, t_outs)]
    if len(grads) != len(layer.input_names):
        pairs.append(("number of input gradients", len(grads), len(layer.input_names)))
    pairs += [(f"d{n}", g, r) for n, g, r in zip(layer.input_names, grads, t_grads)]
    pairs += [(f"grads {k}", layer.grads[k], t_params[k]) for k in layer.params]
    return [name for name, a, b in pairs
            if np.shape(a) != np.shape(b) or not np.allclose(a, b, rtol=rtol, atol=atol)]


def randomise_params(layer, rng, scale=0.5):
    for k, v in layer.params.items():
        v[...] = rng.standard_normal(v.shape) * scale
    return layer


def normal(rng, *shape, dtype=np.float64):
    return rng.standard_normal(shape).astype(dtype)


# Each builder: (rng, dtype) -> (layer, inputs, targets). Small shapes, T = 1 included.
def embedding(idx_shape=(2, 4), vocab=5):
    def build(rng, dtype):
        idx = rng.integers(0, vocab, idx_shape)
        if idx.size >= 2:
            idx.flat[1] = idx.flat[0]   # a repeat for certain
        return randomise_params(L.Embedding(vocab, 3, rng=rng, dtype=dtype), rng), [], [idx]
    return build


def step_cell(cls, states=1):
    def build(rng, dtype):
        layer = randomise_params(cls(4, 5, rng=rng, dtype=dtype), rng)
        return layer, [normal(rng, 3, 4, dtype=dtype)] + [normal(rng, 3, 5, dtype=dtype)] * states, []
    return build


def unrolled(cls, T):
    def build(rng, dtype):
        layer = randomise_params(cls(4, 5, rng=rng, dtype=dtype), rng)
        return layer, [normal(rng, 2, T, 4, dtype=dtype), normal(rng, 2, 5, dtype=dtype)], []
    return build


def temporal_dense(T):
    def build(rng, dtype):
        layer = randomise_params(L.TemporalDense(4, 3, rng=rng, dtype=dtype), rng)
        return layer, [normal(rng, 2, T, 4, dtype=dtype)], []
    return build


def temporal_softmax(T, mask_dtype, logit_scale=1.0):
    def build(rng, dtype):
        x = (normal(rng, 3, T, 6) * logit_scale).astype(dtype)
        mask = (rng.random((3, T)) < 0.6).astype(mask_dtype)
        return L.TemporalSoftmaxCrossEntropy(), [x], [rng.integers(0, 6, (3, T)), mask]
    return build


def attention(tq, tk, causal):
    def build(rng, dtype):
        return (L.ScaledDotProductAttention(causal=causal),
                [normal(rng, 2, tq, 4, dtype=dtype), normal(rng, 2, tk, 4, dtype=dtype),
                 normal(rng, 2, tk, 3, dtype=dtype)], [])
    return build


CASES = {
    "embedding-NT": embedding(),
    "embedding-1d-repeats": embedding((9,), vocab=3),
    "embedding-empty": embedding((2, 0)),
    "rnn_cell": step_cell(L.RNNCell),
    "rnn-T1": unrolled(L.RNN, 1),
    "rnn-T4": unrolled(L.RNN, 4),
    "lstm_cell": step_cell(L.LSTMCell, states=2),
    "lstm-T1": unrolled(L.LSTM, 1),
    "lstm-T3": unrolled(L.LSTM, 3),
    "gru_cell": step_cell(L.GRUCell),
    "temporal_dense-T1": temporal_dense(1),
    "temporal_dense-T3": temporal_dense(3),
    "temporal_softmax-bool": temporal_softmax(4, bool),
    "temporal_softmax-int-T1": temporal_softmax(1, np.int64),
    "temporal_softmax-float": temporal_softmax(3, np.float64),
    "temporal_softmax-large-logits": temporal_softmax(3, bool, logit_scale=1e4),
    "attention": attention(3, 5, False),
    "attention-T1": attention(1, 1, False),
    "attention-causal": attention(4, 4, True),
}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("case", CASES)
def test_float64_forward_and_gradients_match_tf(case, seed):
    rng = np.random.default_rng(seed)
    layer, inputs, targets = CASES[case](rng, np.float64)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        assert mismatches(layer, inputs, targets, rng) == []


@pytest.mark.parametrize("case", CASES)
def test_float32_stays_float32_and_is_close_to_tf(case):
    rng = np.random.default_rng(7)
    layer, inputs, targets = CASES[case](rng, np.float32)
    outs, _, grads = run_layer(layer, inputs, targets, np.random.default_rng(8))
    for value in [*outs, *grads, *layer.grads.values()]:
        assert np.asarray(value).dtype == np.float32
    assert all(isinstance(o, np.ndarray) or o.shape == () for o in outs)
    assert mismatches(layer, inputs, targets, np.random.default_rng(8), rtol=2e-4, atol=2e-5) == []


@pytest.mark.parametrize("case", CASES)
def test_backward_keeps_its_inputs_and_caches_and_is_linear(case):
    rng = np.random.default_rng(3)
    layer, inputs, targets = CASES[case](rng, np.float64)
    before = [a.copy() for a in inputs + targets] + [p.copy() for p in layer.params.values()]
    outs, douts, first = run_layer(layer, inputs, targets, rng)
    first_params = {k: g.copy() for k, g in layer.grads.items()}
    kept = [d.copy() for d in douts]
    again = as_list(layer.backward(*douts))
    doubled = as_list(layer.backward(*[2 * d for d in douts]))
    for a, b in zip(douts, kept):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(inputs + targets + list(layer.params.values()), before):
        np.testing.assert_array_equal(a, b)
    for a, b, c in zip(first, again, doubled):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(c, 2 * a, rtol=1e-12, atol=1e-14)
    for k, g in layer.grads.items():
        np.testing.assert_allclose(g, 2 * first_params[k], rtol=1e-12, atol=1e-14)


def test_embedding_repeated_rows_accumulate():
    layer = L.Embedding(4, 2, rng=np.random.default_rng(0))
    layer.forward(np.array([[3, 3], [3, 1]]))
    layer.backward(np.ones((2, 2, 2)))
    np.testing.assert_array_equal(layer.grads["W"], [[0, 0], [1, 1], [0, 0], [3, 3]])


@pytest.mark.parametrize("cls", [L.RNN, L.LSTM])
def test_cell_shares_params_and_unrolling_cells_reproduces_the_sequence(cls):
    rng = np.random.default_rng(5)
    layer, (x, h0), _ = unrolled(cls, 3)(rng, np.float64)
    cells = [layer.cell() for _ in range(3)]
    assert all(c.params[k] is layer.params[k] for c in cells for k in layer.params)
    lstm = cls is L.LSTM
    h, state = layer.forward(x, h0), (h0, np.zeros_like(h0)) if lstm else (h0,)
    for step, cell in enumerate(cells):
        state = as_list(cell.forward(x[:, step], *state))
        np.testing.assert_allclose(state[0], h[:, step], rtol=1e-13, atol=1e-14)
    dh = rng.standard_normal(h.shape)
    dx, dh0 = layer.backward(dh)
    dstate, total = [np.zeros_like(h0)] * len(state), {k: 0 for k in layer.params}
    for step in reversed(range(3)):
        dstate[0] = dstate[0] + dh[:, step]
        dx_step, *dstate = cells[step].backward(*dstate)
        np.testing.assert_allclose(dx_step, dx[:, step], rtol=1e-12, atol=1e-13)
        total = {k: total[k] + cells[step].grads[k] for k in total}
    np.testing.assert_allclose(dstate[0], dh0, rtol=1e-12, atol=1e-13)
    for k in total:
        np.testing.assert_allclose(total[k], layer.grads[k], rtol=1e-12, atol=1e-13)


def test_saturating_inputs_raise_no_overflow():
    rng = np.random.default_rng(2)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        for cls, states in ((L.LSTMCell, 2), (L.GRUCell, 1)):
            layer, inputs, _ = step_cell(cls, states)(rng, np.float32)
            outs, _, grads = run_layer(layer, [inputs[0] * 400, *inputs[1:]], [], rng)
            assert all(np.isfinite(a).all() for a in [*outs, *grads])
        attn = L.ScaledDotProductAttention(causal=True)
        q = normal(rng, 1, 3, 2) * 1e3
        assert np.isfinite(attn.forward(q, q, q)).all()


def test_temporal_softmax_loss_is_a_scalar_of_x_dtype_and_honours_dout():
    rng = np.random.default_rng(4)
    layer, (x,), (y, mask) = temporal_softmax(3, bool)(rng, np.float32)
    loss = layer.forward(x, y, mask)
    assert isinstance(loss, np.float32)
    np.testing.assert_allclose(layer.backward(2.5), 2.5 * layer.backward(), rtol=1e-6)
    assert not layer.backward()[~mask].any()


def test_attention_causal_weights_ignore_future_keys():
    rng = np.random.default_rng(6)
    layer, (q, k, v), _ = attention(4, 4, True)(rng, np.float64)
    out = layer.forward(q, k, v)
    v2 = v.copy()
    v2[:, 2:] += 10.0                     # only queries 2 and 3 may see keys 2 and 3
    np.testing.assert_array_equal(layer.forward(q, k, v2)[:, :2], out[:, :2])


RNG = np.random.default_rng(0)
ERRORS = [
    (lambda: L.Embedding(5, 2, rng=RNG).forward(np.array([0.0, 1.0])), TypeError,
     r"Embedding\.forward: idx must be a NumPy integer array, got dtype float64"),
    (lambda: L.Embedding(5, 2, rng=RNG).forward([0, 1]), TypeError,
     r"Embedding\.forward: idx must be a NumPy integer array, got list"),
    (lambda: L.Embedding(5, 2, rng=RNG).forward(np.array([[0, 5], [-1, 2]])), ValueError,
     r"Embedding\.forward: idx values must lie in \[0, 5\), got values from -1 to 5"),
    (lambda: L.RNN(3, 2, rng=RNG).forward(np.zeros((2, 0, 3)), np.zeros((2, 2))), ValueError,
     r"RNN\.forward: x has T = 0 time steps, a sequence needs at least one step"),
    (lambda: L.LSTM(3, 2, rng=RNG).forward(np.zeros((2, 0, 3)), np.zeros((2, 2))), ValueError,
     r"LSTM\.forward: x has T = 0 .* at least one step"),
    (lambda: L.RNN(3, 2, rng=RNG).forward(np.zeros((2, 4, 3)), np.zeros((3, 2))), ValueError,
     r"RNN\.forward: h0 must have shape \(N, H\) = \(2, 2\), got \(3, 2\)"),
    (lambda: L.LSTM(3, 2, rng=RNG).forward(np.zeros((2, 4, 5)), np.zeros((2, 2))), ValueError,
     r"LSTM\.forward: x must have shape \(N, T, D\) with D = input_size = 3, got \(2, 4, 5\)"),
    (lambda: L.RNNCell(3, 2, rng=RNG).forward(np.zeros((2, 3), np.int64), np.zeros((2, 2))), TypeError,
     r"RNNCell\.forward: x must be a float array"),
    (lambda: L.LSTMCell(3, 2, rng=RNG).forward(np.zeros((2, 3)), np.zeros((2, 2)), np.zeros((2, 3))),
     ValueError, r"LSTMCell\.forward: c_prev must have shape \(N, H\) = \(2, 2\), got \(2, 3\)"),
    (lambda: L.GRUCell(3, 2, rng=RNG).forward(np.zeros((2, 3)), np.zeros(2)), ValueError,
     r"GRUCell\.forward: h_prev must have at least 2"),
    (lambda: L.TemporalDense(3, 2, rng=RNG).forward(np.zeros((2, 3))), ValueError,
     r"TemporalDense\.forward: x must have at least 3"),
    (lambda: L.TemporalSoftmaxCrossEntropy().forward(np.zeros((2, 3, 4)), np.zeros((2, 3)), np.ones((2, 3))),
     ValueError, r"TemporalSoftmaxCrossEntropy\.forward: y must be a NumPy integer array, got dtype float64"),
    (lambda: L.TemporalSoftmaxCrossEntropy().forward(np.zeros((2, 3, 4)), np.full((2, 3), 4), np.ones((2, 3))),
     ValueError, r"TemporalSoftmaxCrossEntropy\.forward: y values must lie in \[0, 4\), got values from 4 to 4"),
    (lambda: L.TemporalSoftmaxCrossEntropy().forward(np.zeros((2, 3, 4)), np.zeros((2, 2), int), np.ones((2, 3))),
     ValueError, r"TemporalSoftmaxCrossEntropy\.forward: y must have shape \(N, T\) = \(2, 3\), got \(2, 2\)"),
    (lambda: L.TemporalSoftmaxCrossEntropy().forward(np.zeros((2, 3, 4)), np.zeros((2, 3), int), np.ones(3)),
     ValueError, r"TemporalSoftmaxCrossEntropy\.forward: mask must have shape \(N, T\) = \(2, 3\), got \(3,\)"),
    (lambda: L.TemporalSoftmaxCrossEntropy().forward(np.zeros((2, 0, 4)), np.zeros((2, 0), int), np.ones((2, 0))),
     ValueError, r"TemporalSoftmaxCrossEntropy\.forward: x must be .* at least one step"),
    (lambda: L.ScaledDotProductAttention().forward(np.zeros((2, 3, 4)), np.zeros((2, 5, 3)), np.zeros((2, 5, 2))),
     ValueError, r"ScaledDotProductAttention\.forward: k must have shape \(N, Tk, d\) = \(2, Tk, 4\)"),
    (lambda: L.ScaledDotProductAttention().forward(np.zeros((2, 3, 4)), np.zeros((2, 5, 4)), np.zeros((2, 4, 2))),
     ValueError, r"ScaledDotProductAttention\.forward: v must have shape \(N, Tk, dv\) = \(2, 5, dv\)"),
    (lambda: L.ScaledDotProductAttention(causal=True).forward(np.zeros((1, 3, 4)), np.zeros((1, 5, 4)),
                                                               np.zeros((1, 5, 2))),
     ValueError, r"ScaledDotProductAttention\.forward: causal attention needs as many queries as keys"),
    (lambda: L.ScaledDotProductAttention().forward(np.zeros((2, 0, 4)), np.zeros((2, 5, 4)), np.zeros((2, 5, 2))),
     ValueError, r"ScaledDotProductAttention\.forward: q has Tq = 0 .* at least one step"),
    (lambda: L.RNN(0, 2, rng=RNG), ValueError, r"RNN: input_size must be a positive integer"),
]


@pytest.mark.parametrize("call,error,message", ERRORS, ids=[m.split(":")[0].replace("\\", "") + f"-{i}"
                                                            for i, (_, _, m) in enumerate(ERRORS)])
def test_bad_input_is_refused_with_a_message_naming_layer_and_tensor(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_empty_idx_is_fine():
    layer = L.Embedding(5, 2, rng=np.random.default_rng(0))
    assert layer.forward(np.zeros((3, 0), np.int32)).shape == (3, 0, 2)
    assert layer.backward(np.zeros((3, 0, 2))) is None
    assert not layer.grads["W"].any()


# ---- planted bugs: each must be visible against the twin -------------------------------

# (planted class, case builder, the mismatches it must show; the bug is invisible elsewhere)
PLANTED = [
    (P.EmbeddingOverwritesRepeats, embedding(), ["grads W"]),
    (P.RNNCellUntransposedWh, step_cell(L.RNNCell), ["dh_prev"]),
    (P.RNNNoCarry, unrolled(L.RNN, 4), ["dx", "dh0", "grads Wx", "grads Wh", "grads b"]),
    (P.LSTMCellForgetUsesNextC, step_cell(L.LSTMCell, 2), ["dx", "dh_prev", "grads Wx", "grads Wh", "grads b"]),
    (P.LSTMCellNoCellGrad, step_cell(L.LSTMCell, 2), ["number of input gradients"]),
    (P.GRUCellFlippedUpdate, step_cell(L.GRUCell), ["dx", "dh_prev", "grads Wx", "grads Wh", "grads b"]),
    (P.TemporalSoftmaxIgnoresMask, temporal_softmax(4, bool), ["dx"]),
    (P.AttentionSoftmaxWrongAxis, attention(3, 5, False), ["out out", "dq", "dk", "dv"]),
    (P.AttentionCausalAfterSoftmax, attention(4, 4, True), ["out out", "dq", "dk", "dv"]),
    (P.AttentionBackwardMissingScale, attention(3, 5, False), ["dq", "dk"]),
    (P.TemporalDenseBiasLastStep, temporal_dense(3), ["grads b"]),
]


def as_planted(cls, build):
    """The case ``build`` makes, with its layer turned into an instance of the planted ``cls``."""
    def planted(rng, dtype):
        layer, inputs, targets = build(rng, dtype)
        layer.__class__ = cls
        return layer, inputs, targets
    return planted


@pytest.mark.parametrize("cls,build,expected", PLANTED, ids=[c.__name__ for c, *_ in PLANTED])
def test_planted_bug_is_visible_against_the_twin(cls, build, expected):
    rng = np.random.default_rng(11)
    layer, inputs, targets = as_planted(cls, build)(rng, np.float64)
    assert mismatches(layer, inputs, targets, rng) == expected
    assert cls.__doc__.startswith("Bug: ")


def test_planted_bugs_that_need_a_second_step_or_a_mask_hide_without_one():
    """Sanity of the cases above: the same classes agree with the twin where their bug cannot act."""
    for cls, build in [(P.RNNNoCarry, unrolled(L.RNN, 1)), (P.TemporalDenseBiasLastStep, temporal_dense(1)),
                       (P.AttentionCausalAfterSoftmax, attention(4, 4, False)),
                       (P.TemporalSoftmaxIgnoresMask, temporal_softmax(4, np.float64)),
                       (P.EmbeddingOverwritesRepeats, embedding((5,), vocab=1000))]:
        rng = np.random.default_rng(12)
        layer, inputs, targets = as_planted(cls, build)(rng, np.float64)
        if cls is P.TemporalSoftmaxIgnoresMask:
            targets[1][...] = 1.0
        if cls is P.EmbeddingOverwritesRepeats:
            targets[0][...] = np.arange(5)
        assert mismatches(layer, inputs, targets, rng) == [], cls.__name__


def test_planted_lstm_overwriting_its_cache_is_right_once_then_wrong():
    rng = np.random.default_rng(13)
    layer, inputs, targets = as_planted(P.LSTMOverwritesCache, unrolled(L.LSTM, 3))(rng, np.float64)
    assert mismatches(layer, inputs, targets, rng) == []          # the first backward is right
    dh = rng.standard_normal((2, 3, 5))
    layer.forward(*inputs)
    first = layer.backward(dh)
    second = layer.backward(dh)
    assert not np.allclose(first[0], second[0])
    assert P.LSTMOverwritesCache.__doc__.startswith("Bug: ")


def test_planted_temporal_dense_float64_leaks_float64():
    rng = np.random.default_rng(14)
    layer, inputs, targets = as_planted(P.TemporalDenseFloat64, temporal_dense(3))(rng, np.float32)
    outs, _, (dx,) = run_layer(layer, inputs, targets, rng)
    assert outs[0].dtype == np.float64 and dx.dtype == np.float64
    assert mismatches(layer, inputs, targets, rng, rtol=2e-4, atol=2e-5) == []   # the maths is right
