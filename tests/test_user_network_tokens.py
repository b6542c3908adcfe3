"""A language model checked whole (``loss(idx, targets)`` / ``gradient(idx, targets)``) takes
token ids: it was tried on float inputs alone and "not checked", and a hint naming its
arguments as its loss names them (``idx=...; targets=...``) was passed over without a word."""
from properties.owncode import collect
from tests.owncode_loading import collect_source

TIED = '''
{hint}
import numpy as np


class TiedLM:
    """Embedding E (V, D) looked up, then logits h @ E.T: E used twice."""

    def __init__(self, vocab_size=7, d_model=4):
        self.params = {"E": np.random.default_rng(0).standard_normal((vocab_size, d_model))}

    def _probs(self, idx):
        h = self.params["E"][idx]
        z = h @ self.params["E"].T
        p = np.exp(z - z.max(-1, keepdims=True))
        return h, p / p.sum(-1, keepdims=True)

    def loss(self, idx, targets):
        _, p = self._probs(idx)
        n, t = targets.shape
        rows = np.arange(n)[:, None], np.arange(t)[None, :], targets
        return -np.log(p[rows]).mean()

    def gradient(self, idx, targets):
        h, p = self._probs(idx)
        n, t = targets.shape
        dz = p.copy()
        dz[np.arange(n)[:, None], np.arange(t)[None, :], targets] -= 1
        dz /= n * t
        dE = np.einsum("ntv,ntd->vd", dz, h)           # the output use
        {embedding_use}
        return {"E": dE}
'''

BOTH = "np.add.at(dE, idx, dz @ self.params['E'])"


def _checked(tmp_path, name, hint="", embedding_use=BOTH):
    (tmp_path / name).mkdir()
    found, _ = collect_source(tmp_path / name, f"{name}.py", TIED.replace(
        "{hint}", hint).replace("{embedding_use}", embedding_use))
    (label,) = found
    return found[label], found[label].check()


def test_a_language_model_is_run_on_token_ids_and_both_uses_of_its_table_checked(tmp_path):
    item, results = _checked(tmp_path, "tied")
    assert "token ids below 7" in item.how and "integer labels at every step" in item.how
    assert results and all(r.passed for r in results)
    _, results = _checked(tmp_path, "tied_bug", embedding_use="pass")     # the lookup's use
    assert [r.tensor for r in results if not r.passed] == ["E"]


def test_a_hint_may_name_the_arguments_as_the_loss_does(tmp_path):
    item, results = _checked(tmp_path, "tied_hinted",
                             hint="# gradcheck: TiedLM(); idx=int(N, 3)<7; targets=int(N, 3)<7")
    assert "from the hint" in item.how and "x(3, 3)" in item.how, item.how
    assert results and all(r.passed for r in results)
    assert collect([tmp_path / "tied_hinted"]).skipped == []
