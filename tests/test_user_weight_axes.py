"""Shapes read from a weight: several inputs sized by its axes (a bilinear y_k = x1^T W_k x2 + b_k,
torch's ``nn.Bilinear``, keeps W as (K, I, J) and takes x1 (N, I), x2 (N, J)), and a functional
pair's params sized by its docstring (a maxout's ``w: ... shape (K, D, M)``). Both were "not checked".
"""
from properties.search import hunt
from properties.user_doc_shapes import LETTER_SIZES, doc_param_shapes
from tests.owncode_loading import collect_source


def _only(tmp_path, name, source):
    """(the label, the Found by label) of the one thing ``source`` holds, collected from a
    folder of its own (a right and a wrong copy of one test apart)."""
    folder = tmp_path / name.removesuffix(".py")
    folder.mkdir()
    found, _ = collect_source(folder, name, source)
    (label,) = found
    return label, found

SOURCE = '''
import numpy as np


class Bilinear:
    def __init__(self, in1_features, in2_features, out_features):
        bound = 1.0 / np.sqrt(in1_features)
        self.params = {
            "W": np.random.uniform(-bound, bound, (out_features, in1_features, in2_features)),
            "b": np.random.uniform(-bound, bound, out_features),
        }
        self.grads = {}

    def forward(self, x1, x2):
        self.x1, self.x2 = x1, x2
        return np.einsum("ni,kij,nj->nk", x1, self.params["W"], x2) + self.params["b"]

    def backward(self, dout):
        W = self.params["W"]
        self.grads["W"] = {dW}
        self.grads["b"] = dout.sum(axis=0)
        dx1 = np.einsum("nk,kij,nj->ni", dout, W, self.x2)
        dx2 = np.einsum("nk,kij,ni->nj", dout, W, self.x1)
        return dx1, dx2
'''
RIGHT_DW = 'np.einsum("nk,ni,nj->kij", dout, self.x1, self.x2)'


def test_a_bilinear_layer_gets_each_input_from_its_own_axis_and_passes(tmp_path):
    label, found = _only(tmp_path, "bilinear.py", SOURCE.replace("{dW}", RIGHT_DW))
    assert "x1 (N, 3); x2 (N, 2): axes of W (4, 3, 2)" in found[label].how
    for prop in ("grads_fd", "batch_additive", "linear_in_dout"):
        assert hunt(label, prop, max_examples=10, shrink=False) is None, prop


def test_a_bilinear_weight_gradient_averaged_over_the_batch_is_caught(tmp_path):
    averaged = RIGHT_DW + " / len(dout)"
    label, _ = _only(tmp_path, "bilinear_bug.py", SOURCE.replace("{dW}", averaged))
    failed = hunt(label, "grads_fd", max_examples=10)
    assert failed is not None and {r.tensor for r in failed.failures} == {"dW"}


MAXOUT = '''
import numpy as np


def maxout_forward(x, w, b):
    """
    Inputs:
    - x: A numpy array of shape (N, D)
    - w: pieces weights, shape (K, D, M)
    - b: biases, shape (K, M)
    Returns out (N, M), the max over the K pieces, and a cache.
    """
    z = np.einsum("nd,kdm->nkm", x, w) + b[None, :, :]
    k_star = np.argmax(z, axis=1)
    out = np.take_along_axis(z, k_star[:, None, :], axis=1)[:, 0, :]
    return out, (x, w, k_star)


def maxout_backward(dout, cache):
    x, w, k_star = cache
    N, M = dout.shape
    dz = np.zeros((N, w.shape[0], M))
    {route}
    return np.einsum("nkm,kdm->nd", dz, w), np.einsum("nd,nkm->kdm", x, dz), dz.sum(axis=0)
'''
ONE_PIECE = "np.put_along_axis(dz, k_star[:, None, :], dout[:, None, :], axis=1)"
EVERY_PIECE = "dz[:] = dout[:, None, :]"


def test_a_functional_pairs_param_shapes_come_from_its_docstring(tmp_path):
    """A functional maxout's w (K, D, M) is no weight of the usual rank: its docstring's entries
    give every param's shape, and the pair is checked (it was "not checked")."""
    label, found = _only(tmp_path, "maxout_fn.py", MAXOUT.replace("{route}", ONE_PIECE))
    assert "w (4, 5, 6), b (4, 6) from the docstring" in found[label].how
    for prop in ("grads_fd", "batch_additive"):
        assert hunt(label, prop, max_examples=10, shrink=False) is None, prop


