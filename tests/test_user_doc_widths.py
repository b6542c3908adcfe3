"""A docstring naming the input's axes by letters alone (``x: (N, T, D)``, ``x: (N, dim)``)
left the width unbound: an attention layer with (6, 6) weights was tried at D = 5 and skipped
("no input shape made forward and backward run", exit 3). An unbound last axis is now also
sized from the first 2-D weight's rows, which is what ``x @ W`` takes."""
from properties.search import hunt
from tests.owncode_loading import collect_source

SOURCE = '''
import numpy as np


class SelfAttention:
    def __init__(self, d_model=6, seed=0):
        rng = np.random.default_rng(seed)
        self.params = {k: rng.standard_normal((d_model, d_model)) for k in ("Wq", "Wk", "Wv")}
        self.grads = {}

    def forward(self, x):
        """x: (N, T, D)"""
        P = self.params
        self.x, self.q, self.k, self.v = x, x @ P["Wq"], x @ P["Wk"], x @ P["Wv"]
        s = self.q @ self.k.transpose(0, 2, 1) / np.sqrt(x.shape[-1])
        a = np.exp(s - s.max(-1, keepdims=True))
        self.a = a / a.sum(-1, keepdims=True)
        return self.a @ self.v

    def backward(self, dout):
        P, a = self.params, self.a
        da = dout @ self.v.transpose(0, 2, 1)
        dv = a.transpose(0, 2, 1) @ dout
        ds = a * (da - (da * a).sum(-1, keepdims=True)) / np.sqrt(self.x.shape[-1])
        dq, dk = ds @ self.k, ds.transpose(0, 2, 1) @ self.q
        for name, d in (("Wq", dq), ("Wk", dk), ("Wv", dv)):
            self.grads[name] = np.einsum("ntd,nte->de", self.x, d)
        return dq @ P["Wq"].T + dk @ P["Wk"].T + {dv_path}
'''


def test_the_letters_width_is_sized_from_the_weights_and_the_layer_is_checked(tmp_path):
    found, _ = collect_source(tmp_path, "doc_width_attn.py",
                              SOURCE.replace("{dv_path}", 'dv @ P["Wv"].T'))
    (label,) = found
    assert "D = 6 from Wq (6, 6)" in found[label].how
    for prop in ("grads_fd", "batch_additive"):
        assert hunt(label, prop, max_examples=10, shrink=False) is None, prop


def test_a_path_dropped_in_its_backward_is_caught(tmp_path):
    found, _ = collect_source(tmp_path, "doc_width_attn_bug.py", SOURCE.replace("{dv_path}", "0"))
    (label,) = found
    failed = hunt(label, "grads_fd", max_examples=10)
    assert failed is not None and {r.tensor for r in failed.failures} == {"dx"}


ATTRIBUTE_STYLE = '''
import numpy as np


class SelfAttentionAttrs:
    """Its gradients appear only in backward (self.dWq ...): the probe that finds them must
    run it on a sequence, (2, 3, D) through its (D, D) weights."""

    def __init__(self, dim=3, seed=0):
        rng = np.random.default_rng(seed)
        self.Wq, self.Wk, self.Wv = (rng.standard_normal((dim, dim)) for _ in range(3))

    def forward(self, x):
        """x: (N, T, D)"""
        self.x, self.q, self.k, self.v = x, x @ self.Wq, x @ self.Wk, x @ self.Wv
        s = self.q @ self.k.transpose(0, 2, 1) / np.sqrt(x.shape[-1])
        a = np.exp(s - s.max(-1, keepdims=True))
        self.a = a / a.sum(-1, keepdims=True)
        return self.a @ self.v

    def backward(self, dout):
        a = self.a
        da = dout @ self.v.transpose(0, 2, 1)
        dv = a.transpose(0, 2, 1) @ dout
        ds = a * (da - (da * a).sum(-1, keepdims=True)) / np.sqrt(self.x.shape[-1])
        dq, dk = ds @ self.k, ds.transpose(0, 2, 1) @ self.q
        self.dWq = np.einsum("ntd,nte->de", self.x, dq)
        self.dWk = np.einsum("ntd,nte->de", self.x, dk)
        self.dWv = np.einsum("ntd,nte->de", self.x, dv)
        return dq @ self.Wq.T + dk @ self.Wk.T + dv @ self.Wv.T
'''


