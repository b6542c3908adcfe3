"""A loss function of two differentiated inputs and no labels (``loss, dq, dk =
info_nce_loss(query, keys)``, ``nt_xent_loss(z1, z2)``): it was taken as ``loss, dx =
f(x, *targets)``, its second input drawn as integer labels; with a hint giving it floats,
every property failed "must return (loss, dx), got a tuple of 3". The number of gradients
it returns now says how many inputs it differentiates."""
from tests.owncode_loading import hunt_alone

INFO_NCE = '''
import numpy as np


def info_nce_loss(query, keys, temperature=0.5):
    """Row i of keys is row i of query's positive; the other rows its negatives."""
    n = len(query)
    logits = query @ keys.T / temperature
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(n), np.arange(n)]).mean()
    d = p.copy()
    d[np.arange(n), np.arange(n)] -= 1
    d /= n * temperature
    return loss, d @ keys, {dkeys}
'''


def test_a_two_input_loss_is_checked_on_both(tmp_path):
    item, failed = hunt_alone(tmp_path, "nce", INFO_NCE.replace("{dkeys}", "d.T @ query"))
    assert failed is None and "functional" in item.how
    item, failed = hunt_alone(tmp_path, "nce_bug", INFO_NCE.replace("{dkeys}", "d @ query"))
    assert failed is not None and {r.tensor for r in failed.failures} == {"dkeys"}
