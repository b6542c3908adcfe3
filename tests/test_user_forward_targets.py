"""A class's forward requiring arguments no name says are data (a distillation loss's
``forward(student_logits, teacher_logits, labels)``, a CRF's ``forward(emissions, tags)``):
they were taken for params and never passed, the forward raised on every shape, and a hint
naming them was refused ("the forward does not take them"). A class keeps its params as
attributes: every argument its forward requires is now data, the others not differentiated.
And a count named ``num_tags`` is a size its constructor is built with."""
from properties.search import hunt
from properties.user_build import constructor_args
from properties.user_targets import method_roles
from tests.owncode_loading import collect_source, hunt_alone

DISTILL = '''
import numpy as np


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


class Distill:
    def __init__(self, T=3.0):
        self.T = T

    def forward(self, student_logits, teacher_logits, labels):
        T, N = self.T, len(student_logits)
        p_t, log_s = _softmax(teacher_logits / T), np.log(_softmax(student_logits / T))
        log_p = np.log(_softmax(student_logits))
        self.cache = (student_logits, p_t, labels)
        return T * T * np.sum(p_t * (np.log(p_t) - log_s)) / N - log_p[np.arange(N), labels].mean()

    def backward(self):
        s, p_t, labels = self.cache
        T, N = self.T, len(s)
        hard = _softmax(s)
        hard[np.arange(N), labels] -= 1
        return (_softmax(s / T) - p_t) / T / N * {squared} + hard / N
'''


def test_every_argument_a_forward_requires_is_passed():
    namespace = {}
    exec(DISTILL, namespace)
    inputs, targets, _ = method_roles(namespace["Distill"])
    assert inputs == ("student_logits",) and targets == ("teacher_logits", "labels")

    class Dropout:        # a training flag it requires is set as one, not drawn as data
        def forward(self, inputs, training): ...
        def backward(self, dvalues): ...
    assert method_roles(Dropout)[:2] == (("inputs",), ())


def test_a_distillation_loss_is_checked_and_its_missing_t_squared_caught(tmp_path):
    (tmp_path / "ok").mkdir()
    found, _ = collect_source(tmp_path / "ok", "distill.py", DISTILL.replace("{squared}", "T * T"))
    (label,) = [k for k in found if "(" not in k]     # (options changed: apart)
    assert hunt(label, "grads_fd", max_examples=10, shrink=False) is None
    (tmp_path / "bug").mkdir()
    found, _ = collect_source(tmp_path / "bug", "distill_bug.py", DISTILL.replace("{squared}", "1"))
    (label,) = [k for k in found if "(" not in k]     # (options changed: apart)
    failed = hunt(label, "grads_fd", max_examples=10)
    assert failed is not None and failed.failures[0].tensor == "dstudent_logits"


def test_a_teachers_logits_are_drawn_as_reals_and_said_so(tmp_path):
    """They were drawn as one-hot rows (the first kind a loss's targets take that ran): a
    teacher sure of one class in every row, and a summary line that did not say so."""
    import numpy as np
    (tmp_path / "ok").mkdir()
    found, _ = collect_source(tmp_path / "ok", "distill.py", DISTILL.replace("{squared}", "T * T"))
    (label,) = [k for k in found if "(" not in k]     # (options changed: apart)
    assert "teacher_logits: floats shaped like the input" in found[label].how, found[label].how
    teacher, labels = found[label].entry.targets({}, 4, np.random.default_rng(0), np.float64)
    assert teacher.dtype == np.float64 and teacher.shape[0] == 4 and teacher.ndim == 2
    assert not np.all(np.isin(teacher, (0.0, 1.0))), teacher
    assert labels.dtype.kind == "i" and labels.shape == (4,)


def test_a_count_of_anything_is_a_size():
    class CRF:
        def __init__(self, num_tags, n_labels, seed=0):
            pass
    kwargs = constructor_args(CRF)
    assert isinstance(kwargs["num_tags"], int) and isinstance(kwargs["n_labels"], int)

    class AutoInt:         # a width named d_, as a transformer's are
        def __init__(self, d_in, d_att, seed=0):
            pass
    assert isinstance(constructor_args(AutoInt)["d_att"], int)

    class RotaryEmbedding:        # RoPE rotates pairs: its suggested hint said head_dim=3
        def __init__(self, head_dim, base=10000.0):
            pass
    assert constructor_args(RotaryEmbedding)["head_dim"] % 2 == 0


ROI = '''
# gradcheck: BoxSum(); feat=(N, 3, 5); args=(np.array([[0, 1, 3], [0, 0, 2]]),)
import numpy as np


class BoxSum:
    """Sums each box's columns [lo, hi) of its sample: boxes (B, 3) of (sample, lo, hi)."""

    def forward(self, feat, boxes):
        self.shape, self.boxes = feat.shape, boxes
        return np.stack([feat[n, :, lo:hi].sum(axis=1) for n, lo, hi in boxes])

    def backward(self, dout):
        dfeat = np.zeros(self.shape)
        for (n, lo, hi), d in zip(self.boxes, dout):
            dfeat[n, :, lo:hi] {op} d[:, None]
        return dfeat
'''


