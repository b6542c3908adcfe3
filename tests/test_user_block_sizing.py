"""How a user's layers and blocks are sized and built without a hint: constructor sizes named
by a word of their own, several weights with no docstring shapes, a block of strided
convolutions, integer inputs into a sublayer's embedding; and suggested hints that paste."""
import pytest

from properties.search import hunt
from properties.user_build import CannotBuild, constructor_args
from tests.owncode_loading import collect_source


def _label(found, name):
    return next(lab for lab in found if lab.endswith("." + name))


def test_sizes_named_by_a_word_of_their_own_are_guessed_and_heads_divide_them():
    class Attn:
        def __init__(self, d_model, num_heads, d_ff, fan_in):
            pass

    class Lin:
        def __init__(self, d_in, d_out, c_in):
            pass
    kw = constructor_args(Attn)
    assert kw["num_heads"] == 2 and all(kw[k] % 2 == 0 for k in ("d_model", "d_ff", "fan_in"))
    assert sorted(constructor_args(Lin)) == ["c_in", "d_in", "d_out"]


def test_numbered_sizes_and_deeplearning_ai_names_are_sizes():
    """A stacked LSTM's ``H1``, ``H2``, a channel count ``C``, deeplearning.ai's ``n_x``,
    ``n_h``, ``n_y``: sizes (each needed a hint); a name only beginning so is not one."""
    class Stacked:
        def __init__(self, D, H1, H2):
            pass

    class Course:
        def __init__(self, n_x, n_h, n_y, C):
            pass

    class Other:
        def __init__(self, h1_table):
            pass
    assert all(isinstance(v, int) and v > 0 for v in constructor_args(Stacked).values())
    assert all(isinstance(v, int) and v > 0 for v in constructor_args(Course).values())
    with pytest.raises(CannotBuild, match="h1_table"):
        constructor_args(Other)


BIDIRECTIONAL = '''
import numpy as np


class BiTanhScan:
    """No docstring shapes: x is (N, T, D), and the two directions have weights of their own."""

    def __init__(self, input_size, hidden_size):
        self.Wf = np.random.randn(input_size, hidden_size)
        self.Wb = np.random.randn(input_size, hidden_size)

    def forward(self, x):
        self.x = x
        self.hf = np.tanh(np.cumsum(x @ self.Wf, axis=1))
        self.hb = np.tanh(np.cumsum((x @ self.Wb)[:, ::-1], axis=1))[:, ::-1]
        return np.concatenate([self.hf, self.hb], axis=2)

    def backward(self, dout):
        H = self.Wf.shape[1]
        af = np.cumsum((dout[:, :, :H] * (1 - self.hf ** 2))[:, ::-1], axis=1)[:, ::-1]
        ab = np.cumsum(dout[:, :, H:] * (1 - self.hb ** 2), axis=1)
        self.dWf = np.einsum("ntd,nth->dh", self.x, af)
        self.dWb = np.einsum("ntd,nth->dh", self.x, ab)
        return af @ self.Wf.T + ab @ self.Wb.T
'''


def test_a_layer_of_several_weights_is_sized_from_the_first_as_a_sequence_where_it_needs_one(
        tmp_path):
    """It was sized "(6, 6, 3): the first common shape", one sample with no batch axis, so its
    batch was never split (batch_additive: "takes one sample at a time")."""
    found, _ = collect_source(tmp_path, "bi_scan.py", BIDIRECTIONAL)
    item = found[_label(found, "BiTanhScan")]
    assert "(N, 4, 3): a sequence, from its first 2-D param Wf (3, 2)" in item.how, item.how
    assert item.entry.batch_rule == "sum"
    for prop in ("grads_fd", "batch_additive"):
        assert hunt(item.label, prop, max_examples=10, shrink=False) is None, prop


