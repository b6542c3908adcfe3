"""Users' sequence layers checked as written: functional pairs with several inputs and outputs,
integer indices, masked losses and class-style cells are found, matched to their TF twins, pass
every property when correct and are caught when buggy; hints say what cannot be inferred; a
layer whose backward exists in training mode only is still checked forward in inference mode."""
import textwrap

import numpy as np
import pytest

from oracle.user_twins import match_twin
from properties.battery import all_properties, battery_pairs
from properties.catalog import get
from properties.owncode import collect
from properties.search import hunt
from properties.user_hints import read_hints
from tests.owncode_loading import CORPUS, assert_caught, collect_untouched

SEQUENCE = CORPUS / "sequence"

# label -> (style, differentiable inputs, targets, outputs, twin kind in the line)
FOUND = {
    "rnn_layers.rnn_step": ("functional", ("x", "prev_h"), (), ("out",), "rnn step"),
    "rnn_layers.rnn": ("functional", ("x", "h0"), (), ("out",), "rnn over T steps"),
    "rnn_layers.lstm_step": ("functional", ("x", "prev_h", "prev_c"), (), ("next_h", "next_c"),
                             "lstm step"),
    "rnn_layers.lstm": ("functional", ("x", "h0"), (), ("out",), "lstm over T steps"),
    "rnn_layers.word_embedding": ("functional", (), ("x",), ("out",), "embedding"),
    "rnn_layers.temporal_affine": ("functional", ("x",), (), ("out",), "dense"),
    "rnn_layers.temporal_softmax_loss": ("functional", ("x",), ("y", "mask"), ("out",),
                                         "temporal softmax cross-entropy"),
    "seq_classes.Embedding": ("attribute", (), ("idx",), ("out",), "embedding"),
    "seq_classes.LSTMCell": ("attribute", ("x", "h_prev", "c_prev"), (), ("h_next", "c_next"),
                             "lstm step"),
    "seq_classes.RNN": ("attribute", ("x", "h0"), (), ("out",), "rnn over T steps"),
}
CLEAN = list(FOUND)

# (label, property expected to catch it, verdict expected on its failures or None)
CAUGHT = [
    ("rnn_layers_buggy.rnn_step", "grads_tf", "layer bug"),        # tanh' from the input
    ("rnn_layers_buggy.rnn_step", "grads_fd", "layer bug"),
    ("rnn_layers_buggy.lstm_step", "grads_tf", "layer bug"),       # next_h's path into next_c lost
    ("rnn_layers_buggy.word_embedding", "grads_tf", "layer bug"),  # dW[x] += dout loses repeats
    ("rnn_layers_buggy.word_embedding", "grads_fd", "layer bug"),
    ("rnn_layers_buggy.temporal_softmax_loss", "grads_tf", "layer bug"),   # mask forgotten in dx
    ("rnn_layers_buggy.temporal_softmax_loss", "masked_no_grad", None),
    ("seq_classes_buggy.Embedding", "grads_tf", "layer bug"),      # dW[idx] = dout
    ("seq_classes_buggy.LSTMCell", "grads_tf", "layer bug"),       # dc_prev without the forget gate
    ("seq_classes_buggy.LSTMCell", "grads_fd", "layer bug"),
]


@pytest.fixture(scope="module")
def corpus():
    return collect_untouched(SEQUENCE)


def _roles(label):
    layer = get(label).build({}, np.random.default_rng(0), np.float64)
    return (tuple(layer.input_names), tuple(getattr(layer, "target_names", ())),
            tuple(getattr(layer, "output_names", ("out",))))


def test_every_sequence_layer_is_found_with_its_inputs_outputs_and_twin(corpus):
    assert not corpus.problems and not corpus.skipped, (corpus.problems, corpus.skipped)
    found = {f.label: f for f in corpus.found}
    for label, (style, inputs, targets, outputs, twin) in FOUND.items():
        item = found[label]
        assert item.style == style, item.how
        assert _roles(label) == (inputs, targets, outputs), label
        assert f"TF twin: {twin}" in item.how, item.how
        assert item.entry.no_twin == ""


