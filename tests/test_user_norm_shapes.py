"""A layer norm written for sequences (N, T, D) only, its gradient attributes made in
backward. Its dgamma sums over axes (0, 1): probed with (N, D) the gradients did not come out
in their params' shapes, no params were found, and it was sized (6, 6, 3), one sample with no
batch axis and no twin. The probes that find its params now go first, and a norm's gamma (D,)
also sizes a sequence (N, T, D)."""
import pytest

from properties.search import hunt
from tests.owncode_loading import collect_source

SOURCE = '''
import numpy as np


class SeqLayerNorm:
    def __init__(self, d, eps=1e-5):
        self.gamma = np.ones(d)
        self.beta = np.zeros(d)
        self.eps = eps

    def forward(self, x):
        self.mu = x.mean(axis=-1, keepdims=True)
        self.var = x.var(axis=-1, keepdims=True)
        self.xhat = (x - self.mu) / np.sqrt(self.var + self.eps)
        return self.gamma * self.xhat + self.beta

    def backward(self, dout):
        d = dout.shape[-1]
        self.dgamma = np.sum(dout * self.xhat, axis=(0, 1))
        self.dbeta = np.sum(dout, axis=(0, 1))
        dxhat = dout * self.gamma
        inv = 1.0 / np.sqrt(self.var + self.eps)
        return inv / d * (d * dxhat - dxhat.sum(-1, keepdims=True)
                          - self.xhat * (dxhat * self.xhat).sum(-1, keepdims=True))


class Scale:
    """y = gamma * x + beta per feature, in the params/grads dicts style, with no training
    flag: matching it against the norms' twins read layer.training, a harness error."""
    def __init__(self, dim):
        self.params = {"gamma": np.ones(dim), "beta": np.zeros(dim)}
        self.grads = {"gamma": np.zeros(dim), "beta": np.zeros(dim)}

    def forward(self, x):
        self.x = x
        return self.params["gamma"] * x + self.params["beta"]

    def backward(self, dout):
        self.grads["gamma"] = np.sum(dout * self.x, axis=0)
        self.grads["beta"] = np.sum(dout, axis=0)
        return dout * self.params["gamma"]


class SeqLayerNormDgammaOfX(SeqLayerNorm):
    def backward(self, dout):
        dx = super().backward(dout)
        self.dgamma = np.sum(dout * (self.xhat * np.sqrt(self.var + self.eps) + self.mu),
                             axis=(0, 1))
        return dx
'''


@pytest.fixture(scope="module")
def found(tmp_path_factory):
    return collect_source(tmp_path_factory.mktemp("seqnorm"), "norms.py", SOURCE)[0]


def test_a_sequence_only_layer_norm_is_sized_from_gamma_with_its_twin(found):
    f = found["norms.SeqLayerNorm"]
    assert tuple(map(tuple, f.entry.input_shapes({}, 2))) == ((2, 3, 3),)
    assert "(N, 3, 3) from gamma (3,)" in f.how and "TF twin: layer_norm" in f.how
    for prop in ("forward_tf", "grads_tf", "grads_fd", "batch_additive"):
        assert hunt("norms.SeqLayerNorm", prop, max_examples=10, shrink=False) is None, prop


def test_its_dgamma_taken_from_x_instead_of_xhat_fails_against_tf(found):
    bad = hunt("norms.SeqLayerNormDgammaOfX", "grads_tf", max_examples=10, shrink=False)
    assert bad is not None
    assert {r.tensor for r in bad.failures} == {"dgamma"}
    assert {r.verdict for r in bad.failures} == {"layer bug"}


def test_a_gain_and_shift_without_a_training_flag_is_checked_not_a_harness_error(found):
    assert "protocol style" in found["norms.Scale"].how
    for prop in ("grads_tf", "grads_fd", "batch_additive"):
        assert hunt("norms.Scale", prop, max_examples=10, shrink=False) is None, prop


SPATIAL = '''
import numpy as np


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    """cs231n style; running statistics written in training only, read with defaults."""
    N, C, H, W = x.shape
    eps, mom = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
    rm, rv = bn_param.get("running_mean", np.zeros(C)), bn_param.get("running_var", np.ones(C))
    xt = x.transpose(0, 2, 3, 1).reshape(-1, C)
    if bn_param["mode"] == "train":
        mu, var = xt.mean(0), xt.var(0)
        std = np.sqrt(var + eps)
        xhat = (xt - mu) / std
        bn_param["running_mean"] = mom * rm + (1 - mom) * mu
        bn_param["running_var"] = mom * rv + (1 - mom) * var
        cache = (xhat, std, gamma)
    else:
        xhat, cache = (xt - rm) / np.sqrt(rv + eps), None
    return (gamma * xhat + beta).reshape(N, H, W, C).transpose(0, 3, 1, 2), cache


def spatial_batchnorm_backward(dout, cache):
    xhat, std, gamma = cache
    N, C, H, W = dout.shape
    d = dout.transpose(0, 2, 3, 1).reshape(-1, C)
    g = d * gamma
    dx = (g - g.mean(0) - xhat * (g * xhat).mean(0)) / std
    return dx.reshape(N, H, W, C).transpose(0, 3, 1, 2), (d * xhat).sum(0), d.sum(0)
'''


def test_inference_before_any_running_statistics_is_not_judged_by_tf_not_a_harness_error(
        tmp_path):
    """At inference, before a training forward stored them, the twin cannot know the running
    statistics the layer defaults to: forward_tf says so on that case (it was 'harness
    error'), and judges every case where they are stored."""
    import numpy as np
    from properties.battery import all_properties
    from properties.cases import Case
    collect_source(tmp_path, "sbn.py", SPATIAL)
    case = Case(layer="sbn.spatial_batchnorm", config={}, dtype="float64", batch=2,
                kind="normal", seed=0, training=False)
    results = all_properties()["forward_tf"].fn(case)
    assert [r.passed for r in results] == [True] and "not judged by TF" in results[0].note
    assert "running statistics the layer has not stored yet" in results[0].note
    assert hunt("sbn.spatial_batchnorm", "forward_tf", max_examples=10, shrink=False) is None
    assert hunt("sbn.spatial_batchnorm", "grads_tf", max_examples=10, shrink=False) is None