def test_gradients_made_in_backward_are_found_by_a_sequence_probe(tmp_path):
    found, _ = collect_source(tmp_path, "doc_width_attrs.py", ATTRIBUTE_STYLE)
    (label,) = found
    assert found[label].entry is not None, found[label].how
    assert "(N, 4, 3)" in found[label].how
    assert hunt(label, "grads_fd", max_examples=10, shrink=False) is None


ROPE = '''
import numpy as np


class Rotary:
    """Rotary embedding, half-split layout. x: (B, T, H, D), D even."""

    def __init__(self, head_dim, base=10000.0):
        self.head_dim = head_dim
        self.inv_freq = 1.0 / base ** (np.arange(0, head_dim, 2) / head_dim)

    def forward(self, x):
        ang = np.outer(np.arange(x.shape[1]), self.inv_freq)[None, :, None, :]
        self.cos, self.sin = np.cos(ang), np.sin(ang)
        half = self.head_dim // 2
        x1, x2 = x[..., :half], x[..., half:]
        return np.concatenate([x1 * self.cos - x2 * self.sin, x2 * self.cos + x1 * self.sin], -1)

    def backward(self, dout):
        half = self.head_dim // 2
        d1, d2 = dout[..., :half], dout[..., half:]
        return np.concatenate([d1 * self.cos {sign} d2 * self.sin,
                               d2 * self.cos {other} d1 * self.sin], -1)
'''


def test_a_docstring_letter_is_the_size_the_layer_keeps(tmp_path):
    """A RoPE built with head_dim and documenting x: (B, T, H, D) holds no weight to size D
    by: every probe failed (D taken as 5, its half-split of 2 frequencies broken) and it was not
    checked. D is now the head_dim it keeps; the right one passes, the forward rotation used
    in backward is caught."""
    from tests.owncode_loading import hunt_alone
    item, failed = hunt_alone(tmp_path, "rope", ROPE.format(sign="+", other="-"))
    assert "from the docstring's x: (B, T, H, D)" in item.how, item.how
    shape = item.entry.input_shapes({}, 2)[0]
    assert len(shape) == 4 and shape[-1] % 2 == 0, shape
    assert failed is None, failed
    _, failed = hunt_alone(tmp_path, "rope_bug", ROPE.format(sign="-", other="+"))
    assert failed is not None and failed.failures[0].tensor == "dx"


MDN = '''
import numpy as np


def _lse(a):
    m = a.max(axis=1, keepdims=True)
    return m + np.log(np.exp(a - m).sum(axis=1, keepdims=True))


def mdn_loss(out, y):
    """Mixture density NLL.

    out: (N, 3K) columns [pi logits | mu | log sigma]
    y: (N,) targets
    """
    N, K = out.shape[0], out.shape[1] // 3
    logits, mu, log_s = out[:, :K], out[:, K:2 * K], out[:, 2 * K:]
    z = (y.reshape(-1, 1) - mu) / np.exp(log_s)
    log_pi = logits - _lse(logits)
    joint = log_pi - 0.5 * z ** 2 - log_s
    lik = _lse(joint)
    g = np.exp(joint - lik)
    d = np.concatenate([np.exp(log_pi) - g, -g * z / np.exp(log_s), g * (1 - z ** 2)], 1)
    return -np.mean(lik), d / {n}
'''


def test_a_docstring_size_written_as_a_product_sizes_the_input():
    from properties.user_doc_shapes import product_size
    sizes = {"K": 4, "n_heads": 2, "hd": 3}
    assert [product_size(t, sizes) for t in ("3K", "3*K", "n_heads*hd", "K * 3")] == [12, 12, 6, 12]
    assert product_size("K", sizes) is None and product_size("N*T", sizes) is None


