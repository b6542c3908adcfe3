"""Labels beside the arrays of a cost function: as many as an axis of those arrays has.

A cost ``(emb, W, labels)`` with embeddings (B, D) ran at emb (3, 3) beside 6 labels as a
column: ``p[np.arange(3), labels]`` broadcast them to (6, 3), the cost meant nothing, and a
right gradient failed. And two arrays a hint gives the same shape were drawn alike (a
teacher's logits equal to the student's hide a distillation loss's missing T**2)."""
import numpy as np

from properties.user_cost_args import _Search
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
    return found[label], found[label].check()


def test_labels_come_as_many_as_an_axis_of_the_other_arrays(tmp_path):
    item, results = _check(tmp_path, "embed_ce", EMBED_CE.replace("{count}", "B"))
    assert results and all(r.passed for r in results), [r.tensor for r in results if not r.passed]
    assert "(6, 1)" not in item.how, item.how
    _, results = _check(tmp_path, "embed_ce_bug", EMBED_CE.replace("{count}", "1"))
    assert {r.tensor for r in results if not r.passed} == {"emb", "W"}


def test_a_search_skips_labels_no_array_counts():
    search = _Search(lambda *a: None, [("emb", "array"), ("W", "array"), ("labels", "labels")],
                     None)
    emb, W = np.zeros((3, 3)), np.zeros((4, 3))
    assert not search.labels_counted({"emb": emb, "W": W, "labels": np.zeros((6, 1))})
    assert search.labels_counted({"emb": emb, "W": W, "labels": np.zeros(4)})
    assert search.labels_counted({"emb": emb, "W": W, "labels": 1})   # one label: any batch


def test_arrays_a_hint_gives_one_shape_are_drawn_unlike():
    hint = read_hints("# gradcheck: kd_loss; student=(N, 4); teacher=(N, 4); y=int(N)<4\n")
    hint = hint["kd_loss"]
    search = _Search(lambda *a: None, [("student", "array"), ("teacher", "array"),
                                       ("y", "labels")], hint)
    student, teacher = search._hinted("student"), search._hinted("teacher")
    assert student.shape == teacher.shape == (6, 4)
    assert not np.allclose(student, teacher)
    assert np.array_equal(search._hinted("student"), student)     # the name decides them
