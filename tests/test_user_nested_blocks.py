"""A block built from the user's own sublayers (``self.fc1 = Linear(...)``, ``self.layers = [...]``):
its sublayers' weights are its params, named by their paths (``fc1.W``, ``layers.0.W``), and the
gradients its backward leaves in them are checked, not only its dx. Before, such a block was
"no input shape made forward and backward run" (exit 3), and with a hint only dx was compared:
a slip in a sublayer's gradient that leaves dx right (a tied weight's second use dropped) passed."""
import numpy as np

from layers.adapter import AttributeLayer
from properties.search import hunt
from properties.user_build import constructor_args
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
    assert "(N, 4) from its first weight fc1.W (4, 6); params from its sublayers: fc1.W, " \
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
    assert "(N, 4, 3): a sequence, from its first weight Wf (3, 2)" in item.how, item.how
    assert item.entry.batch_rule == "sum"
    for prop in ("grads_fd", "batch_additive"):
        assert hunt(item.label, prop, max_examples=10, shrink=False) is None, prop


MINI_TORCH = '''
import numpy as np


class Parameter:
    def __init__(self, data):
        self.data, self.grad = data, np.zeros_like(data)


class Linear:
    def __init__(self, in_features, out_features):
        self.weight = Parameter(np.random.randn(out_features, in_features) * 0.3)
        self.bias = Parameter(np.zeros(out_features))

    def forward(self, x):
        self.x = x
        return x @ self.weight.data.T + self.bias.data

    def backward(self, grad_output):
        self.weight.grad += grad_output.T @ self.x
        self.bias.grad += {bias_grad}
        return grad_output @ self.weight.data


class Tanh:
    def forward(self, x):
        self.y = np.tanh(x)
        return self.y

    def backward(self, grad_output):
        return grad_output * (1 - self.y ** 2)


class MLP:
    def __init__(self, d_in=4, d_hidden=5, d_out=3):
        self.fc1, self.act, self.fc2 = Linear(d_in, d_hidden), Tanh(), Linear(d_hidden, d_out)

    def forward(self, x):
        return self.fc2.forward(self.act.forward(self.fc1.forward(x)))

    def backward(self, grad_output):
        return self.fc1.backward(self.act.backward(self.fc2.backward(grad_output)))


class Sequential:
    def __init__(self, *modules):
        self.modules = list(modules)

    def forward(self, x):
        for m in self.modules:
            x = m.forward(x)
        return x

    def backward(self, grad_output):
        for m in reversed(self.modules):
            grad_output = m.backward(grad_output)
        return grad_output


class LayerNorm:
    def __init__(self, normalized_shape, eps=1e-5):
        self.gamma, self.beta, self.eps = np.ones(normalized_shape), np.zeros(normalized_shape), eps

    def forward(self, x):
        self.xhat = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + self.eps)
        self.std = np.sqrt(x.var(-1, keepdims=True) + self.eps)
        return self.gamma * self.xhat + self.beta

    def backward(self, dout):
        self.dgamma, self.dbeta = (dout * self.xhat).sum(0), dout.sum(0)
        g = dout * self.gamma
        return (g - g.mean(-1, keepdims=True) - self.xhat * (g * self.xhat).mean(-1, keepdims=True)) / self.std
'''


def test_a_model_of_hand_written_pytorch_parameters_is_checked_through_its_sublayers(tmp_path):
    """MLP(fc1=Linear(...)) whose Linear keeps Parameter objects (.data, .grad += ...): it was
    "no input shape made forward and backward run"; its weights (out, in) now size it, each
    .grad is cleared before a backward as zero_grad() does, and Linear's bias grad taken as a
    mean fails on the biases alone. Sequential(*modules) built with no modules is said to check nothing
    (it passed as the identity); LayerNorm(normalized_shape) is built."""
    (tmp_path / "ok").mkdir()
    (tmp_path / "bug").mkdir()
    found, collected = collect_source(tmp_path / "ok", "mini_torch_ok.py",
                                      MINI_TORCH.format(bias_grad="grad_output.sum(axis=0)"))
    mlp = found["mini_torch_ok.MLP"]
    assert "(N, 4) from its first weight fc1.weight (5, 4)" in mlp.how, mlp.how
    assert list(mlp.entry.build({}, np.random.default_rng(0), "float64").params) == [
        "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    (container,) = [s for s in collected.skipped if s.label.endswith(".Sequential")]
    assert "built with no modules it would check nothing" in container.reason
    assert "mini_torch_ok.LayerNorm" in found
    for label in ("mini_torch_ok.MLP", "mini_torch_ok.LayerNorm"):
        for prop in ("grads_fd", "linear_in_dout", "batch_resize"):
            assert hunt(label, prop, max_examples=10, shrink=False) is None, (label, prop)
    collect_source(tmp_path / "bug", "mini_torch_bug.py",
                   MINI_TORCH.format(bias_grad="grad_output.mean(axis=0)"))
    failed = hunt("mini_torch_bug.MLP", "grads_fd", max_examples=10)
    assert failed is not None and {r.tensor for r in failed.failures} <= {"dfc1.bias", "dfc2.bias"}


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


def test_a_parameter_grad_assigned_where_zero_grad_says_it_adds_fails_the_accumulation_law(
        tmp_path):
    """Every check clears .grad before a backward, as zero_grad() does, so '.grad =' for
    '.grad +=' passed them all; a layer with a zero_grad() says its backward adds, and two
    backwards without it must leave twice one's gradients."""
    source = MINI_TORCH.format(bias_grad="grad_output.sum(axis=0)") + '''

class Module:
    def zero_grad(self):
        for p in (self.weight, self.bias):
            p.grad = np.zeros_like(p.data)


class Adds(Module, Linear):
    pass


class Assigns(Module, Linear):
    def backward(self, grad_output):
        self.weight.grad = grad_output.T @ self.x
        self.bias.grad += grad_output.sum(axis=0)
        return grad_output @ self.weight.data
'''
    found, _ = collect_source(tmp_path, "accumulating.py", source)
    assert found["accumulating.Adds"].entry.accumulates
    assert not found["accumulating.Linear"].entry.accumulates       # no zero_grad(): no promise
    assert hunt("accumulating.Adds", "accumulates", max_examples=10, shrink=False) is None
    failed = hunt("accumulating.Assigns", "accumulates", max_examples=10)
    assert failed is not None and {r.tensor for r in failed.failures} == {"weight (second backward)"}
    assert {r.verdict for r in failed.failures} == {"layer bug"}


def test_a_block_whose_backward_always_raises_fails_saying_so_not_a_skip(tmp_path):
    """A Stack walking its layers in forward order in backward raises on every input; probing its
    sublayers' gradients made that a skip (exit 3), where a layer raising is a failure to show."""
    buggy = BLOCK.format(slip="pass").replace("for layer in reversed(self.layers):",
                                                 "for layer in self.layers:")
    found, collected = collect_source(tmp_path, "stack_order_bug.py", buggy)
    assert "stack_order_bug.Stack" in found, [s.reason for s in collected.skipped]
    failed = hunt("stack_order_bug.Stack", "grads_fd", max_examples=5)
    assert failed is not None and {r.verdict for r in failed.failures} == {"layer raised"}