def test_a_maxout_routing_its_gradient_to_every_piece_is_caught(tmp_path):
    label, _ = _only(tmp_path, "maxout_fn_bug.py", MAXOUT.replace("{route}", EVERY_PIECE))
    failed = hunt(label, "grads_fd", max_examples=10)
    assert failed is not None and {r.tensor for r in failed.failures} >= {"dw", "db"}


def test_a_docstring_gives_params_listed_together_and_none_for_one_it_leaves_out():
    """``W_self, W_neigh: (D, H)`` gives both; a param with no entry, one with the batch letter
    or no letters at all gives no shapes (a param left out once crashed the set-up)."""
    doc = "x: (N, D) node features; adj: (N, N)\nW_self, W_neigh: (D, H)\nv: ()"
    both = (LETTER_SIZES["D"], LETTER_SIZES["H"])
    assert doc_param_shapes(doc, ["W_self", "W_neigh"]) == {"W_self": both, "W_neigh": both}
    assert doc_param_shapes(doc, ["W_self", "U"]) is None
    assert doc_param_shapes(doc, ["adj"]) is None and doc_param_shapes(doc, ["v"]) is None


SAGE = '''
import numpy as np


class SAGEMeanLayer:
    """h' = relu([h || mean of the neighbours' h] @ W + b)"""

    def __init__(self, in_dim, out_dim):
        self.in_dim = in_dim
        self.W = np.random.randn(2 * in_dim, out_dim) * np.sqrt(1.0 / in_dim)
        self.b = np.zeros(out_dim)

    def forward(self, x, adj):
        deg = adj.sum(axis=1, keepdims=True)
        deg[deg == 0] = 1.0
        self.P = adj / deg
        self.h_cat = np.concatenate([x, self.P @ x], axis=1)
        self.z = self.h_cat @ self.W + self.b
        return np.maximum(0, self.z)

    def backward(self, dout):
        dz = dout * (self.z > 0)
        self.dW = self.h_cat.T @ dz
        self.db = dz.sum(axis=0)
        dh = dz @ self.W.T
        return dh[:, :self.in_dim] + {neighbours} @ dh[:, self.in_dim:]
'''


def test_an_input_width_kept_as_a_hyperparameter_sizes_the_input(tmp_path):
    """A GraphSAGE's W is (2 in_dim, out): no weight axis is the input's width, but the
    ``self.in_dim`` it keeps is; the right layer passes, the mean's 1/deg left out of its
    backward is caught."""
    label, found = _only(tmp_path, "sage.py", SAGE.replace("{neighbours}", "self.P.T"))
    assert "(N, 3) from its in_dim" in found[label].how
    assert hunt(label, "grads_fd", max_examples=10, shrink=False) is None
    label, _ = _only(tmp_path, "sage_bug.py", SAGE.replace("{neighbours}", "(self.P > 0).T"))
    failed = hunt(label, "grads_fd", max_examples=10)
    assert failed is not None and {r.tensor for r in failed.failures} == {"dx"}


GROUPNORM = '''
import numpy as np


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    eps = gn_param.get("eps", 1e-5)
    N, C, H, W = x.shape
    xg = x.reshape(N, G, C // G, H, W)
    mu, var = xg.mean(axis=(2, 3, 4), keepdims=True), xg.var(axis=(2, 3, 4), keepdims=True)
    xhat = ((xg - mu) / np.sqrt(var + eps)).reshape(N, C, H, W)
    return gamma * xhat + beta, (xhat, gamma, 1.0 / np.sqrt(var + eps), G)


def spatial_groupnorm_backward(dout, cache):
    xhat, gamma, inv_std, G = cache
    N, C, H, W = dout.shape
    dxhat = (dout * gamma).reshape({groups})
    xh = xhat.reshape({groups})
    M = dxhat[0, 0].size
    inv_std = inv_std.reshape(N, G, 1, 1, 1) if {as_groups} else inv_std.reshape(N, 1, G, 1, 1)
    axes = (2, 3, 4) if {as_groups} else (1, 3, 4)
    dx = inv_std / M * (M * dxhat - dxhat.sum(axis=axes, keepdims=True)
                        - xh * (dxhat * xh).sum(axis=axes, keepdims=True))
    return (dx.reshape(N, C, H, W), np.sum(dout * xhat, axis=(0, 2, 3), keepdims=True),
            np.sum(dout, axis=(0, 2, 3), keepdims=True))
'''