def test_integer_indices_are_in_range_with_repeats_and_masks_end_in_padding(corpus):
    rng = np.random.default_rng(3)
    for label in ("rnn_layers.word_embedding", "seq_classes.Embedding"):
        entry = get(label)
        vocab = entry.build({}, rng, np.float64).params["W"].shape[0]
        (idx,) = entry.targets({}, 3, rng, np.float64)
        assert idx.dtype.kind == "i" and idx.min() >= 0 and idx.max() < vocab
        assert len(np.unique(idx)) < idx.size, "no index repeats"
    entry = get("rnn_layers.temporal_softmax_loss")
    (x_shape,) = entry.input_shapes({}, 3)
    y, mask = entry.targets({}, 3, rng, np.float64)
    assert y.shape == mask.shape == x_shape[:2] and mask.dtype == bool
    assert 0 <= y.min() and y.max() < x_shape[2]
    assert not mask[-1, -1] and mask[:, 0].sum() >= 2, "the last row is padded, the others start real"
    assert entry.mask_target == 1 and entry.batch_rule == "mean"


@pytest.mark.parametrize("label", CLEAN)
def test_each_correct_sequence_layer_passes_every_property(corpus, label):
    entry = get(label)
    for _, spec in battery_pairs([entry]):
        assert not spec.not_applicable(entry), (spec.name, spec.not_applicable(entry))
        found = hunt(label, spec.name, max_examples=8, shrink=False)
        assert found is None, found.failures[0].message()


@pytest.mark.parametrize("label,prop,verdict", CAUGHT, ids=[f"{c[0]}-{c[1]}" for c in CAUGHT])
def test_each_planted_sequence_bug_is_caught(corpus, label, prop, verdict, result_log):
    assert_caught(label, prop, verdict, result_log)


def test_a_buggy_file_keeps_its_correct_gradients(corpus):
    """The LSTM cell whose dc_prev misses the forget gate is wrong there only."""
    found = hunt("seq_classes_buggy.LSTMCell", "grads_tf", max_examples=30)
    assert {r.tensor for r in found.failures} == {"dc_prev"}, [r.tensor for r in found.failures]


# ---- twins ---------------------------------------------------------------------------------

def _lstm_step(order):
    """An LSTM step keeping its gate blocks in ``order`` (a permutation of "ifog")."""
    def forward(x, h, c, Wx, Wh, b):
        a = x @ Wx + h @ Wh + b
        H = h.shape[1]
        g = {k: a[:, j * H:(j + 1) * H] for j, k in enumerate(order)}
        i, f, o = (1 / (1 + np.exp(-g[k])) for k in "ifo")
        c2 = f * c + i * np.tanh(g["g"])
        return o * np.tanh(c2), c2, None
    return forward


@pytest.mark.parametrize("order,who", [("ifog", "cs231n"), ("ifgo", "PyTorch"),
                                       ("fgio", "deep-learning-from-scratch 2")])
def test_lstm_gate_orders_are_matched_and_named(order, who):
    from layers.functional import FunctionalLayer
    rng = np.random.default_rng(0)
    layer = FunctionalLayer(_lstm_step(order), lambda *a: None,
                            {"Wx": rng.standard_normal((3, 8)), "Wh": rng.standard_normal((2, 8)),
                             "b": rng.standard_normal(8)}, inputs=("x", "h", "c"),
                            outputs=("h", "c"))
    xs = (rng.standard_normal((4, 3)), rng.standard_normal((4, 2)), rng.standard_normal((4, 2)))
    match = match_twin(layer, xs, name="step")
    assert match is not None and match.kind == "lstm_cell" and who in match.how, match


def test_a_recurrent_forward_that_is_not_tanh_gets_no_twin():
    from layers.functional import FunctionalLayer
    rng = np.random.default_rng(0)
    layer = FunctionalLayer(lambda x, h, Wx, Wh, b: (np.maximum(0, x @ Wx + h @ Wh + b), None),
                            lambda d, c: None, {"Wx": rng.standard_normal((3, 2)),
                                                "Wh": rng.standard_normal((2, 2)), "b": np.zeros(2)},
                            inputs=("x", "h"))
    assert match_twin(layer, (rng.standard_normal((4, 3)), rng.standard_normal((4, 2))),
                      name="relu_rnn_step") is None


# ---- hints ---------------------------------------------------------------------------------

