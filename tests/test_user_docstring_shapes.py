"""Shapes a transformer block's docstring and constructor tell. A cross-attention's ``x:
(B, Tq, d_model)`` and ``ctx: (B, Tk, d_ctx)`` were drawn alike (its ctx never went through
Wk), so it was not checked; a query and a key were drawn of one length although the
docstring names Tq and Tk; a positional table's ``block_size`` was guessed 2 and every
sequence drawn was longer."""
from properties.search import hunt
from tests.owncode_loading import collect_source, hunt_alone

CROSS = '''
import numpy as np


def softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


class CrossAttention:
    """x: (B, Tq, d_model) queries; ctx: (B, Tk, d_ctx) the encoder's memory."""

    def __init__(self, d_model, d_ctx, d_k):
        rng = np.random.default_rng(1)
        self.Wq = rng.standard_normal((d_model, d_k)) * 0.5
        self.Wk = rng.standard_normal((d_ctx, d_k)) * 0.5
        self.Wv = rng.standard_normal((d_ctx, d_model)) * 0.5

    def forward(self, x, ctx):
        self.x, self.ctx = x, ctx
        self.q, self.k, self.v = x @ self.Wq, ctx @ self.Wk, ctx @ self.Wv
        self.a = softmax(self.q @ np.swapaxes(self.k, 1, 2))
        return self.a @ self.v

    def backward(self, dout):
        dv = np.swapaxes(self.a, 1, 2) @ dout
        da = dout @ np.swapaxes(self.v, 1, 2)
        ds = self.a * (da - (da * self.a).sum(-1, keepdims=True))
        dq, dk = ds @ self.k, np.swapaxes(ds, 1, 2) @ self.q
        self.dWq = np.einsum("btm,btk->mk", self.x, dq)
        self.dWk = np.einsum("btc,btk->ck", self.ctx, dk)
        self.dWv = np.einsum("btc,btm->cm", self.ctx, dv)
        return dq @ self.Wq.T, {dctx}
'''
RIGHT_DCTX = "dk @ self.Wk.T + dv @ self.Wv.T"


def test_each_input_goes_through_its_own_weight_and_lengths_differ(tmp_path):
    found, collected = collect_source(tmp_path, "cross_ok.py", CROSS.replace("{dctx}", RIGHT_DCTX))
    how = found["cross_ok.CrossAttention"].how
    assert "x (N, 4, 3); ctx (N, 5, 2) from the docstring" in how, how   # Tq 4, Tk 5
    for prop in ("grads_fd", "batch_additive"):
        assert hunt("cross_ok.CrossAttention", prop, max_examples=5, shrink=False) is None, prop
    found, _ = collect_source(tmp_path, "cross_bad.py", CROSS.replace("{dctx}", "dv @ self.Wv.T"))
    bad = hunt("cross_bad.CrossAttention", "grads_fd", max_examples=5, shrink=False)
    assert bad is not None and {r.tensor for r in bad.failures} == {"dctx"}


POSITIONS = '''
import numpy as np


class TokenAndPosition:
    def __init__(self, vocab_size, block_size, n_embd):
        rng = np.random.default_rng(0)
        self.wte = rng.standard_normal((vocab_size, n_embd))
        self.wpe = rng.standard_normal((block_size, n_embd))
        self.dwte, self.dwpe = np.zeros_like(self.wte), np.zeros_like(self.wpe)

    def forward(self, idx):
        self.idx = idx
        return self.wte[idx] + self.wpe[:idx.shape[1]]

    def backward(self, dout):
        self.dwte = np.zeros_like(self.wte)
        np.add.at(self.dwte, self.idx, dout)
        self.dwpe = np.zeros_like(self.wpe)
        self.dwpe[:dout.shape[1]] = dout.sum(axis=0)
'''


def test_a_positional_tables_length_is_longer_than_any_sequence_drawn(tmp_path):
    found, collected = collect_source(tmp_path, "positions.py", POSITIONS)
    assert "positions.TokenAndPosition" in found, {s.label: s.reason for s in collected.skipped}
    assert hunt("positions.TokenAndPosition", "grads_fd", max_examples=5, shrink=False) is None


