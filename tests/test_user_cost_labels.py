"""Labels beside the arrays of a cost function: as many as an axis of those arrays has.

A cost ``(emb, W, labels)`` with embeddings (B, D) ran at emb (3, 3) beside 6 labels as a
column: ``p[np.arange(3), labels]`` broadcast them to (6, 3), the cost meant nothing, and a
right gradient failed. And two arrays a hint gives the same shape were drawn alike (a
teacher's logits equal to the student's hide a distillation loss's missing T**2). A layer's
labels index its weights' columns (a classification head's), not its input's width."""
import numpy as np

from properties.search import hunt
from properties.user_cost_args import _Search
from properties.user_cost_choice import labels_counted
from properties.user_hints import read_hints
from tests.owncode_loading import collect_source

EMBED_CE = '''
import numpy as np


def embed_ce_loss(emb, W, labels):
    """emb: (B, D), W: (C, D) a row per class, labels: (B,). Returns loss, d_emb, dW."""
    B = emb.shape[0]
    logits = emb @ W.T
    logits = logits - logits.max(1, keepdims=True)
    p = np.exp(logits)
    p /= p.sum(1, keepdims=True)
    idx = (np.arange(B), labels)
    loss = -np.log(p[idx]).mean()
    g = p.copy()
    g[idx] -= 1
    g /= {count}
    return loss, g @ W, g.T @ emb
'''


def _check(tmp_path, name, source):
    (tmp_path / name).mkdir()
    found, _ = collect_source(tmp_path / name, f"{name}.py", source)
    (label,) = found
    return found[label], found[label].check() if found[label].check else None


def test_labels_come_as_many_as_an_axis_of_the_other_arrays(tmp_path):
    item, results = _check(tmp_path, "embed_ce", EMBED_CE.replace("{count}", "B"))
    assert results and all(r.passed for r in results), [r.tensor for r in results if not r.passed]
    assert "(6, 1)" not in item.how, item.how
    _, results = _check(tmp_path, "embed_ce_bug", EMBED_CE.replace("{count}", "1"))
    assert {r.tensor for r in results if not r.passed} == {"emb", "W"}


def test_a_search_skips_labels_no_array_counts():
    roles = [("emb", "array"), ("W", "array"), ("labels", "labels")]
    emb, W = np.zeros((3, 3)), np.zeros((4, 3))
    assert not labels_counted(roles, {"emb": emb, "W": W, "labels": np.zeros((6, 1))})
    assert labels_counted(roles, {"emb": emb, "W": W, "labels": np.zeros(4)})
    assert labels_counted(roles, {"emb": emb, "W": W, "labels": 1})   # one label: any batch


def test_arrays_a_hint_gives_one_shape_are_drawn_unlike():
    hint = read_hints("# gradcheck: kd_loss; student=(N, 4); teacher=(N, 4); y=int(N)<4\n")
    hint = hint["kd_loss"]
    search = _Search(lambda *a: None, [("student", "array"), ("teacher", "array"),
                                       ("y", "labels")], hint)
    student, teacher = search._hinted("student"), search._hinted("teacher")
    assert student.shape == teacher.shape == (6, 4)
    assert not np.allclose(student, teacher)
    assert np.array_equal(search._hinted("student"), student)     # the name decides them


HEAD = '''
import numpy as np


class MarginHead:
    """Softmax cross-entropy over x @ W, W (in_features, n_classes); forward(x, label)."""

    def __init__(self, in_features, n_classes):
        self.W = np.random.default_rng(0).standard_normal((in_features, n_classes)) * 0.3
        self.dW = np.zeros_like(self.W)

    def forward(self, x, label):
        z = x @ self.W
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        self.cache = (x, p, label)
        return -np.mean(np.log(p[np.arange(len(x)), label]))

    def backward(self):
        x, p, label = self.cache
        g = p.copy()
        g[np.arange(len(x)), label] -= 1
        g /= {count}
        self.dW = x.T @ g
        return g @ self.W.T
'''


def test_a_heads_labels_index_its_weights_columns_fewer_than_its_inputs_width(tmp_path):
    """Built with in_features 3 and 2 classes: labels drawn below 3 (the input's width) index
    past the 2 columns, and every shape was given up but a blind (6, 6, 3), where backward
    raised: five failures of a right head, as "layer raised"."""
    item, results = _check(tmp_path, "head", HEAD.replace("{count}", "len(x)"))
    assert "(N, 3) from W (3, 2)" in item.how, item.how
    for prop in ("grads_fd", "batch_resize"):
        assert hunt(item.label, prop, max_examples=10, shrink=False) is None, prop
    item, _ = _check(tmp_path, "head_bug", HEAD.replace("{count}", "1"))
    failed = hunt(item.label, "grads_fd", max_examples=10)
    assert failed is not None and {r.tensor for r in failed.failures} == {"dx", "dW"}


CENTER = '''
import numpy as np


def center_loss(feats, centers, labels):
    """feats (N, D), centers (K, D), labels (N,)."""
    n = feats.shape[0]
    diff = feats - centers[labels]
    dcenters = np.zeros_like(centers)
    {scatter}
    return 0.5 * (diff ** 2).sum() / n, diff / n, dcenters
'''


def test_an_embeddings_rows_are_its_labels_examples_and_a_repeated_label_adds(tmp_path):
    """One label for every row (labels=1) hid a center loss's scatter that drops repeated
    labels (``dcenters[labels] -= ...``): its first array now takes a row per example first,
    and labels one per row are kept over one label for all."""
    item, results = _check(tmp_path, "center", CENTER.replace(
        "{scatter}", "np.subtract.at(dcenters, labels, diff / n)"))
    assert "labels (6,) ints" in item.how, item.how
    assert results and all(r.passed for r in results)
    _, results = _check(tmp_path, "center_bug", CENTER.replace(
        "{scatter}", "dcenters[labels] -= diff / n"))
    assert {r.tensor for r in results if not r.passed} == {"centers"}
    item, _ = _check(tmp_path, "embed_rows", EMBED_CE.replace("{count}", "B"))
    assert "emb (6, " in item.how and "labels (6,) ints" in item.how, item.how