HINTED = '''
import numpy as np

# gradcheck: lookup_forward; ids=int(N, 5)<10; table=(10, 4)


def lookup_forward(ids, table):
    return table[ids], (ids, table.shape)


def lookup_backward(dout, cache):
    ids, shape = cache
    dtable = np.zeros(shape)
    np.add.at(dtable, ids, dout)
    return dtable


# gradcheck: Vocab(7, 3); tok=int(N, 6)
class Vocab:
    def __init__(self, n, d):
        self.E = np.random.randn(n, d)
        self.dE = None

    def forward(self, tok):
        self.tok = tok
        return self.E[tok]

    def backward(self, dout):
        self.dE = np.zeros_like(self.E)
        np.add.at(self.dE, self.tok, dout)


# gradcheck: Cell(3, 5); x=(N, 3); hx=(N, 5)
class Cell:
    def __init__(self, a, b):
        self.U, self.V = np.random.randn(a, b), np.random.randn(b, b)
        self.dU = self.dV = None

    def forward(self, x, hx):
        self.x, self.hx = x, hx
        self.h = np.tanh(x @ self.U + hx @ self.V)
        return self.h

    def backward(self, dh):
        d = dh * (1 - self.h ** 2)
        self.dU, self.dV = self.x.T @ d, self.hx.T @ d
        return d @ self.U.T, d @ self.V.T


# gradcheck: Cell2(3, 5); x=(N, 3); h=(N, 5)
class Cell2(Cell):
    pass


# gradcheck: seq_loss; x=(N, 3, 6); y=int(N, 3)<6; mask=mask(N, 3)
def seq_loss(x, y, mask):
    N = x.shape[0]
    z = x - x.max(-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    loss = -(np.take_along_axis(logp, y[..., None], -1)[..., 0] * mask).sum() / N
    dx = np.exp(logp)
    np.put_along_axis(dx, y[..., None], np.take_along_axis(dx, y[..., None], -1) - 1, -1)
    return loss, dx * mask[..., None] / N
'''


@pytest.fixture(scope="module")
def hinted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hinted")
    (folder / "hinted_seq.py").write_text(textwrap.dedent(HINTED))
    return collect([folder])


def test_hints_give_indices_params_and_several_inputs(hinted):
    found = {f.label: f for f in hinted.found}
    assert "ids: integers (N, 5) in [0, 10)" in found["hinted_seq.lookup"].how
    table = get("hinted_seq.lookup").build({}, np.random.default_rng(0), np.float64).params["table"]
    assert table.shape == (10, 4)
    assert "tok: integers (N, 6) in [0, 7)" in found["hinted_seq.Vocab"].how   # bound from E (7, 3)
    assert get("hinted_seq.Cell").input_shapes({}, 2) == ((2, 3), (2, 5))
    loss = get("hinted_seq.seq_loss")
    assert (loss.input_shapes({}, 2), loss.mask_target, loss.batch_rule) == (((2, 3, 6),), 1, "mean")
    for label in ("hinted_seq.lookup", "hinted_seq.Vocab", "hinted_seq.Cell", "hinted_seq.seq_loss"):
        assert found[label].entry.no_twin == "", found[label].how
        for prop in ("grads_tf", "grads_fd"):
            assert hunt(label, prop, max_examples=5, shrink=False) is None, (label, prop)


def test_a_hint_naming_an_input_the_forward_does_not_take_is_skipped_naming_the_line(hinted):
    reasons = {s.label: s.reason for s in hinted.skipped}
    line = textwrap.dedent(HINTED).splitlines().index("# gradcheck: Cell2(3, 5); x=(N, 3); h=(N, 5)") + 1
    assert reasons["hinted_seq.Cell2"] == (f"the hint on line {line} gives h, which Cell2's forward "
                                           "does not take; its inputs are x, hx")


@pytest.mark.parametrize("line,message", [
    ("# gradcheck: Emb(3); idx=int(N, 5)<0", "line 2: cannot read the hint .*K >= 1"),
    ("# gradcheck: Emb(3); idx=float(N, 5)", "line 2: cannot read the hint .*idx= takes a shape"),
    ("# gradcheck: Emb(3); m=mask(N, 5, 2)", "line 2: .*a \\(N, T\\) mask: two axes"),
    ("# gradcheck: Emb(3); x=(N, 2.5)", "line 2: .*sizes are N \\(the batch\\) or whole numbers"),
    ("# gradcheck: Emb(3); x=(N, 3)<4", "line 2: .*'<K' bounds integer indices only"),
    ("# gradcheck: Emb(3); x", "line 2: .*'x' is not key=value"),
    ("# gradcheck: Linear(); x=(N, ...)", "line 2: .*'\\.\\.\\.' is a placeholder .*put the size"),
    ("# gradcheck: Linear(n_in=..., n_out=3)", "line 2: .*placeholder .*replace each '...' with the value"),
])
def test_a_hint_that_does_not_parse_names_its_line(line, message):
    with pytest.raises(ValueError, match=message):
        read_hints("import numpy as np\n" + line + "\n")