def test_a_group_count_is_a_number_and_the_group_norm_is_checked(tmp_path):
    """cs231n's ``spatial_groupnorm_forward(x, gamma, beta, G, gn_param)``: G is 2, the channels
    a multiple of it, gamma and beta (1, C, 1, 1): it needed a hint. Right, it passes; its
    channels regrouped the wrong way round in backward, it fails."""
    right = GROUPNORM.replace("{groups}", "N, G, C // G, H, W").replace("{as_groups}", "True")
    label, _ = _only(tmp_path, "gn_axes.py", right)
    assert hunt(label, "grads_fd", max_examples=10, shrink=False) is None
    wrong = GROUPNORM.replace("{groups}", "N, C // G, G, H, W").replace("{as_groups}", "False")
    label, _ = _only(tmp_path, "gn_axes_bug.py", wrong)
    assert hunt(label, "grads_fd", max_examples=10) is not None


PIXEL_SHUFFLE = '''
import numpy as np


class PixelShuffle:
    def __init__(self, upscale_factor=2):
        self.r = upscale_factor

    def forward(self, x):
        N, C, H, W = x.shape
        r = self.r
        y = x.reshape(N, C // (r * r), r, r, H, W).transpose(0, 1, 4, 2, 5, 3)
        return y.reshape(N, C // (r * r), H * r, W * r)

    def backward(self, dout):
        N, C, H, W = dout.shape
        r = self.r
        d = dout.reshape(N, C, H // r, r, W // r, r).transpose({order})
        return d.reshape(N, C * r * r, H // r, W // r)
'''


def test_a_layer_taking_channels_in_fours_finds_its_input_and_a_wrong_permutation_fails(tmp_path):
    """A pixel shuffle takes C = r^2 C' channels: the common probe (N, 3, 6, 6) raised, and the
    layer was not checked without a hint."""
    label, _ = _only(tmp_path, "shuffle.py", PIXEL_SHUFFLE.replace("{order}", "0, 1, 3, 5, 2, 4"))
    assert hunt(label, "grads_fd", max_examples=10, shrink=False) is None
    label, _ = _only(tmp_path, "shuffle_bug.py", PIXEL_SHUFFLE.replace(
        "{order}", "0, 1, 5, 3, 2, 4"))          # the two block axes swapped
    assert hunt(label, "grads_fd", max_examples=10) is not None


ATTRIBUTE_BILINEAR = '''
import numpy as np


class Bilinear:
    def __init__(self, in1_features, in2_features, out_features):
        self.weight = np.random.uniform(-1, 1, (out_features, in1_features, in2_features))
        self.bias = np.random.uniform(-1, 1, out_features)

    def forward(self, x1, x2):
        self.x1, self.x2 = x1, x2
        return np.einsum("ni,kij,nj->nk", x1, self.weight, x2) + self.bias

    def backward(self, dout):
        self.grad_weight = np.einsum("nk,ni,nj->kij", dout, self.x1, self.x2) {scale}
        self.grad_bias = dout.sum(0)
        return (np.einsum("nk,kij,nj->ni", dout, self.weight, self.x2),
                np.einsum("nk,kij,ni->nj", dout, self.weight, self.x1))
'''


def test_a_bilinear_layer_in_attributes_is_probed_with_its_weights_axes(tmp_path):
    """Its gradients named only in backward (``self.grad_weight``), the layer is run to find
    its params: on inputs each as wide as an axis of its weight (a probe of one width for both
    raised in its einsum, and the layer was not checked)."""
    label, _ = _only(tmp_path, "bil_attr.py", ATTRIBUTE_BILINEAR.replace("{scale}", ""))
    assert hunt(label, "grads_fd", max_examples=10, shrink=False) is None
    label, _ = _only(tmp_path, "bil_attr_bug.py",
                     ATTRIBUTE_BILINEAR.replace("{scale}", "/ len(dout)"))
    failed = hunt(label, "grads_fd", max_examples=10)
    assert failed is not None and {r.tensor for r in failed.failures} == {"dweight"}


