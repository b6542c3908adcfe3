"""Discovering a user's code as written: a hint that cannot be read, a params-dict layer with
several inputs, a backward written for training asked after an inference forward."""
import textwrap
from dataclasses import replace

import numpy as np

from properties.battery import all_properties
from properties.cases import Case
from properties.owncode import collect
from properties.search import hunt
from properties.user_hints import read_hints


SQUARE_FILE = textwrap.dedent("""
        import numpy as np

        # gradcheck: Scale(); x=(N, ...)
        class Scale:
            def __init__(self, n=3):
                self.gain = np.linspace(0.5, 1.5, n)

            def forward(self, x):
                self.x = x
                return x * self.gain

            def backward(self, dout):
                self.grad_gain = (dout * self.x).sum(axis=0)
                return dout * self.gain


        class Square:
            def forward(self, x):
                self.x = x
                return x * x

            def backward(self, dout):
                return 2 * self.x * dout
        """)


def test_an_unreadable_hint_leaves_the_rest_of_the_file_checked(tmp_path):
    """The suggested hint pasted with its placeholders: that hint is a failing finding naming
    its line; its layer is checked as if it were not there, and so is the rest of the file."""
    (tmp_path / "mine.py").write_text(SQUARE_FILE)
    found = collect([tmp_path])
    (problem,) = found.problems
    assert problem.where.endswith("mine.py:4") and problem.kind == "a hint that cannot be read"
    assert "placeholder" in problem.text() and "Scale is checked as if" in problem.text()
    assert {f.label for f in found.found} == {"mine.Scale", "mine.Square"}
    bad = []
    assert read_hints("# gradcheck: Scale(); x=(N, ...)\n# gradcheck: skip Other\n", bad) == {
        "Other": read_hints("\n# gradcheck: skip Other\n")["Other"]}
    assert [(name, line) for name, line, _ in bad] == [("Scale", 1)]


def test_a_hint_naming_nothing_is_a_hint_finding_and_the_file_is_checked(tmp_path):
    """A hint of inputs alone ('x=(2, N); t=int(N)<2'): which function it is for cannot be
    told. It stopped the whole file ('nothing in this file was checked'); now it is a hint
    finding saying a hint starts with a name, and the rest of the file is checked."""
    square = SQUARE_FILE.split("class Square:", 1)[1]      # the layer the file above ends with
    (tmp_path / "hintless.py").write_text("import numpy as np\n# gradcheck: x=(2, N); t=int(N)<2"
                                          "\n\n\nclass Square:" + square)
    found = collect([tmp_path])
    (problem,) = found.problems
    assert problem.where.endswith("hintless.py:2") and problem.kind == "a hint that cannot be read"
    assert "names no class or function" in problem.text() and "rest of the file" in problem.text()
    assert {f.label for f in found.found} == {"hintless.Square"}


def test_nothing_recognised_names_every_class_and_function(tmp_path):
    names = [f"step_{i}" for i in range(7)]
    (tmp_path / "many.py").write_text("".join(f"def {n}(a, b, c, d, e, f):\n    return a\n\n\n"
                                              for n in names))
    (skip,) = collect([tmp_path]).skipped
    assert skip.reason.startswith("nothing recognised") and all(n in skip.reason for n in names)


BATCH_FORMULA_ALWAYS = '''
import numpy as np


class BatchNorm1d:
    """Batch statistics in training, running ones in inference; the backward always uses the
    batch-statistics formula (right only after a training forward)."""

    def __init__(self, d=3):
        self.gamma, self.beta = np.ones(d), np.zeros(d)
        self.running_mean, self.running_var = np.zeros(d), np.ones(d)
        self.training = True

    def forward(self, x):
        if self.training:
            mu, var = x.mean(axis=0), x.var(axis=0)
        else:
            mu, var = self.running_mean, self.running_var
        self.inv = 1.0 / np.sqrt(var + 1e-5)
        self.xhat = (x - mu) * self.inv
        return self.gamma * self.xhat + self.beta

    def backward(self, dout):
        n = dout.shape[0]
        self.dbeta = dout.sum(axis=0)
        self.dgamma = (dout * self.xhat).sum(axis=0)
        dxhat = dout * self.gamma
        return self.inv / n * (n * dxhat - dxhat.sum(axis=0) - self.xhat * (dxhat * self.xhat).sum(axis=0))
'''


