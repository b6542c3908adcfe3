"""A functional pair whose forward takes noise its caller draws (a Gumbel-softmax's
``forward(logits, gumbel_noise, tau=1.0)``, a backward returning dlogits alone): the noise was
taken for a param, its missing gradient raised in the harness's own adapter, and every check
failed as "layer raised". Noise is data now, never differentiated; and a pair's float option
defaulting to 1.0 is also checked at 0.7, where a backward leaving 1/tau out is wrong."""
from tests.owncode_loading import collect_source

GUMBEL = '''
import numpy as np


def gumbel_softmax_forward(logits, gumbel_noise, tau=1.0):
    """logits, gumbel_noise: (N, K)"""
    h = (logits + gumbel_noise) / tau
    e = np.exp(h - h.max(axis=-1, keepdims=True))
    y = e / e.sum(axis=-1, keepdims=True)
    return y, (y, tau)


def gumbel_softmax_backward(dout, cache):
    y, tau = cache
    return y * (dout - (dout * y).sum(axis=-1, keepdims=True)){over_tau}
'''


def _checked(tmp_path, name, over_tau):
    (tmp_path / name).mkdir()
    found, _ = collect_source(tmp_path / name, f"{name}.py", GUMBEL.format(over_tau=over_tau))
    return found


def _failures(item):
    """The failing results of grads_fd's search on ``item`` ([] when it found none)."""
    from properties.search import hunt
    found = hunt(item.label, "grads_fd", max_examples=10, shrink=False)
    return list(found.failures) if found else []


def test_the_noise_is_data_and_a_right_pair_passes_at_both_temperatures(tmp_path):
    item = _checked(tmp_path, "gumbel", " / tau")["gumbel.gumbel_softmax"]
    assert "gumbel_noise: float like x" in item.how, item.how
    assert [a.label for a in item.also] == ["gumbel.gumbel_softmax(tau=0.7)"]
    assert _failures(item) == [] and _failures(item.also[0]) == []


def test_a_backward_leaving_out_one_over_tau_fails_at_tau_0_7(tmp_path):
    item = _checked(tmp_path, "gumbel_bug", "")["gumbel_bug.gumbel_softmax"]
    assert _failures(item) == []          # right at tau = 1, as written
    failed = _failures(item.also[0])
    assert failed and {r.tensor for r in failed} == {"dlogits"}