GROUPNORM_CLASS = '''
import numpy as np


class GroupNorm:
    def __init__(self, num_groups, num_channels, eps=1e-5):
        self.G, self.eps = num_groups, eps
        self.gamma = np.ones((1, num_channels, 1, 1))
        self.beta = np.zeros((1, num_channels, 1, 1))

    def forward(self, x):
        N, C, H, W = x.shape
        xg = x.reshape(N, self.G, -1)
        self.std = np.sqrt(xg.var(axis=2, keepdims=True) + self.eps)
        self.xhat = ((xg - xg.mean(axis=2, keepdims=True)) / self.std).reshape(N, C, H, W)
        return self.gamma * self.xhat + self.beta

    def backward(self, dout):
        N, C, H, W = dout.shape
        self.dgamma = np.sum(dout * self.xhat, axis=(0, 2, 3), keepdims=True)
        self.dbeta = np.sum(dout, axis=(0, 2, 3), keepdims=True)
        dxhat = (dout * self.gamma).reshape(N, self.G, -1)
        xh = self.xhat.reshape(N, self.G, -1)
        dx = (dxhat - dxhat.mean(axis=2, keepdims=True) {variance}) / self.std
        return dx.reshape(N, C, H, W)
'''


def test_params_kept_per_channel_with_their_axes_size_an_image(tmp_path):
    """gamma (1, C, 1, 1): images (N, C, H, W) with those channels (found before only by a
    common shape that happened to fit); its variance path left out of dx fails."""
    right = "- xh * (dxhat * xh).mean(axis=2, keepdims=True)"
    label, found = _only(tmp_path, "gn_class.py", GROUPNORM_CLASS.replace("{variance}", right))
    assert "the channels of gamma (1, 4, 1, 1)" in found[label].how
    assert hunt(label, "grads_fd", max_examples=10, shrink=False) is None
    label, _ = _only(tmp_path, "gn_class_bug.py", GROUPNORM_CLASS.replace("{variance}", ""))
    assert hunt(label, "grads_fd", max_examples=10) is not None


def test_a_pair_taking_no_params_says_nothing_of_docstring_params(tmp_path):
    """A pooling pair has no params: its line said ";  from the docstring" with nothing before."""
    source = '''
import numpy as np


def avg_pool_forward(x, pool_param):
    """x: (N, C, H, W)"""
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H, W = x.shape
    out = np.zeros((N, C, 1 + (H - ph) // s, 1 + (W - pw) // s), dtype=x.dtype)
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            out[:, :, i, j] = x[:, :, i * s:i * s + ph, j * s:j * s + pw].mean(axis=(2, 3))
    return out, (x, pool_param)


def avg_pool_backward(dout, cache):
    x, p = cache
    ph, pw, s = p["pool_height"], p["pool_width"], p["stride"]
    dx = np.zeros_like(x)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            dx[:, :, i * s:i * s + ph, j * s:j * s + pw] += dout[:, :, i:i + 1, j:j + 1] / (ph * pw)
    return dx
'''
    found, _ = collect_source(tmp_path, "pool_fn.py", source)
    assert found and all(";  " not in f.how and "; from the docstring" not in f.how
                         for f in found.values()), [f.how for f in found.values()]
    assert doc_param_shapes("x: (N, C, H, W)", []) is None


def test_names_listed_right_after_another_shape_share_theirs():
    """``x: (N, D), W1, W3: (D, H), W2: (H, D)`` (a SwiGLU's): W1 was left out, and the pair
    was not checked; a description's last word before a name is still no list."""
    doc = "LLaMA-style FFN. x: (N, D), W1, W3: (D, H), W2: (H, D)."
    shapes = doc_param_shapes(doc, ["W1", "W3", "W2"])
    assert shapes is not None and shapes["W1"] == shapes["W3"] == shapes["W2"][::-1]
    assert doc_param_shapes("logits: (N, C) scores, y: (N,)", ["scores"]) is None