CONV_BLOCK = '''
import numpy as np


class Conv:
    def __init__(self, c_in, c_out, stride=1):
        self.W, self.stride = np.random.randn(c_out, c_in, 3, 3) * 0.3, stride

    def forward(self, x):
        s, (N, C, H, W) = self.stride, x.shape
        self.x, self.Ho, self.Wo = x, (H - 3) // s + 1, (W - 3) // s + 1
        out = np.zeros((N, self.W.shape[0], self.Ho, self.Wo))
        for i in range(self.Ho):
            for j in range(self.Wo):
                out[:, :, i, j] = np.einsum("nchw,fchw->nf", x[:, :, i * s:i * s + 3, j * s:j * s + 3], self.W)
        return out

    def backward(self, dout):
        s, dx = self.stride, np.zeros_like(self.x)
        self.dW = np.zeros_like(self.W)
        for i in range(self.Ho):
            for j in range(self.Wo):
                patch = self.x[:, :, i * s:i * s + 3, j * s:j * s + 3]
                self.dW += np.einsum("nchw,nf->fchw", patch, dout[:, :, i, j])
                dx[:, :, i * s:i * s + 3, j * s:j * s + 3] += np.einsum("fchw,nf->nchw", self.W, dout[:, :, i, j])
        return dx


class DownBlock:
    def __init__(self):
        self.conv1, self.conv2 = Conv(2, 3, stride=2), Conv(3, 3)

    def forward(self, x):
        self.out = np.tanh(self.conv2.forward(self.conv1.forward(x)))
        return self.out

    def backward(self, dout):
        return self.conv1.backward(self.conv2.backward(dout * (1 - self.out ** 2)))
'''


def test_a_block_of_strided_convolutions_is_sized_from_its_first_kernel(tmp_path):
    """A stride-2 3x3 conv then a 3x3 conv runs on no common shape ((N, 3, 6, 6) leaves the
    second 2x2): it needed a hint. Images wide enough for a strided block now come first."""
    found, _ = collect_source(tmp_path, "conv_block.py", CONV_BLOCK)
    item = found["conv_block.DownBlock"]
    assert "(N, 2, 8, 9) from its first kernel conv1.W (3, 2, 3, 3)" in item.how, item.how
    assert hunt(item.label, "grads_fd", max_examples=5, shrink=False) is None


TIED_LM = '''
import numpy as np


class Embedding:
    def __init__(self, vocab, dim):
        self.W = np.random.randn(vocab, dim)

    def forward(self, idx):
        self.idx = idx
        return self.W[idx]

    def backward(self, dout):
        self.dW = np.zeros_like(self.W)
        np.add.at(self.dW, self.idx, dout)


class TiedLM:
    """Scores over the vocabulary through the embedding's own matrix."""

    def __init__(self):
        self.embed = Embedding(7, 4)

    def forward(self, idx):
        self.h = np.tanh(self.embed.forward(idx))
        return self.h @ self.embed.W.T

    def backward(self, dout):
        dW_out = np.einsum("nto,ntd->od", dout, self.h)
        self.embed.backward((dout @ self.embed.W) * (1 - self.h ** 2))
        self.embed.dW += dW_out


class Decoder:
    def __init__(self, encoder, rng):
        self.encoder, self.rng = encoder, rng

    def forward(self, z):
        return z @ self.encoder.W.T

    def backward(self, dout):
        return dout @ self.encoder.W
'''


def test_integer_inputs_are_probed_from_a_sublayers_embedding_and_hints_can_be_pasted(tmp_path):
    """TiedLM(idx) took only float probes (its only weight is its sublayer's): skipped; now its
    indices come from embed.W's rows. A suggested hint showed a generator as
    'Generator(PCG64) at 0x...', no Python to paste."""
    found, collected = collect_source(tmp_path, "tied_lm.py", TIED_LM)
    assert "the rows of embed.W (7, 4)" in found["tied_lm.TiedLM"].how
    assert hunt("tied_lm.TiedLM", "grads_fd", max_examples=5, shrink=False) is None
    (decoder,) = [s for s in collected.skipped if s.label == "tied_lm.Decoder"]
    assert decoder.reason.endswith("# gradcheck: Decoder(encoder=..., rng=np.random.default_rng(0))")