def test_a_lone_array_is_not_left_at_a_point_where_the_cost_is_flat():
    """A load-balancing loss at (3, 3), where each row's top expert was another: the share
    1/3 everywhere, the cost constant, both gradients 0, and a missing 1/N passed. The search
    goes on to a shape where the returned gradient is not all 0."""
    def balance_like(router_logits):
        n, e = router_logits.shape           # (N, E): a vector raises
        flat = n == e == 3
        return float(router_logits.sum()), (np.zeros_like if flat else np.ones_like)(router_logits)

    args, matched = _Search(balance_like, [("router_logits", "array")], None).run()
    assert args["router_logits"].shape != (3, 3) and matched == {"router_logits": 1}
    always_flat = _Search(lambda a: (0.0, np.zeros_like(a)), [("a", "array")], None).run()
    assert always_flat is not None         # (a cost flat everywhere is still checked)


SEQ_XENT = '''
import numpy as np


def sequence_cross_entropy(logits, targets, mask):
    n, t, v = logits.shape
    z = logits - logits.max(-1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
    rows = np.arange(n)[:, None], np.arange(t)[None, :], targets
    loss = -(np.log(p[rows]) * mask).sum() / mask.sum()
    d = p.copy()
    d[rows] -= 1
    return loss, d * {masked} / mask.sum()
'''

MIXUP = '''
import numpy as np


def mixup_cross_entropy(logits, y_a, y_b, lam):
    n = len(logits)
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    rows = np.arange(n)
    loss = -(lam * np.log(p[rows, y_a]) + (1 - lam) * np.log(p[rows, y_b])).mean()
    d = p.copy()
    d[rows, y_a] -= lam
    d[rows, y_b] -= {other}
    return loss, d / n
'''


def test_labels_named_tags_or_a_mixups_pair_and_a_sequences_logits_are_recognised(tmp_path):
    """``y_a`` / ``y_b`` (a mixup's two label sets) were drawn as floats and a sequence's
    logits (N, T, V) never tried: "nothing recognised" for right files."""
    item, results = _check(tmp_path, "seq", SEQ_XENT.replace("{masked}", "mask[..., None]"))
    assert "logits (6, 4, " in item.how and "targets (6, 4) ints" in item.how, item.how
    assert results and all(r.passed for r in results)
    _, results = _check(tmp_path, "seq_bug", SEQ_XENT.replace("{masked}", "1"))
    assert {r.tensor for r in results if not r.passed} == {"logits"}
    item, results = _check(tmp_path, "mix", MIXUP.replace("{other}", "1 - lam"))
    assert "y_a (6,) ints" in item.how and results and all(r.passed for r in results)
    _, results = _check(tmp_path, "mix_bug", MIXUP.replace("{other}", "lam"))
    assert {r.tensor for r in results if not r.passed} == {"logits"}
    from properties.user_targets import is_label_name
    assert is_label_name("tags") and is_label_name("y_b") and not is_label_name("x_a")


def test_a_ce_name_or_a_hint_makes_a_tuple_function_a_cost(tmp_path):
    """``masked_sequence_ce`` was "nothing recognised", and a hint naming it was refused as
    naming nothing (README: a hint naming a function makes it one to check); its logits
    (N, 3, 6) beside targets (N, 3) were refused too (the steps were taken as 4)."""
    source = SEQ_XENT.replace("{masked}", "mask[..., None]")
    item, results = _check(tmp_path, "masked_ce", source.replace(
        "sequence_cross_entropy", "masked_sequence_ce"))
    assert results and all(r.passed for r in results)
    hinted = "# gradcheck: masked_tokens; logits=(N, 3, 6); targets=int(N, 3)<6; mask=mask(N, 3)"
    item, results = _check(tmp_path, "tokens", hinted + source.replace(
        "sequence_cross_entropy", "masked_tokens"))
    assert "logits (6, 3, 6); targets (6, 3) ints" in item.how, item.how
    assert results and all(r.passed for r in results)


MIXUP_SWAPPED = '''
import numpy as np


def mixup_cross_entropy(logits, y_a, y_b, lam=0.5):
    """lam * CE(logits, y_a) + (1 - lam) * CE(logits, y_b); returns (loss, dlogits)."""
    N = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    rows = np.arange(N)
    logp = np.log(probs)
    loss = -(lam * logp[rows, y_a] + (1 - lam) * logp[rows, y_b]).mean()
    grad_a, grad_b = probs.copy(), probs.copy()
    grad_a[rows, y_a] -= 1
    grad_b[rows, {second}] -= 1
    return loss, (lam * grad_a + (1 - lam) * grad_b) / N
'''


def test_two_sets_of_labels_are_drawn_unlike(tmp_path):
    """A mixup's y_a and y_b were drawn alike, so a gradient taking y_a where y_b belongs was
    right on every set tried. The second set is the first shifted by one class now."""
    for name, second, right in (("mix", "y_b", True), ("mix_bug", "y_a", False)):
        (tmp_path / name).mkdir()
        found, _ = collect_source(tmp_path / name, f"{name}.py", MIXUP_SWAPPED.replace("{second}", second))
        results = found[f"{name}.mixup_cross_entropy"].check()
        assert results and all(r.passed for r in results) == right, [r.message() for r in results]