PAIRS = '''
import numpy as np


class PairScore:
    def __init__(self, vocab_size, dim):
        rng = np.random.default_rng(0)
        self.U, self.V = rng.standard_normal((vocab_size, dim)), rng.standard_normal((vocab_size, dim))

    def forward(self, center, context):
        self.c, self.o = center, context
        return np.sum(self.U[center] * self.V[context], axis=1)

    def backward(self, dout):
        self.dU, self.dV = np.zeros_like(self.U), np.zeros_like(self.V)
        np.add.at(self.dU, self.c, dout[:, None] * self.V[self.o])
        np.add.at(self.dV, self.o, dout[:, None] * self.U[self.c])
'''


def test_inputs_used_as_indices_get_an_integer_hint_suggested(tmp_path):
    """The hint suggested for a forward indexing with both its inputs gave them float shapes
    (``center=(N, ...)``), which cannot work; it now suggests integers."""
    found, collected = collect_source(tmp_path, "pairs.py", PAIRS)
    reason = {s.label: s.reason for s in collected.skipped}["pairs.PairScore"]
    assert "center=int(N)<V; context=int(N)<V" in reason, reason
    hinted = "# gradcheck: PairScore(vocab_size=5, dim=2); center=int(N)<5; context=int(N)<5\n"
    found, collected = collect_source(tmp_path, "pairs_hinted.py", hinted + PAIRS)
    assert hunt("pairs_hinted.PairScore", "grads_fd", max_examples=5, shrink=False) is None


GATE = '''
import numpy as np


def channel_gate_forward(x, w, b):
    """x (N, C, H, W); w (2,) weights of the channel mean and max; b a number, kept as (1,)."""
    n, c, h, width = x.shape
    s = 1.0 / (1.0 + np.exp(-(w[0] * x.mean(axis=1) + w[1] * x.max(axis=1) + b[0])))
    return x * s[:, None], (x, w, s)


def channel_gate_backward(dout, cache):
    x, w, s = cache
    da = (dout * x).sum(axis=1) * s * (1 - s)
    top = (x == x.max(axis=1, keepdims=True))
    dx = dout * s[:, None] + w[0] * da[:, None] / {channels} + w[1] * da[:, None] * top
    return dx, np.array([(da * x.mean(axis=1)).sum(), (da * x.max(axis=1)).sum()]), \\
        np.array([da.sum()])
'''


def test_shapes_written_without_a_colon_and_a_bias_left_out_are_read(tmp_path):
    """``x (N, C, H, W); w (2,)`` (no colon) was not read: only 2-D inputs were tried and the
    pair was not checked; a bias the docstring leaves a shape out of is tried as one number."""
    for name, channels, passes in (("gate", "x.shape[1]", True), ("gate_bug", "1", False)):
        item, failed = hunt_alone(tmp_path, name, GATE.replace("{channels}", channels))
        assert "from the docstring's x: (N, C, H, W)" in item.how, item.how
        assert (failed is None) is passes, name
        if failed is not None:
            assert {r.tensor for r in failed.failures} == {"dx"}


PRELU = '''
import numpy as np


class PReLU:
    """Channels last: x (N, H, W, C), one slope per channel."""

    def __init__(self, channels):
        self.weight = np.full((channels,), 0.25)

    def forward(self, inputs):
        self.inputs = inputs
        return np.maximum(inputs, 0) + self.weight * np.minimum(inputs, 0)

    def backward(self, grad_output):
        neg = (self.inputs <= 0).astype(grad_output.dtype)
        self.grad_weight = np.sum(grad_output * self.inputs * neg, axis={axes})
        return grad_output * (1 - neg + self.weight * neg)
'''


def test_a_per_channel_slope_takes_images_channels_last(tmp_path):
    """A PReLU (C,) on (N, H, W, C) was tried on a blind (6, 6, 3) with no batch axis, where
    its dweight summed over every axis came out () and failed a right layer."""
    item, failed = hunt_alone(tmp_path, "prelu", PRELU.replace("{axes}", "(0, 1, 2)"))
    assert "(N, 4, 5, 3) from weight (3,): channels last" in item.how, item.how
    assert failed is None
    _, failed = hunt_alone(tmp_path, "prelu_bug", PRELU.replace("{axes}", "(1, 2)").replace(
        "self.grad_weight = np.sum(", "self.grad_weight = np.mean(").replace(
        "axis=(1, 2))", "axis=(1, 2)).sum(0)"))
    assert failed is not None and "dweight" in {r.tensor for r in failed.failures}


