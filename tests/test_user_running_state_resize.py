"""A training forward that reads its running statistics (batch renormalisation: r and d come
from them) changes from call to call by design. batch_resize compared its second call, at
another batch size, with a fresh layer's first, whose statistics were the initial ones, and a
right layer failed as "something kept from the first call is used again". The fresh layer is
given the statistics the first call left; a state the layer keeps wrongly still fails."""
from properties.search import hunt
from tests.owncode_loading import collect_source

RENORM = '''
import numpy as np


def batchrenorm_forward(x, gamma, beta, bn_param):
    """x (N, D). train: (x - mu) / sigma * r + d with r = sigma / sigma_run and d = (mu -
    mu_run) / sigma_run, not clipped nor stopped; the running statistics updated after."""
    eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
    D = x.shape[1]
    run_mean = bn_param.get("running_mean", np.zeros(D))
    run_var = bn_param.get("running_var", np.ones(D))
    run_sigma = {run_sigma}
    if bn_param["mode"] == "train":
        mu, var = x.mean(axis=0), x.var(axis=0)
        sigma = np.sqrt(var + eps)
        xhat = (x - mu) / sigma * (sigma / run_sigma) + (mu - run_mean) / run_sigma
        bn_param["running_mean"] = momentum * run_mean + (1 - momentum) * mu
        bn_param["running_var"] = momentum * run_var + (1 - momentum) * var
    else:
        xhat = (x - run_mean) / run_sigma
    return gamma * xhat + beta, (xhat, gamma, run_sigma)


def batchrenorm_backward(dout, cache):
    xhat, gamma, run_sigma = cache
    return dout * gamma / run_sigma, np.sum(dout * xhat, axis=0), dout.sum(axis=0)
'''


def test_a_training_forward_reading_its_running_statistics_passes_batch_resize(tmp_path):
    found, _ = collect_source(tmp_path, "renorm.py", RENORM.replace(
        "{run_sigma}", "np.sqrt(run_var + eps)"))
    assert found["renorm.batchrenorm"].entry.running_stats == ("running_mean", "running_var")
    assert hunt("renorm.batchrenorm", "batch_resize", max_examples=15) is None
    assert hunt("renorm.batchrenorm", "grads_fd", max_examples=10, shrink=False) is None


def test_a_scale_kept_from_the_first_call_still_fails_batch_resize(tmp_path):
    """The running sigma read once and kept (a cache the next call reuses): stale there."""
    found, _ = collect_source(tmp_path, "stale.py", RENORM.replace(
        "{run_sigma}", 'bn_param.setdefault("sigma0", np.sqrt(run_var + eps))'))
    assert hunt("stale.batchrenorm", "batch_resize", max_examples=15) is not None
