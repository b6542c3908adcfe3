"""A forward with more than one backward (cs231n's ``batchnorm_backward_alt`` beside
``batchnorm_backward``): the second was never checked and nothing said so, and a file with
the ``_alt`` one alone had "nothing to check". Each backward is now checked, under its own
name."""
from properties.search import hunt
from tests.owncode_loading import collect_source

BATCHNORM = '''
import numpy as np


def batchnorm_forward(x, gamma, beta, bn_param):
    eps = bn_param.get("eps", 1e-5)
    mu = x.mean(axis=0)
    var = x.var(axis=0)
    xhat = (x - mu) / np.sqrt(var + eps)
    return gamma * xhat + beta, (xhat, gamma, np.sqrt(var + eps))


def batchnorm_backward(dout, cache):
    xhat, gamma, std = cache
    N = dout.shape[0]
    dxhat = dout * gamma
    dvar = np.sum(dxhat * xhat, axis=0) * -0.5 / std ** 2
    dmu = -np.sum(dxhat, axis=0) / std
    dx = dxhat / std + dvar * 2 * xhat * std / N + dmu / N
    return dx, np.sum(dout * xhat, axis=0), np.sum(dout, axis=0)


def batchnorm_backward_alt(dout, cache):
    xhat, gamma, std = cache
    N = dout.shape[0]
    dxhat = dout * gamma
    dx = (N * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0)) / ({N} * std)
    return dx, np.sum(dout * xhat, axis=0), np.sum(dout, axis=0)
'''


def test_every_backward_of_a_forward_is_checked_under_its_own_name(tmp_path):
    found, _ = collect_source(tmp_path, "bn_two.py", BATCHNORM.replace("{N}", "1"))
    assert sorted(found) == ["bn_two.batchnorm", "bn_two.batchnorm_backward_alt"]
    assert hunt("bn_two.batchnorm", "grads_fd", max_examples=10, shrink=False) is None
    failed = hunt("bn_two.batchnorm_backward_alt", "grads_fd", max_examples=10)
    assert failed is not None and {r.tensor for r in failed.failures} == {"dx"}


def test_a_forward_whose_only_backward_is_a_variant_is_checked_with_it(tmp_path):
    source = BATCHNORM.replace("{N}", "N")
    start, end = source.index("def batchnorm_backward("), source.index("def batchnorm_backward_alt")
    found, _ = collect_source(tmp_path, "bn_alt.py", source[:start] + source[end:])
    assert list(found) == ["bn_alt.batchnorm_backward_alt"]
    assert hunt("bn_alt.batchnorm_backward_alt", "grads_fd", max_examples=10, shrink=False) is None
