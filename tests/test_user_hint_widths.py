"""A functional pair whose hint gives its input alone (``# gradcheck: attn_forward; x=(N, 3, 4)``):
its weights got the placeholder shape (3,), every check failed as "layer raised" on the
user's own matmul. Params the hint leaves out are now a guess that must run, sized also from
the input's width: a bias (D,), a weight (D, D)."""
from properties.search import hunt
from tests.owncode_loading import collect_source

SOURCE = '''
# gradcheck: attn_forward; x=(N, 3, 4)
import numpy as np


def attn_forward(x, Wq, Wk, Wv, bo):
    """Single-head self-attention; x: (N, T, D)."""
    q, k, v = x @ Wq, x @ Wk, x @ Wv
    s = q @ k.transpose(0, 2, 1) / np.sqrt(x.shape[-1])
    a = np.exp(s - s.max(-1, keepdims=True))
    a /= a.sum(-1, keepdims=True)
    return a @ v + bo, (x, Wq, Wk, Wv, q, k, v, a)


def attn_backward(dout, cache):
    x, Wq, Wk, Wv, q, k, v, a = cache
    dbo = dout.sum(axis=(0, 1))
    da = dout @ v.transpose(0, 2, 1)
    dv = a.transpose(0, 2, 1) @ dout
    ds = a * (da - (da * a).sum(-1, keepdims=True)) / np.sqrt(x.shape[-1])
    dq, dk = ds @ k, ds.transpose(0, 2, 1) @ q
    dWq = np.einsum("ntd,nte->de", x, dq)
    dWk = np.einsum("ntd,nte->de", x, dk)
    dWv = np.einsum("ntd,nte->de", x, dv)
    dx = dq @ Wq.T + dk @ Wk.T + dv @ Wv.T
    return dx, {dWq}, dWk, dWv, dbo
'''


def test_the_weights_are_sized_from_the_hinted_input_and_a_correct_pair_passes(tmp_path):
    found, _ = collect_source(tmp_path, "hint_width_attn.py", SOURCE.format(dWq="dWq"))
    (label,) = found
    assert "x=(N, 3, 4)" in found[label].how
    for prop in ("grads_fd", "linear_in_dout"):
        assert hunt(label, prop, max_examples=10, shrink=False) is None, prop


def test_a_transposed_weight_gradient_is_caught_on_those_shapes(tmp_path):
    found, _ = collect_source(tmp_path, "hint_width_attn_bug.py", SOURCE.format(dWq="dWq.T"))
    (label,) = found
    failed = hunt(label, "grads_fd", max_examples=10)
    assert failed is not None and {r.tensor for r in failed.failures} == {"dWq"}


GROUP_NORM = '''
# gradcheck: groupnorm_forward; x=(N, 4, 3, 3); G=2
import numpy as np


def groupnorm_forward(x, gamma, beta, G, gn_param):
    N, C, H, W = x.shape
    xg = x.reshape(N, G, C // G, H, W)
    std = np.sqrt(xg.var(axis=(2, 3, 4), keepdims=True) + gn_param.get("eps", 1e-5))
    xhat = ((xg - xg.mean(axis=(2, 3, 4), keepdims=True)) / std).reshape(N, C, H, W)
    return gamma * xhat + beta, (xhat, gamma, std, G)


def groupnorm_backward(dout, cache):
    xhat, gamma, std, G = cache
    N, C, H, W = dout.shape
    dbeta = dout.sum(axis=(0, 2, 3), keepdims=True)
    dgamma = (dout * xhat).sum(axis=(0, 2, 3), keepdims=True)
    g, xh = (dout * gamma).reshape(N, G, C // G, H, W), xhat.reshape(N, G, C // G, H, W)
    ax = (2, 3, 4)
    dx = (g - g.mean(axis=ax, keepdims=True) - xh * (g * xh).mean(axis=ax, keepdims=True)) / std
    return dx.reshape(N, C, H, W), dgamma, dbeta
'''


def test_a_guess_whose_gradients_have_its_shapes_is_preferred_to_one_that_merely_broadcasts(
        tmp_path):
    """gamma and beta guessed (3,), the input's width, broadcast over (N, 4, 3, 3) and ran, and the
    layer's (1, 4, 1, 1) gradients were then failed as 'the wrong shape': the harness's guess,
    blamed on the layer. Per-channel guesses are tried too, and the first whose gradients come
    out in its shapes is taken, and said."""
    found, _ = collect_source(tmp_path, "hint_channels_gn.py", GROUP_NORM)
    (label,) = found
    assert "guessed: gamma (1, 4, 1, 1), beta (1, 4, 1, 1)" in found[label].how, found[label].how
    for prop in ("grads_fd", "shapes_dtypes"):
        assert hunt(label, prop, max_examples=10, shrink=False) is None, prop
