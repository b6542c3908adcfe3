"""``./harness check PATH`` as a new user runs it: a folder of their own, outside the project."""
import os
import shlex
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from properties.user_entry import NO_TWIN
from tests.owncode_loading import listing
from tests.test_owncode_sequence import FOUND, SEQUENCE

HARNESS = Path(__file__).resolve().parent.parent / "harness"

CORRECT = '''
import numpy as np


class Relu:
    def __init__(self):
        self.mask = None

    def forward(self, x):
        self.mask = x <= 0
        out = x.copy()
        out[self.mask] = 0
        return out

    def backward(self, dout):
        dx = dout.copy()
        dx[self.mask] = 0
        return dx
'''
BUGGY = '''
import numpy as np


class Affine:
    """x: (N, D); W: (D, M)."""

    def __init__(self, W, b):
        self.W, self.b = W, b

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, dout):
        self.dW = dout.T @ self.x          # transposed: should be x.T @ dout
        self.db = dout.sum(axis=0)
        return dout @ self.W.T
'''
OWN_LAYERS = '''
import numpy as np


class Sigmoid:
    def forward(self, x):
        self.out = 1 / (1 + np.exp(-x))
        return self.out

    def backward(self, dout):
        return dout * self.out * (1 - self.out)
'''


def check(*args, cwd):
    return subprocess.run([str(HARNESS), "check", *args, "--hypothesis-profile=ci"], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


# Each ./harness check is a fresh interpreter (TF's import alone is seconds): the folder is
# checked once, and the tests below read that one run (kept on one xdist worker: conftest.py).


def make_user_folder(parent):
    folder = parent / "my_project"
    folder.mkdir()
    (folder / "relu.py").write_text(textwrap.dedent(CORRECT))
    (folder / "affine.py").write_text(textwrap.dedent(BUGGY))
    (folder / "layers.py").write_text(textwrap.dedent(OWN_LAYERS))   # the project has a `layers` too
    (folder / "broken.py").write_text("import numpy as np\ndef f(:\n    pass\n")
    # correct sequence classes (cells with two outputs, an embedding taking integer indices);
    # every corpus file, buggy ones too, is checked in-process in tests/test_owncode_sequence.py
    shutil.copy(SEQUENCE / "seq_classes.py", folder / "seq_classes.py")
    return folder


@pytest.fixture(scope="module")
def folder_run(tmp_path_factory):
    """(the user's folder, its listing before, the finished ``./harness check my_project``)."""
    folder = make_user_folder(tmp_path_factory.mktemp("user"))
    before = listing(folder)
    return folder, before, check("my_project", cwd=folder.parent)


@pytest.mark.slow
def test_a_users_folder_is_checked_and_nothing_is_written_into_it(folder_run):
    user_folder, before, run = folder_run
    out = run.stdout + run.stderr
    assert run.returncode == 1, out
    assert listing(user_folder) == before, "the check wrote into the user's folder"
    assert "broken.py:2: cannot import: SyntaxError" in out          # named, and the rest checked
    progress = {line.split()[0]: line for line in out.splitlines() if " style; " in line}
    sequence = {label for label in FOUND if label.startswith("seq_classes.")}
    assert set(progress) == {"relu.Relu", "affine.Affine", "layers.Sigmoid"} | sequence, out
    assert len(sequence) >= 3
    assert "FAILED" in progress["affine.Affine"] and "FAILED" not in progress["relu.Relu"]
    for label in ["layers.Sigmoid", *sequence]:   # found with its twin, and passing
        assert "FAILED" not in progress[label] and NO_TWIN not in progress[label], progress[label]
    assert "returns (next_h, next_c)" in progress["seq_classes.LSTMCell"]
    assert "affine.Affine [grads_tf] dW vs TF: FAIL" in out and "verdict: layer bug" in out
    assert "report: " in out and "gradient checks" in out
    # the results reached the report's plugin: its layer-by-property matrix has the user's rows
    matrix = {line.split()[0]: line for line in out.split("gradient checks", 1)[1].splitlines()
              if line.strip()}
    assert "FAIL" in matrix["affine.Affine"] and "ok" in matrix["relu.Relu"], out
    assert "FAIL" not in matrix["relu.Relu"]


@pytest.mark.slow
def test_the_printed_replay_line_works_from_any_directory(folder_run, tmp_path):
    user_folder, before, run = folder_run
    line = next(l.split("reproduce: ", 1)[1] for l in run.stdout.splitlines()
                if "reproduce: " in l and "affine.py" in l)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    replay = subprocess.run(shlex.split(line), cwd=elsewhere, capture_output=True, text=True,
                            timeout=300)
    assert replay.returncode == 1, replay.stdout + replay.stderr
    assert ": FAIL" in replay.stdout and "affine.Affine" in replay.stdout
    assert listing(user_folder) == before and os.listdir(elsewhere) == []


@pytest.mark.slow
def test_exit_status_is_zero_when_everything_passes(tmp_path):
    """A file of correct layers, checked from another folder: exit 0, nothing written anywhere."""
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "relu.py").write_text(textwrap.dedent(CORRECT))
    before = listing(folder)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run = check(str(folder / "relu.py"), cwd=elsewhere)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    assert listing(folder) == before, "the check wrote into the user's folder"
    assert os.listdir(elsewhere) == []
    (line,) = [line for line in out.splitlines() if " style; " in line]
    assert line.startswith("relu.Relu ") and "passed" in line and "FAILED" not in line, out
    assert "report: " in out


def test_a_missing_path_is_a_usage_error(tmp_path):
    run = check("no_such_folder", cwd=tmp_path)
    assert run.returncode == 2
    assert "no such file or folder" in run.stderr and "no_such_folder" in run.stderr
    assert os.listdir(tmp_path) == []


UNCHECKABLE = '''
import numpy as np


class Mystery:
    """Its constructor takes arrays the harness cannot guess: it is found, and not checked."""

    def __init__(self, a, b, c):
        self.a = a

    def forward(self, x):
        return x * self.a.sum()

    def backward(self, dout):
        return dout


class Loader:
    """No backward: nothing to check, and not counted as unchecked."""

    def forward(self, x):
        return x
'''


def test_found_code_that_could_not_be_checked_is_not_a_pass(tmp_path):
    """Nothing failed, but a layer was found and not checked: exit status 3 and a line naming
    it (it exited 0, and a user took the run for a pass); a class with no backward at all is
    listed as skipped and does not count."""
    (tmp_path / "odd.py").write_text(textwrap.dedent(UNCHECKABLE))
    run = check("odd.py", cwd=tmp_path)
    assert run.returncode == 3, run.stdout + run.stderr
    assert "1 found could not be checked: odd.Mystery " in run.stderr and "not a pass" in run.stderr
    assert "odd.Loader" in run.stdout and "there is no gradient to check" in run.stdout