def test_a_hints_args_are_a_classs_last_forward_arguments(tmp_path):
    """README: ``args=(...)`` the forward's arguments after its inputs. For a class they were
    dropped: its forward raised for want of them, and that was reported as the user's code
    raising (in the harness's own file)."""
    (tmp_path / "ok").mkdir()
    found, _ = collect_source(tmp_path / "ok", "boxes.py", ROI.replace("{op}", "+="))
    (label,) = [k for k in found if "(" not in k]     # (options changed: apart)
    assert "from the hint: feat=(N, 3, 5)" in found[label].how
    for prop in ("grads_fd", "no_mutation"):
        assert hunt(label, prop, max_examples=10, shrink=False) is None, prop
    (tmp_path / "bug").mkdir()       # the two boxes share column 1: = loses one
    found, _ = collect_source(tmp_path / "bug", "boxes_bug.py", ROI.replace("{op}", "="))
    (label,) = [k for k in found if "(" not in k]     # (options changed: apart)
    failed = hunt(label, "grads_fd", max_examples=10)
    assert failed is not None and failed.failures[0].tensor == "dfeat"


def test_a_call_the_harness_got_wrong_is_no_exception_of_the_users():
    """The harness calling forward without an argument it requires raised a TypeError in its
    own code, reported as "layer raised" at the harness's own file; a TypeError the layer's
    own code raises stays the layer's."""
    from properties.contract import LayerContractError, call

    def forward(x, labels):
        return x

    def forward_calling_wrong(x):
        return forward(x)            # the user's own slip

    for fn, verdict in ((forward, "harness error"), (forward_calling_wrong, "layer raised")):
        try:
            call("L", "forward", fn, 1.0)
        except LayerContractError as exc:
            assert exc.verdict == verdict, (fn.__name__, exc.verdict)
        else:
            raise AssertionError("no error")


NOISY = '''
import numpy as np


class NoisyCode:
    """loss = 0.5 * |x @ W + eps|^2 / N, eps drawn by the layer unless given."""

    def __init__(self, n_in, n_code):
        self.rng = np.random.default_rng(0)
        self.W = self.rng.standard_normal((n_in, n_code))
        self.dW = np.zeros_like(self.W)

    def forward(self, x, eps=None):
        if eps is None:
            eps = self.rng.standard_normal((len(x), self.W.shape[1])).astype(x.dtype)
        self.x, self.z = x, x @ self.W + eps
        return 0.5 * np.sum(self.z ** 2) / len(x)

    def backward(self):
        self.dW = self.x.T @ self.z / len(self.x)
        return self.z @ self.W.T / len(self.x)
'''


def test_an_optional_argument_named_as_no_target_is_left_to_the_layer(tmp_path):
    """A loss whose forward takes ``eps=None`` after x was handed one-hot "labels" there
    (they fitted its noise's shape once labels indexed its weights' columns)."""
    from properties.cases import Case
    (tmp_path / "noisy").mkdir()
    found, _ = collect_source(tmp_path / "noisy", "noisy.py", NOISY)
    (label,) = [k for k in found if "(" not in k]     # (options changed: apart)
    case = Case(layer=label, config={}, dtype="float64", batch=2, kind="normal", seed=0)
    assert case.targets() == ()
    assert hunt(label, "grads_fd", max_examples=5, shrink=False) is None


def test_a_loss_function_it_cannot_call_gets_a_hint_to_add(tmp_path):
    """A CTC loss over one utterance whose labels are a shorter list: "could not call it",
    and no hint was suggested, unlike every other skip."""
    from tests.owncode_loading import collect_untouched
    (tmp_path / "seq_loss.py").write_text('''
import numpy as np


def seq_loss(logits, labels):
    """logits (T, K); labels a list shorter than T."""
    if len(labels) >= len(logits):
        raise ValueError("labels longer than the sequence")
    return float(np.sum(logits[np.arange(len(labels)), labels])), np.zeros_like(logits)
''')
    (skip,) = collect_untouched(tmp_path).skipped
    assert skip.unchecked and "# gradcheck: seq_loss; logits=(N, ...); labels=int(N)<K" in \
        skip.reason, skip.reason


SHIFT = '''
# gradcheck: shift_forward; x=(N, 4); offset=(N, 1){ids}
import numpy as np


def shift_forward(x, offset{ids_arg}):
    """Each row moved by its own offset (a per-sample input, as a transformer's theta)."""
    return x + offset{ids_use}, (x, offset)


def shift_backward(dout, cache):
    return dout, dout.sum(axis=1, keepdims=True) * {scale}
'''


def test_a_functional_pairs_argument_the_hint_gives_a_batch_is_data(tmp_path):
    """``theta=(N, 2, 3)`` for ``stn_forward(x, theta)`` was refused ("theta is a parameter:
    give its shape"), and ``switches=int(N, ...)`` too: the per-sample input's gradient was
    never checked. Given with N it is an input, its gradient checked; as integers, a target."""
    cases = (("shift", "1", "", "", "", True), ("shift_bug", "2", "", "", "", False),
             ("shift_ids", "1", "; ids=int(N)<3", ", ids", " + 0 * ids[:, None]", True))
    for name, scale, ids, arg, use, passes in cases:
        source = SHIFT.replace("{scale}", scale).replace("{ids}", ids).replace(
            "{ids_arg}", arg).replace("{ids_use}", use)
        item, failed = hunt_alone(tmp_path, name, source)
        assert "offset=(N, 1)" in item.how, item.how
        assert (failed is None) is passes, name
        if failed is not None:
            assert {r.tensor for r in failed.failures} == {"doffset"}


def test_a_hints_x_is_the_first_input_whatever_the_forward_names_it():
    """README's hints all write ``x=``; a forward naming its input ``inputs`` refused it as an
    input it does not take."""
    from properties.user_hinted import spec_from_hint
    from properties.user_hints import read_hints
    hint = read_hints("# gradcheck: PReLU(3); x=(N, 4, 5, 3)\n")["PReLU"]
    spec = spec_from_hint(hint, ("inputs",), label="PReLU")
    assert spec.inputs == (("N", 4, 5, 3),) and "inputs=(N, 4, 5, 3)" in spec.how
