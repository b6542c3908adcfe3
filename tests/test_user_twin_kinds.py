"""Twins found for two more ways of writing a layer: a float32 batch norm (float32 params, x cast
to float32), matched at float32's tolerance (at float64's its round-off refused every twin, and
only finite differences judged it); a dropout whose drop ratio is named ``ratio``."""
import numpy as np

from layers.adapter import AttributeLayer
from oracle.user_twins import match_twin


class BatchNorm32:
    def __init__(self, d):
        self.gamma = np.linspace(1.0, 1.5, d).astype(np.float32)
        self.beta = np.zeros(d, np.float32)
        self.eps = 1e-5

    def forward(self, x):
        x = x.astype(np.float32)
        self.xhat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + self.eps)
        return self.gamma * self.xhat + self.beta

    def backward(self, dout):
        self.dgamma = (dout * self.xhat).sum(axis=0)
        self.dbeta = dout.sum(axis=0)
        self.dx = None
        return dout


class Dropout:
    def __init__(self, ratio=0.5):
        self.ratio = ratio

    def forward(self, x, train_flg=True):
        if train_flg:
            self.mask = np.random.rand(*x.shape) > self.ratio
            return x * self.mask
        return x * (1.0 - self.ratio)

    def backward(self, dout):
        return dout * self.mask


def test_a_float32_batch_norm_is_matched_at_float32s_tolerance():
    x = np.random.default_rng(0).standard_normal((6, 4))
    layer = AttributeLayer(BatchNorm32(4), probe_inputs=(x,))
    match = match_twin(layer, [x], name="BatchNorm32")
    assert match is not None and match.kind == "batch_norm", match


def test_the_same_batch_norm_in_float64_computing_in_float32_is_refused_by_no_twin_it_fits():
    """The float32 tolerance is for a layer whose own params are float32: a float64 layer that
    is off by float32's round-off is not given it (it matched no twin, and still does not)."""
    class Sloppy(BatchNorm32):
        def __init__(self, d):
            super().__init__(d)
            self.gamma, self.beta = self.gamma.astype(np.float64), self.beta.astype(np.float64)

        def forward(self, x):
            return super().forward(x) * (1 + 1e-4)
    x = np.random.default_rng(0).standard_normal((6, 4))
    assert match_twin(AttributeLayer(Sloppy(4), probe_inputs=(x,)), [x], name="BatchNorm") is None


def test_a_dropout_whose_drop_ratio_is_named_ratio_gets_the_non_inverted_twin():
    np.random.seed(0)
    x = np.random.default_rng(1).standard_normal((4, 5))
    layer = AttributeLayer(Dropout(0.3))
    match = match_twin(layer, [x], name="Dropout")
    assert match is not None and "non-inverted" in match.how and "ratio is the drop ratio" in match.how


class TorchDropout:
    """PyTorch's p: the share dropped."""

    def __init__(self, p=0.2):
        self.p = p

    def forward(self, x):
        self.mask = np.random.rand(*x.shape) >= self.p
        return x * self.mask / (1 - self.p)

    def backward(self, dout):
        return dout * self.mask / (1 - self.p)


class ScaledByP(TorchDropout):
    """Drops a share p, as PyTorch's, but scales by 1/p: read as cs231n's keep probability its
    forward is right, yet its mask keeps 0.8 of the units, not 0.2."""

    def forward(self, x):
        self.mask = np.random.rand(*x.shape) >= self.p
        return x * self.mask / self.p

    def backward(self, dout):
        return dout * self.mask / self.p


def test_an_ambiguous_p_is_read_as_the_share_the_mask_keeps_says():
    np.random.seed(0)
    x = np.random.default_rng(1).standard_normal((4, 5))
    match = match_twin(AttributeLayer(TorchDropout(0.2)), [x], name="Dropout")
    assert match is not None and "p is the drop ratio" in match.how, match.how
    np.random.seed(0)
    wrong = match_twin(AttributeLayer(ScaledByP(0.2)), [x], name="Dropout")
    assert wrong is None or "keep probability" not in wrong.how, wrong.how


PADDED_EMBEDDING = '''
import numpy as np


class Embedding:
    def __init__(self, num_embeddings, embedding_dim, padding_idx=0):
        self.weight = np.random.randn(num_embeddings, embedding_dim)
        self.padding_idx = padding_idx

    def forward(self, idx):
        self.idx = idx
        return self.weight[idx]

    def backward(self, dout):
        self.dweight = np.zeros_like(self.weight)
        np.add.at(self.dweight, self.idx, dout)
        {padding}
'''


def test_an_embeddings_padding_idx_row_gets_no_gradient_in_the_twin_too(tmp_path):
    """PyTorch's padding_idx row gets no gradient; the twin (tf.gather) gave it one, so a correct
    layer failed on that row and one that forgot it passed."""
    from properties.search import hunt
    from tests.owncode_loading import collect_source
    (tmp_path / "ok").mkdir()
    (tmp_path / "bug").mkdir()
    collect_source(tmp_path / "ok", "padded_emb_ok.py",
                   PADDED_EMBEDDING.format(padding="self.dweight[self.padding_idx] = 0"))
    assert hunt("padded_emb_ok.Embedding", "grads_tf", max_examples=15, shrink=False) is None
    collect_source(tmp_path / "bug", "padded_emb_bug.py", PADDED_EMBEDDING.format(padding="pass"))
    failed = hunt("padded_emb_bug.Embedding", "grads_tf", max_examples=15)
    assert failed is not None and {r.tensor for r in failed.failures} == {"dweight"}


IGNORING_CE = '''
import numpy as np


class CrossEntropyLoss:
    def __init__(self, ignore_index=0):
        self.ignore_index = ignore_index

    def forward(self, logits, target):
        z = logits - logits.max(axis=1, keepdims=True)
        self.p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        self.t, self.keep = target, target != self.ignore_index
        picked = z[np.arange(len(target)), target] - np.log(np.exp(z).sum(axis=1))
        return -np.sum(picked * self.keep) / np.sum(self.keep)

    def backward(self):
        d = self.p.copy()
        d[np.arange(len(self.t)), self.t] -= 1
        return d {masked} / np.sum(self.keep)
'''


def test_a_cross_entropys_ignore_index_is_left_out_by_the_twin_too(tmp_path):
    """PyTorch's ignore_index leaves those labels out of the mean: the twin counted them, so a
    correct loss failed and one giving ignored rows a gradient failed the same way; a batch whose
    every label is ignored is 0/0 in both, outside the loss's domain."""
    from properties.search import hunt
    from tests.owncode_loading import collect_source
    (tmp_path / "ok").mkdir()
    (tmp_path / "bug").mkdir()
    collect_source(tmp_path / "ok", "ignoring_ce_ok.py", IGNORING_CE.format(masked="* self.keep[:, None]"))
    for prop in ("forward_tf", "grads_tf", "batch_resize"):
        assert hunt("ignoring_ce_ok.CrossEntropyLoss", prop, max_examples=15, shrink=False) is None, prop
    collect_source(tmp_path / "bug", "ignoring_ce_bug.py", IGNORING_CE.format(masked=""))
    failed = hunt("ignoring_ce_bug.CrossEntropyLoss", "grads_tf", max_examples=15)
    assert failed is not None and {r.verdict for r in failed.failures} == {"layer bug"}
