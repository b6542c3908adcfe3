"""A functional pair taking a number among its arguments (cs231n's
``spatial_groupnorm_forward(x, gamma, beta, G, gn_param)``) could not be checked: G was
drawn as an array, and no hint could give an integer (``G=2``: "takes a shape"). A hint's
number is now passed as it is, after the arrays."""

from properties.search import hunt
from properties.user_hints import read_hints
from tests.owncode_loading import collect_source

SOURCE = '''# gradcheck: spatial_groupnorm; x=(N, 6, 3, 4); gamma=(1, 6, 1, 1); beta=(1, 6, 1, 1); G=2
import numpy as np


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    N, C, H, W = x.shape
    g = x.reshape(N, G, C // G, H, W)
    mu = g.mean(axis=(2, 3, 4), keepdims=True)
    std = np.sqrt(g.var(axis=(2, 3, 4), keepdims=True) + gn_param.get("eps", 1e-5))
    xhat = ((g - mu) / std).reshape(N, C, H, W)
    return gamma * xhat + beta, (xhat, gamma, std, G)


def spatial_groupnorm_backward(dout, cache):
    xhat, gamma, std, G = cache
    N, C, H, W = dout.shape
    dbeta = dout.sum(axis=(0, 2, 3), keepdims=True)
    dgamma = (dout * xhat).sum(axis=(0, 2, 3), keepdims=True)
    dg = (dout * gamma).reshape(N, G, C // G, H, W)
    xg = xhat.reshape(N, G, C // G, H, W)
    m = dg[0, 0].size
    dx = (dg - dg.mean(axis=(2, 3, 4), keepdims=True)
          - xg * (dg * xg).mean(axis=(2, 3, 4), keepdims=True)) / std
    return dx.reshape(N, C, H, W), dgamma, dbeta
'''


def test_a_number_in_a_hint_is_passed_to_a_functional_pair(tmp_path):
    found, collected = collect_source(tmp_path, "gn.py", SOURCE)
    assert not collected.skipped, collected.skipped
    assert set(found["gn.spatial_groupnorm"].entry.build({}, __import__("numpy").random
                                                         .default_rng(0), "float64").params) \
        == {"gamma", "beta"}
    for prop in ("grads_tf", "grads_fd", "batch_additive"):
        assert hunt("gn.spatial_groupnorm", prop, max_examples=10, shrink=False) is None, prop


def test_a_wrong_number_is_the_layers_to_answer_for(tmp_path):
    """G=4 does not divide 6 channels: the user's reshape raises, reported as the layer's."""
    found, _ = collect_source(tmp_path, "gn4.py", SOURCE.replace("G=2", "G=4").replace(
        "gn.py", "gn4.py"))
    bad = hunt("gn4.spatial_groupnorm", "grads_tf", max_examples=3, shrink=False)
    assert bad is not None and {r.verdict for r in bad.failures} == {"layer raised"}


def test_a_number_reads_and_shows_as_itself():
    hint = read_hints("# gradcheck: f; x=(N, 3); G=2; eps=1e-5\n")["f"]
    assert hint.array("G").kind == "value" and hint.array("G").value == 2
    assert hint.array("eps").show() == "1e-05"


def test_without_a_hint_the_count_is_2_and_a_suggested_hint_gives_it_as_a_number(tmp_path):
    """With no hint, G is a number too (2, as a hint would give it) and the pair is checked; a
    hint suggested for a pair taking a count gives it as a number, not a shape."""
    from properties.user_hinted import example
    found, collected = collect_source(tmp_path, "gn_nohint.py", SOURCE.split("\n", 1)[1])
    (label,) = [f for f in found if "spatial_groupnorm" in f]
    assert hunt(label, "grads_fd", max_examples=5, shrink=False) is None
    said = example(["x"], ["gamma", "beta", "G"])
    assert "G=2" in said and "G=(...)" not in said and "gamma=(...)" in said, said
