"""A loss defined only from some batch size on (NT-Xent over views i and i + N: a batch of 1
has no pair, and its forward is NaN at any input there). With no TF twin, its NaN gradients
at batch 1 failed a right loss as "not the derivative of its own forward"; that batch is now
outside its domain (a warning), while an exp overflowing at large inputs stays a failure."""
import numpy as np

from properties.cases import Case
from properties.search import hunt
from properties.second_look import undefined_here
from properties.trial import Trial
from tests.owncode_loading import collect_source

NT_XENT = '''
import numpy as np


class PairContrast:
    """z: (2N, D), rows i and i + N two views of one sample."""

    def forward(self, z):
        n2 = z.shape[0]
        norms = np.linalg.norm(z, axis=1, keepdims=True)
        zn = z / norms
        sim = zn @ zn.T / 0.5
        logits = np.where(np.eye(n2, dtype=bool), -np.inf, sim)
        pos = np.concatenate([np.arange(n2 // 2, n2), np.arange(0, n2 // 2)])
        m = logits.max(axis=1, keepdims=True)
        lse = m[:, 0] + np.log(np.exp(logits - m).sum(axis=1))
        self.cache = (zn, norms, np.exp(logits - lse[:, None]), pos)
        return np.mean(lse - sim[np.arange(n2), pos])

    def backward(self):
        zn, norms, probs, pos = self.cache
        n2 = zn.shape[0]
        dsim = probs.copy()
        dsim[np.arange(n2), pos] -= 1.0
        dsim /= n2 * 0.5
        dzn = ({both}) @ zn
        return (dzn - zn * np.sum(dzn * zn, axis=1, keepdims=True)) / norms
'''


def _collected(tmp_path, name, both):
    (tmp_path / name).mkdir()
    found, _ = collect_source(tmp_path / name, f"{name}.py", NT_XENT.replace("{both}", both))
    (label,) = found
    return label


def test_a_batch_no_input_defines_is_outside_the_domain(tmp_path):
    label = _collected(tmp_path, "ntx", "dsim + dsim.T")
    for prop in ("grads_fd", "batch_resize"):
        assert hunt(label, prop, max_examples=15) is None, prop
    one = Case(layer=label, config={}, dtype="float64", batch=1, kind="normal", seed=0)
    trial = Trial(one, "grads_fd").setup()
    trial.run()
    assert not np.isfinite(trial._own_out).all() and undefined_here(trial)
    two = Case(layer=label, config={}, dtype="float64", batch=2, kind="normal", seed=0)
    assert not undefined_here(Trial(two, "grads_fd").setup())


def test_its_slip_is_still_caught_on_batches_it_is_defined_at(tmp_path):
    label = _collected(tmp_path, "ntx_bug", "dsim")      # the transposed use of sim dropped
    failed = hunt(label, "grads_fd", max_examples=15)
    assert failed is not None and failed.failures[0].tensor == "dz"
    assert failed.case.batch >= 2 and all(not r.warning for r in failed.failures)