def test_a_failure_after_an_inference_forward_says_so(tmp_path):
    """A backward written for training, asked after an inference forward: its failure says the
    forward ran in inference mode and how a training-only backward can say it is one."""
    (tmp_path / "bn.py").write_text(textwrap.dedent(BATCH_FORMULA_ALWAYS))
    (item,) = collect([tmp_path]).found
    found = hunt(item.label, "grads_tf", max_examples=30)
    assert found is not None and {r.config["training"] for r in found.failures} == {False}
    for r in found.failures:
        assert "in inference mode (training=False)" in r.note and "raising" in r.note
    passing = all_properties()["grads_tf"].fn(replace(found.case, training=True))
    assert all(r.passed and "inference mode" not in r.note for r in passing)


PROTOCOL_CELL = '''
import numpy as np


class Cell:
    def __init__(self, input_size, hidden_size):
        g = np.random.default_rng(1)
        self.params = {"Wx": g.standard_normal((input_size, hidden_size)) * 0.3,
                       "Wh": g.standard_normal((hidden_size, hidden_size)) * 0.3,
                       "b": np.zeros(hidden_size)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def forward(self, x, h_prev):
        self.x, self.h_prev = x, h_prev
        self.h = np.tanh(x @ self.params["Wx"] + h_prev @ self.params["Wh"] + self.params["b"])
        return self.h

    def backward(self, dh):
        da = dh * (1 - self.h ** 2)
        self.grads.update(Wx=self.x.T @ da, Wh=self.h_prev.T @ da, b=da.sum(axis=0))
        return da @ self.params["Wx"].T, da @ self.params["Wh"].T
'''


def test_a_params_dict_cell_taking_two_inputs_is_sized_from_its_weights(tmp_path):
    """A protocol-style layer (params / grads dicts) whose forward takes (x, h_prev): its inputs
    are read off the forward, as for any other style, and sized from Wx and Wh."""
    (tmp_path / "proto.py").write_text(textwrap.dedent(PROTOCOL_CELL))
    found = collect([tmp_path])
    (item,) = found.found
    assert item.style == "protocol" and "h_prev (N, 2) from Wx (3, 2), Wh (2, 2)" in item.how
    assert "rnn step" in item.how and not found.skipped
    results = all_properties()["grads_tf"].fn(Case(layer=item.label, config={}, dtype="float64",
                                                   batch=2, kind="normal", seed=3))
    assert {r.tensor for r in results} == {"dx", "dh_prev", "dWx", "dWh", "db"}
    assert all(r.passed for r in results), [r.message() for r in results if not r.passed]


def test_a_hint_giving_some_params_shapes_sizes_the_others_from_them(tmp_path):
    """A functional pair hinted with w alone: b is sized from w's axes (not left at a guess
    that makes the user's forward raise, which would blame their code); a hint with which
    nothing runs is a skip naming the hint's line."""
    (tmp_path / "pairs.py").write_text(textwrap.dedent('''
        import numpy as np

        # gradcheck: sq_forward; x=(N, 4); w=(4, 4)
        def sq_forward(x, w, b):
            return x @ w + b, (x, w)

        def sq_backward(dout, cache):
            x, w = cache
            return dout @ w.T, x.T @ dout, dout.sum(axis=0)

        # gradcheck: odd_forward; x=(N, 4); w=(5, 6)
        def odd_forward(x, w, b):
            return x @ w + b, (x, w)

        def odd_backward(dout, cache):
            x, w = cache
            return dout @ w.T, x.T @ dout, dout.sum(axis=0)

        # gradcheck: crash_forward; x=(N, 4); w=(4, 4); b=(4,)
        def crash_forward(x, w, b):
            return x @ w + b + undefined_name, (x, w)

        def crash_backward(dout, cache):
            x, w = cache
            return dout @ w.T, x.T @ dout, dout.sum(axis=0)
        '''))
    found = collect([tmp_path])
    item, crash = found.found
    # every shape given: used as given, and the layer's crash is its own failure, not a skip
    assert crash.label == "pairs.crash"
    assert hunt(crash.label, "grads_tf", max_examples=3, shrink=False).failures[0].verdict == \
        "layer raised"
    built = item.entry.build({}, np.random.default_rng(0), "float64")
    assert item.label == "pairs.sq" and {k: v.shape for k, v in built.params.items()} == \
        {"w": (4, 4), "b": (4,)}
    (skipped,) = found.skipped
    assert skipped.label == "pairs.odd_forward" and "the hint on line 12" in skipped.reason
    assert "give every parameter's shape" in skipped.reason