def test_an_mdn_loss_documenting_its_output_as_3k_columns_is_checked_on_them(tmp_path):
    """``out: (N, 3K)`` was no template (and ``out`` no input name a docstring was read for):
    it ran at (N, 5), where its three column blocks do not split evenly, its gradient came out
    (N, 9), and the right loss failed grads and shapes_dtypes."""
    from tests.owncode_loading import hunt_alone
    item, failed = hunt_alone(tmp_path, "mdn", MDN.format(n="N"))
    assert "(N, 12) from the docstring's out: (N, 3K)" in item.how, item.how
    assert failed is None, failed
    _, failed = hunt_alone(tmp_path, "mdn_bug", MDN.format(n="(N * K)"))
    assert failed is not None and failed.failures[0].tensor == "dx"


FIELDS = '''
import numpy as np


class FieldScale:
    """Each feature scaled by its weights summed over its field's factors.

    x: (N, n) feature values
    V: (n, F, k)
    """

    def __init__(self, n_features=5, n_fields=2, k=3):
        self.V = np.random.default_rng(0).standard_normal((n_features, n_fields, k))
        self.dV = np.zeros_like(self.V)

    def forward(self, x):
        self.x = x
        return x * self.V.sum(axis=(1, 2))

    def backward(self, dout):
        g = (dout * self.x).sum(axis=0)
        self.dV = np.broadcast_to(g[:, None, None], self.V.shape).copy()
        return dout * self.V.sum(axis=(1, 2))
'''


def test_a_lowercase_n_after_the_batch_is_a_size(tmp_path):
    """``x: (N, n)`` was read as (N, N): its width followed the batch, and a right layer
    raised in every check. A batch letter after the batch is a size (here V's rows)."""
    from tests.owncode_loading import hunt_alone
    item, failed = hunt_alone(tmp_path, "fields", FIELDS)
    assert "(N, 5) from the docstring's x: (N, n)" in item.how, item.how
    assert failed is None, failed


def test_the_sizes_a_docstring_letter_is_bound_to():
    """D is the model's width (dim, d_model, head_dim...), never an attention's key width d_k
    (an attention documenting x: (N, T, D) was checked on (N, 4) when D took its d_k); numpy-ml's
    n_ex is the batch."""
    from types import SimpleNamespace

    import numpy as np

    from properties.user_doc_shapes import hyper_sizes
    from properties.user_templates import _from_doc
    # (and each int under its own name: a docstring's (N, d_k) is d_k's size)
    assert hyper_sizes(SimpleNamespace(d_model=4, d_k=3, n_heads=2)) == {
        "D": 4, "H": 2, "d_model": 4, "d_k": 3, "n_heads": 2}
    assert hyper_sizes(SimpleNamespace(d_k=3, dim=1)) == {"d_k": 3}      # (dim=1: an axis)
    (template, _), *_ = _from_doc("X: (n_ex, n_in, n_t)", {"W": np.zeros((3, 3))})
    assert template[0] == "N", template


def test_a_docstring_size_written_as_arithmetic_is_read():
    """``target_psd: (N, L // 2 + 1)``, a coupling layer's ``W: (D // 2, D // 2)``: such sizes
    were not read (the entry gave no template); products (``3K``, ``2 * D``) still are."""
    from properties.user_templates import _template
    sizes = {"L": 8, "D": 6, "K": 2}
    assert _template(["N", "L // 2 + 1"], sizes) == ("N", 5)
    assert _template(["D // 2", "D // 2"], sizes) == (3, 3)
    assert _template(["N", "3K"], sizes) == ("N", 6) and _template(["N", "2 * D"], sizes) == ("N", 12)
    assert _template(["N", "D - 9"], sizes) is None        # (no size below 1)