SHUFFLE = '''
import numpy as np


class ChannelShuffle:
    def __init__(self, groups=3):
        self.groups = groups

    def forward(self, x):
        n, c, h, w = x.shape
        return x.reshape(n, self.groups, c // self.groups, h, w).transpose(0, 2, 1, 3, 4).reshape(
            n, c, h, w)

    def backward(self, dout):
        n, c, h, w = dout.shape
        return {back}
'''


def test_a_layer_of_groups_gets_several_channels_in_each(tmp_path):
    """A channel shuffle of 3 groups was checked on 3 channels, where it moves nothing: a
    backward returning dout unshuffled passed."""
    right = ("dout.reshape(n, c // self.groups, self.groups, h, w).transpose(0, 2, 1, 3, 4)"
             ".reshape(n, c, h, w)")
    item, failed = hunt_alone(tmp_path, "shuffle", SHUFFLE.replace("{back}", right))
    assert "(N, 6, 4, 5): 2 channels in each of its 3 groups" in item.how, item.how
    assert failed is None
    _, failed = hunt_alone(tmp_path, "shuffle_bug", SHUFFLE.replace("{back}", "dout"))
    assert failed is not None
    # 2 groups of 2 channels: the shuffle is its own inverse, and a backward applying the
    # forward's permutation again (not its inverse) is right there; 3 channels a group then
    again = "self.forward(dout)"
    two = SHUFFLE.replace("groups=3", "groups=2")
    item, failed = hunt_alone(tmp_path, "shuffle2_bug", two.replace("{back}", again))
    assert "(N, 6, 4, 5): 3 channels in each of its 2 groups" in item.how, item.how
    assert failed is not None


def test_a_per_feature_gain_on_sequences_takes_sequences(tmp_path):
    """A gain (D,) on (N, T, D) sequences reversed in time: the channels-last images tried for
    a PReLU's slope ran it on (N, 4, 5, D), where its dgain summed over (0, 1) is (5, D)."""
    source = '''
import numpy as np


class ReverseTime:
    def __init__(self, D=3):
        self.gain = np.linspace(0.5, 1.5, D)

    def forward(self, x):
        self.xr = x[:, ::-1, :]
        return self.xr * self.gain

    def backward(self, dout):
        self.dgain = np.sum(dout * self.xr, axis=(0, 1))
        return (dout * self.gain)[:, ::-1, :]
'''
    item, failed = hunt_alone(tmp_path, "reverse", source)
    assert "from gain (3,): a sequence" in item.how and failed is None, item.how


SPECTRAL = '''
import numpy as np


class SpectralGain:
    """A learnable gain per kept Fourier mode of a periodic signal.

    x: (N, n) -> (N, n)
    """

    def __init__(self, n, n_modes=2):
        self.n, self.n_modes = n, n_modes
        t = np.arange(n)[None, :]
        k = np.arange(n_modes)[:, None]
        self.cos, self.sin = np.cos(2 * np.pi * k * t / n), np.sin(2 * np.pi * k * t / n)
        self.gain = np.ones(n_modes)

    def forward(self, x):
        self.x = x
        self.a, self.b = x @ self.cos.T, x @ self.sin.T
        return (self.gain * self.a) @ self.cos / self.n + (self.gain * self.b) @ self.sin / self.n

    def backward(self, dout):
        da, db = dout @ self.cos.T / self.n, dout @ self.sin.T / self.n
        self.dgain = np.sum(da * self.a + db * self.b, axis=0)
        return (self.gain * da) @ self.cos + (self.gain * db) @ self.sin
'''


def test_a_docstring_letter_the_layer_keeps_as_an_int_takes_its_size(tmp_path):
    """x: (N, n) beside self.n: n was read at a size of its own (4), no docstring shape ran on
    a layer built at n = 3, and it was taken for one sample (6, 6, 3) without a batch axis
    (dgain then came out (6, 2) for (2,): a shape failure of the harness's making)."""
    found, _ = collect_source(tmp_path, "spec.py", SPECTRAL)
    item = found["spec.SpectralGain"]
    assert "(N, 3) from the docstring's x: (N, n)" in item.how, item.how
    assert hunt("spec.SpectralGain", "grads_fd", max_examples=10, shrink=False) is None
    assert hunt("spec.SpectralGain", "shapes_dtypes", max_examples=10, shrink=False) is None