def test_a_string_padding_never_stops_the_check_of_a_folder(tmp_path):
    """Keras's padding="valid" / "same": read as no padding where a size is needed, and no
    twin reads "same"; whatever discovery makes of the class, the file's other layers are
    checked (a ValueError from reading "valid" as a size aborted the whole run)."""
    (tmp_path / "keras_like.py").write_text(textwrap.dedent('''
        import numpy as np

        class Conv:
            def __init__(self, padding="same", strides=1):
                self.W = np.ones((3, 2, 3, 3)) * 0.1
                self.b = np.zeros(3)
                self.padding, self.strides = padding, strides

            def forward(self, x):
                self.x = x
                return x[:, :1].repeat(3, axis=1) * self.W.sum() + self.b[:, None, None]

            def backward(self, dout):
                self.dW = np.full_like(self.W, (dout * self.x[:, :1]).sum())
                self.db = dout.sum(axis=(0, 2, 3))
                dx = np.zeros_like(self.x)
                dx[:, :1] = (dout * self.W.sum()).sum(axis=1, keepdims=True)
                return dx

        class Twice:
            def forward(self, x):
                return 2.0 * x

            def backward(self, dout):
                return 2.0 * dout
        '''))
    found = collect([tmp_path])
    labels = {f.label for f in found.found} | {s.label for s in found.skipped}
    assert {"keras_like.Conv", "keras_like.Twice"} <= labels
    assert "keras_like.Twice" in {f.label for f in found.found}


def test_a_harness_failure_on_one_class_is_a_skip_that_says_so(tmp_path, monkeypatch):
    import properties.discover as D
    real = D._class

    def broken(cls, *args, **kw):
        if cls.__name__ == "Bad":
            raise KeyError("oops")
        return real(cls, *args, **kw)
    monkeypatch.setattr(D, "_class", broken)
    (tmp_path / "two.py").write_text(textwrap.dedent('''
        class Bad:
            def forward(self, x):
                return x

            def backward(self, dout):
                return dout

        class Good(Bad):
            pass
        '''))
    found = collect([tmp_path])
    assert [f.label for f in found.found] == ["two.Good"]
    (skipped,) = found.skipped
    assert skipped.label == "two.Bad" and "the harness could not set it up (KeyError" in skipped.reason
    assert "not the layer's fault" in skipped.reason



def test_no_bytecode_lands_in_the_users_folder_even_where_python_writes_it(tmp_path, monkeypatch):
    """./harness turns bytecode on for its own modules (PYTHONDONTWRITEBYTECODE unset: the
    cache spares every interpreter about 2 s); a user's files, and the helpers they import,
    are still imported with it off, so no __pycache__ appears beside them."""
    import sys
    from tests.owncode_loading import listing
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    (tmp_path / "bytecode_helpers.py").write_text("def square(x):\n    return x * x\n")
    (tmp_path / "bytecode_mine.py").write_text(textwrap.dedent("""
        from bytecode_helpers import square

        class SquareNoCache:
            def forward(self, x):
                self.x = x
                return square(x)

            def backward(self, dout):
                return 2 * self.x * dout
        """))
    before = listing(tmp_path)
    found = {f.label for f in collect([tmp_path]).found}
    assert "bytecode_mine.SquareNoCache" in found     # a unique name: labels are per session
    assert hunt("bytecode_mine.SquareNoCache", "grads_fd", max_examples=3, shrink=False) is None
    assert listing(tmp_path) == before and not list(tmp_path.rglob("__pycache__"))


def test_a_library_a_users_file_imports_stays_loaded_and_the_users_own_module_goes(tmp_path):
    """Found with scipy: two files doing ``from scipy import special`` made the second one
    "cannot import: ImportError: cannot load module more than once per process", its C
    extension loaded again once the first file's import had been undone. A library loaded by a
    user's import now stays (a pure-Python one stands for it here), the user's module goes."""
    import sys
    from tests.owncode_loading import collect_untouched
    sys.modules.pop("wsgiref.validate", None)
    (tmp_path / "uses_lib.py").write_text("import wsgiref.validate\n\n\ndef helper():\n    return 1\n")
    collect_untouched(tmp_path)
    assert "wsgiref.validate" in sys.modules
    assert not any(getattr(m, "__file__", None) == str(tmp_path / "uses_lib.py")
                   for m in list(sys.modules.values()))
