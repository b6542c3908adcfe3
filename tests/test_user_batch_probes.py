"""What the probes of a user's layer say about its batch. A dense layer whose backward raised
on every batch (an einsum without '...') was checked on one sample, passed and exited 0; a
Keras-style layer drawing its weights in build() from a generator it keeps was called
"coupled" (its first forward moved the generator) and lost batch_additive; GroupNorm's
``num_groups`` and nanoGPT's ``n_embd`` were not read as sizes, so neither was checked."""
import pytest

from properties.search import hunt
from tests.owncode_loading import collect_source

EINSUM = '''
import numpy as np


class EinsumDense:
    def __init__(self, d_in=3, d_out=2, seed=0):
        self.W = np.random.default_rng(seed).standard_normal((d_in, d_out))
        self.b = np.zeros(d_out)
        self.dW, self.db = np.zeros_like(self.W), np.zeros_like(self.b)

    def forward(self, x):
        self.x = x
        return np.einsum("...i,io->...o", x, self.W) + self.b

    def backward(self, dout):
        self.dW = np.einsum("{dw}", self.x, dout)
        self.db = dout.reshape(-1, dout.shape[-1]).sum(axis=0)
        return np.einsum("...o,io->...i", dout, self.W)
'''


def test_a_backward_raising_on_the_batch_its_forward_takes_fails_there(tmp_path):
    found, _ = collect_source(tmp_path, "einsum_bad.py", EINSUM.replace("{dw}", "...i,...o->io"))
    how = found["einsum_bad.EinsumDense"].how
    assert "(N, 3)" in how and "backward raised on it" in how, how
    bad = hunt("einsum_bad.EinsumDense", "grads_fd", max_examples=3, shrink=False)
    assert bad is not None and {r.verdict for r in bad.failures} == {"layer raised"}
    assert "einsum_bad.py" in bad.failures[0].note


def test_the_same_layer_with_a_batch_aware_backward_is_checked_on_a_batch(tmp_path):
    found, _ = collect_source(tmp_path, "einsum_ok.py",
                              EINSUM.replace("{dw}", "...i,...o->io").replace(
                                  '"...i,...o->io", self.x, dout',
                                  '"ni,no->io", self.x.reshape(-1, self.x.shape[-1]), '
                                  'dout.reshape(-1, dout.shape[-1])'))
    how = found["einsum_ok.EinsumDense"].how
    assert "(N, 3)" in how and "raised" not in how, how
    for prop in ("grads_fd", "batch_additive"):
        assert hunt("einsum_ok.EinsumDense", prop, max_examples=5, shrink=False) is None, prop


KERAS_HELD_RNG = '''
import numpy as np


class Layer:
    def __init__(self):
        self.built, self.weights, self.gradients = False, [], []

    def __call__(self, x):
        if not self.built:
            self.build(x.shape)
            self.built = True
        return self.call(x)


class Dense(Layer):
    def __init__(self, units=2, seed=0):
        super().__init__()
        self.units, self.rng = units, np.random.default_rng(seed)

    def build(self, input_shape):
        W = self.rng.uniform(-0.5, 0.5, size=(input_shape[-1], self.units))
        self.weights = [W, np.zeros(self.units)]
        self.gradients = [np.zeros_like(w) for w in self.weights]

    def call(self, x):
        self.x = x
        return x @ self.weights[0] + self.weights[1]

    def backward(self, grad):
        self.gradients = [self.x.T @ grad, grad.sum(axis=0)]
        return grad @ self.weights[0].T
'''


def test_weights_drawn_at_build_from_a_kept_generator_are_no_coupling(tmp_path):
    found, collected = collect_source(tmp_path, "held_rng.py", KERAS_HELD_RNG)
    assert "held_rng.Dense" in found, collected.skipped
    assert found["held_rng.Dense"].entry.batch_rule == "sum"
    assert hunt("held_rng.Dense", "batch_additive", max_examples=5, shrink=False) is None