def test_hint_grammar():
    hint = read_hints("# gradcheck: seq_loss; x=(N, 3, 6); y=int(N, 3)<6; mask=mask(N, 3)\n")["seq_loss"]
    assert hint.build == "" and hint.input_shape == ("N", 3, 6)
    assert [(k, a.kind, a.shape, a.bound) for k, a in hint.arrays] == [
        ("x", "float", ("N", 3, 6), 0), ("y", "int", ("N", 3), 6), ("mask", "mask", ("N", 3), 0)]
    legacy = read_hints("# gradcheck: Linear(3, 2); x=(N, 3); args=(NetWork(),)\n")["Linear"]
    assert (legacy.build, legacy.input_shape, legacy.args) == ("Linear(3, 2)", ("N", 3), "(NetWork(),)")


# ---- backward in training mode only --------------------------------------------------------

TRAINING_ONLY = '''
import numpy as np


class Dropout:
    """Inverted dropout whose inference forward wrongly divides by the keep probability too."""

    def __init__(self, keep_prob=0.5):
        self.keep_prob = keep_prob
        self.train = True

    def forward(self, x):
        if self.train:
            self.mask = (np.random.rand(*x.shape) < self.keep_prob) / self.keep_prob
            return x * self.mask
        return x / self.keep_prob              # BUG: inverted dropout is the identity at inference

    def backward(self, dout):
        return dout * self.mask                # no mask before a training forward
'''


def test_a_backward_for_training_only_still_gets_its_inference_forward_checked(tmp_path):
    (tmp_path / "training_only.py").write_text(textwrap.dedent(TRAINING_ONLY))
    (item,) = [i for i in collect([tmp_path]).found if "(" not in i.label]   # (not its p=0.8)
    entry = item.entry
    assert (entry.training_modes, entry.backward_modes) == ((True, False), (True,))
    assert "backward in training mode only" in item.how
    props = all_properties()
    assert props["forward_tf"].modes(entry) == (True, False)
    assert props["grads_tf"].modes(entry) == (True,)
    found = hunt(item.label, "forward_tf", max_examples=30)
    assert found is not None and {r.config["training"] for r in found.failures} == {False}
    assert {r.verdict for r in found.failures} == {"forward differs"}, found.failures[0].message()
    assert hunt(item.label, "grads_tf", max_examples=10, shrink=False) is None


def test_a_functional_pairs_wrong_returns_are_errors_naming_the_layer_and_tensors():
    from layers.functional import FunctionalLayer
    layer = FunctionalLayer(lambda x, h, W: (x @ W + h, x, None), lambda dh, dc, cache: (dh, dh),
                            {"W": np.ones((2, 2))}, inputs=("x", "h"), outputs=("h", "c"),
                            name="two_out")
    layer.forward(np.ones((1, 2)), np.ones((1, 2)))
    with pytest.raises(ValueError, match=r"two_out: <lambda> must return \(dx, dh, dW\), got 2 values"):
        layer.backward(np.ones((1, 2)), np.ones((1, 2)))
    with pytest.raises(TypeError, match=r"two_out: backward takes one upstream gradient per output"):
        layer.backward(np.ones((1, 2)))
    one = FunctionalLayer(lambda x, h, W: (x @ W + h, None), lambda dh, dc, cache: None,
                          {"W": np.ones((2, 2))}, inputs=("x", "h"), outputs=("h", "c"), name="lstm")
    with pytest.raises(ValueError, match=r"lstm: <lambda> must return \(h, c, cache\), got a tuple of 2"):
        one.forward(np.ones((1, 2)), np.ones((1, 2)))


def test_sequence_size_letters_are_built_without_a_hint():
    """D, H, V, T (and vocab_size, embed_dim) are sizes, as D and M always were."""
    from properties.user_build import constructor_args

    class Step:
        def __init__(self, D, H):
            pass

    class Lookup:
        def __init__(self, V, embed_dim, T):
            pass

    assert set(constructor_args(Step)) == {"D", "H"}
    assert set(constructor_args(Lookup)) == {"V", "embed_dim", "T"}
    assert all(isinstance(v, int) and v > 0 for v in constructor_args(Lookup).values())
