"""A functional conv pair is checked without padding too: ``conv(pad=0)``.

cs231n's ``conv_forward_naive(x, w, b, conv_param)`` was checked at stride 2 and pad 1
only, where a backward cropping the padded gradient as ``dx_pad[:, :, pad:-pad, pad:-pad]``
is right; at pad 0 that crop is empty. (A class's constructor defaults are checked beside its
changed stride and padding; a functional pair has no default to check.)
"""
import pytest

from properties.search import hunt
from tests.owncode_loading import collect_source

SOURCE = '''
import numpy as np


def conv_forward(x, w, b, conv_param):
    s, p = conv_param["stride"], conv_param["pad"]
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    n, _, h, wd = xp.shape
    f, _, kh, kw = w.shape
    ho, wo = (h - kh) // s + 1, (wd - kw) // s + 1
    out = np.zeros((n, f, ho, wo))
    for i in range(ho):
        for j in range(wo):
            patch = xp[:, :, i * s:i * s + kh, j * s:j * s + kw]
            out[:, :, i, j] = np.tensordot(patch, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out, (x, w, conv_param)


def conv_backward(dout, cache):
    x, w, conv_param = cache
    s, p = conv_param["stride"], conv_param["pad"]
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    _, _, kh, kw = w.shape
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            patch = xp[:, :, i * s:i * s + kh, j * s:j * s + kw]
            dw += np.tensordot(dout[:, :, i, j], patch, axes=([0], [0]))
            dxp[:, :, i * s:i * s + kh, j * s:j * s + kw] += np.tensordot(
                dout[:, :, i, j], w, axes=([1], [0]))
    h, wd = x.shape[2], x.shape[3]
    return dxp[:, :, p:p + h, p:p + wd], dw, dout.sum(axis=(0, 2, 3))


def croppedconv_forward(x, w, b, conv_param):
    return conv_forward(x, w, b, conv_param)


def croppedconv_backward(dout, cache):
    x, w, conv_param = cache
    p = conv_param["pad"]
    dx, dw, db = conv_backward(dout, cache)
    s = conv_param["stride"]
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dxp = np.zeros_like(xp)
    dxp[:, :, p:xp.shape[2] - p, p:xp.shape[3] - p] = dx
    return dxp[:, :, p:-p, p:-p], dw, db          # empty at p == 0
'''


@pytest.fixture(scope="module")
def found(tmp_path_factory):
    return collect_source(tmp_path_factory.mktemp("fconv"), "fconv.py", SOURCE)[0]


def test_a_conv_pair_is_also_checked_without_padding(found):
    assert {"fconv.conv", "fconv.conv(pad=0)"} <= set(found), sorted(found)
    assert "pad=0" in found["fconv.conv(pad=0)"].how
    for label in ("fconv.conv", "fconv.conv(pad=0)"):
        for prop in ("grads", "shapes_dtypes"):
            bad = hunt(label, prop, max_examples=5, shrink=False)
            assert bad is None, bad.failures[0].message()


def test_a_crop_that_is_empty_without_padding_is_caught_there(found):
    assert hunt("fconv.croppedconv", "grads", max_examples=5, shrink=False) is None
    bad = hunt("fconv.croppedconv(pad=0)", "shapes_dtypes", max_examples=5, shrink=False)
    assert bad is not None and {r.tensor for r in bad.failures} == {"dx"}


CAUSAL = '''
import numpy as np


def causal_conv1d_forward(x, w, b, conv_param):
    """x (N, C, L), w (F, C, K), b (F,); conv_param: {'dilation': d}, default 1."""
    d = conv_param.get("dilation", 1)
    K, L = w.shape[2], x.shape[2]
    xp = np.pad(x, ((0, 0), (0, 0), ((K - 1) * d, 0)))
    out = sum(np.einsum("fc,ncl->nfl", w[:, :, k], xp[:, :, k * d:k * d + L]) for k in range(K))
    return out + b[None, :, None], (xp, w, d)


def causal_conv1d_backward(dout, cache):
    xp, w, d = cache
    K, L = w.shape[2], dout.shape[2]
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for k in range(K):
        dxp[:, :, k * d:k * d + L] += np.einsum("fc,nfl->ncl", w[:, :, k], dout)
        dw[:, :, k] = np.einsum("nfl,ncl->fc", dout, xp[:, :, k * d:k * d + L])
    return dxp[:, :, (K - 1) * d:], dw, dout.sum(axis=(0, 2))
'''


def test_a_conv_reading_no_pad_from_its_dict_gets_no_unpadded_entry(tmp_path):
    """A causal conv reading only 'dilation' from its conv_param was also listed as
    ``conv(pad=0)``, a setting it never reads: the same check twice under a misleading name.
    Its dilation is still checked set."""
    found, _ = collect_source(tmp_path, "causal.py", CAUSAL)
    assert sorted(found) == ["causal.causal_conv1d", "causal.causal_conv1d(dilation=2)"]


REPARAM = '''
import numpy as np


def reparam_forward(mu, logvar, eps):
    """z = mu + exp(logvar / 2) * eps.

    mu, logvar, eps: (N, K); eps drawn by the caller.
    """
    std = np.exp(0.5 * logvar)
    return mu + std * eps, (eps, std)


def reparam_backward(dz, cache):
    """Returns (dmu, dlogvar)."""
    eps, std = cache
    return dz, {half}dz * eps * std
'''

SHORT = '''
# gradcheck: scale_forward; x=(N, 3); w=(3,); b=(3,)
import numpy as np


def scale_forward(x, w, b):
    return x * w + b, (x, w)


def scale_backward(dout, cache):
    x, w = cache
    return dout * w, np.sum(dout * x, axis=0)
'''


def test_arguments_the_docstring_gives_a_batch_axis_are_data_and_the_noise_is_handed_in(tmp_path):
    """mu, logvar, eps: (N, K) beside a backward of (dmu, dlogvar): logvar and eps were taken
    for params, the pair had to return three gradients, and it failed everywhere as "layer
    raised" (the adapter's own count check). They are data now; eps, no gradient returned, is
    handed in: the right pair passes, a dlogvar without its 1/2 fails there."""
    for name, half, right in (("rep", "0.5 * ", True), ("rep_bug", "", False)):
        (tmp_path / name).mkdir()
        found, _ = collect_source(tmp_path / name, f"{name}.py", REPARAM.replace("{half}", half))
        assert "mu (N, 4); logvar (N, 4) from the docstring; eps: float" in found[f"{name}.reparam"].how
        failed = hunt(f"{name}.reparam", "grads_fd", max_examples=10)
        assert (failed is None) == right
        if not right:
            assert {r.tensor for r in failed[1]} == {"dlogvar"}


def test_a_backward_returning_fewer_gradients_than_read_is_a_contract_not_the_layer_raising(tmp_path):
    """The adapter's own count check (db left out) was reported as the layer's code raising."""
    found, _ = collect_source(tmp_path, "short.py", SHORT)
    failed = hunt("short.scale", "grads_fd", max_examples=3, shrink=False)
    assert failed is not None
    assert {r.verdict for r in failed[1]} == {"contract"}, [r.message() for r in failed[1]]
    assert "must return (dx, dw, db), got 2 values" in failed[1][0].message()