SIZES = '''
import numpy as np


class GroupNorm:
    def __init__(self, num_groups, num_channels, eps=1e-5):
        self.G, self.eps = num_groups, eps
        self.gamma, self.beta = np.ones(num_channels), np.zeros(num_channels)

    def forward(self, x):
        N, C = x.shape[:2]
        g = x.reshape(N, self.G, -1)
        self.mu, self.var = g.mean(axis=2, keepdims=True), g.var(axis=2, keepdims=True)
        self.xhat = ((g - self.mu) / np.sqrt(self.var + self.eps)).reshape(x.shape)
        shape = (1, C) + (1,) * (x.ndim - 2)
        return self.gamma.reshape(shape) * self.xhat + self.beta.reshape(shape)

    def backward(self, dout):
        N, C = dout.shape[:2]
        axes = (0,) + tuple(range(2, dout.ndim))
        self.dgamma, self.dbeta = (dout * self.xhat).sum(axis=axes), dout.sum(axis=axes)
        dxhat = (dout * self.gamma.reshape((1, C) + (1,) * (dout.ndim - 2))).reshape(N, self.G, -1)
        xhat = self.xhat.reshape(N, self.G, -1)
        dx = (dxhat - dxhat.mean(axis=2, keepdims=True)
              - xhat * (dxhat * xhat).mean(axis=2, keepdims=True)) / np.sqrt(self.var + self.eps)
        return dx.reshape(dout.shape)


class Head:
    def __init__(self, n_embd, d_k):
        rng = np.random.default_rng(0)
        self.Wq = rng.standard_normal((n_embd, d_k)) * 0.3
        self.Wk = rng.standard_normal((n_embd, d_k)) * 0.3
        self.scale = 1 / np.sqrt(d_k)

    def forward(self, x):
        self.x, self.q, self.k = x, x @ self.Wq, x @ self.Wk
        return (self.q @ np.swapaxes(self.k, -1, -2)) * self.scale

    def backward(self, dout):
        dq = dout @ self.k * self.scale
        dk = np.swapaxes(dout, -1, -2) @ self.q * self.scale
        self.dWq = (np.swapaxes(self.x, -1, -2) @ dq).sum(axis=0)
        self.dWk = (np.swapaxes(self.x, -1, -2) @ dk).sum(axis=0)
        return dq @ self.Wq.T + dk @ self.Wk.T
'''


@pytest.mark.parametrize("name", ["GroupNorm", "Head"])
def test_group_counts_and_embedding_widths_are_sizes(tmp_path, name):
    found, collected = collect_source(tmp_path, f"sizes_{name.lower()}.py", SIZES)
    label = f"sizes_{name.lower()}.{name}"
    assert label in found, {s.label: s.reason for s in collected.skipped}
    assert hunt(label, "grads_fd", max_examples=5, shrink=False) is None


LAYER_NORM = '''
import numpy as np


class LayerNorm:
    """Over the last axis of a (B, T, C) tensor."""

    def __init__(self, n_embd, eps=1e-5):
        self.eps, self.gamma, self.beta = eps, np.ones(n_embd), np.zeros(n_embd)

    def forward(self, x):
        self.rstd = 1.0 / np.sqrt(x.var(axis=-1, keepdims=True) + self.eps)
        self.xhat = (x - x.mean(axis=-1, keepdims=True)) * self.rstd
        return self.gamma * self.xhat + self.beta

    def backward(self, dout):
        self.dgamma = np.sum(dout * self.xhat, axis={gamma_axes})
        self.dbeta = np.sum(dout, axis=(0, 1))
        g = dout * self.gamma
        return self.rstd * (g - g.mean(axis=-1, keepdims=True)
                            - self.xhat * (g * self.xhat).mean(axis=-1, keepdims=True))
'''


def test_where_no_input_gives_every_gradient_its_shape_the_fewest_wrong_is_shown(tmp_path):
    """A (B, T, C) layer norm whose dgamma is summed over the batch axis only has a gradient
    of the wrong shape on every input: on (N, C) its right dbeta (summed over two axes) is the
    one wrong, and that input came first, so a user was told to fix a right line."""
    found, _ = collect_source(tmp_path, "ln_bug.py", LAYER_NORM.replace("{gamma_axes}", "0"))
    assert "(N, 3, 3) from gamma (3,)" in found["ln_bug.LayerNorm"].how
    bad = hunt("ln_bug.LayerNorm", "grads_fd", max_examples=3, shrink=False)
    assert bad is not None and {r.tensor for r in bad.failures} == {"dgamma"}, bad.failures
    found, _ = collect_source(tmp_path, "ln_ok.py", LAYER_NORM.replace("{gamma_axes}", "(0, 1)"))
    assert "(N, 3, 3)" in found["ln_ok.LayerNorm"].how
    assert hunt("ln_ok.LayerNorm", "grads_fd", max_examples=3, shrink=False) is None


COLUMNS = '''# gradcheck: Scale(); X=(3, N)
import numpy as np


class Scale:
    """Examples as columns: X (D, N)."""

    def __init__(self):
        self.w = np.array([0.5, -1.0, 2.0])
        self.dw = np.zeros(3)

    def forward(self, X):
        self.X = X
        return self.w[:, None] * X

    def backward(self, dout):
        self.dw = np.sum(dout * self.X, axis=1)
        return self.w[:, None] * dout
'''


def test_examples_as_columns_are_not_called_coupled(tmp_path):
    """With its batch as the last axis (a hint's X=(3, N)), splitting along the first axis
    split features: batch_additive was skipped as 'the samples depend on each other', which
    is false, and once told apart it would have failed a right layer."""
    from properties.user_batch_rule import BATCH_NOT_FIRST, COUPLED
    found, _ = collect_source(tmp_path, "columns.py", COLUMNS)
    entry = found["columns.Scale"].entry
    assert entry.batch_rule == BATCH_NOT_FIRST != COUPLED
    assert hunt("columns.Scale", "grads_fd", max_examples=5, shrink=False) is None
