"""Load the users' files in tests/owncode_corpus by path, and check adapted layers with finite differences.

Corpus files are loaded under unique module names, so a user's ``layers.py``
never shadows the project's ``layers`` package. ``fd_results`` is the float64
finite-difference oracle applied to any protocol layer (an adapter included).
"""
import contextlib
import copy
import importlib.util
import os
import sys
from pathlib import Path

import numpy as np

from oracle.compare import compare
from oracle.finite_diff import fd_vjp

CORPUS = Path(__file__).parent / "owncode_corpus"


def listing(folder):
    """Every file and folder under ``folder``, relative and sorted (to see nothing was written)."""
    return sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*"))


def collect_source(folder, filename, source):
    """Write ``source`` (dedented) as the user's ``filename`` in ``folder`` and collect that
    folder, asserting nothing else was written into it: {label: Found}, and the Collected."""
    import textwrap
    (Path(folder) / filename).write_text(textwrap.dedent(source))
    found = collect_untouched(folder)
    return {f.label: f for f in found.found}, found


def hunt_alone(tmp_path, name, source, prop="grads_fd", max_examples=10):
    """The one thing ``source`` defines, collected from a folder of its own (``tmp_path /
    name``), and ``prop`` hunted on it: (its Found, the failure found or None)."""
    from properties.search import hunt
    (tmp_path / name).mkdir()
    found, _ = collect_source(tmp_path / name, f"{name}.py", source)
    (item,) = [f for label, f in found.items() if "(" not in label]   # (options changed: apart)
    return item, hunt(item.label, prop, max_examples=max_examples)


def collect_untouched(folder):
    """``properties.owncode.collect([folder])``, asserting it wrote nothing into the folder."""
    from properties.owncode import collect
    before = listing(folder)
    found = collect([folder])
    assert listing(folder) == before, "checking wrote into the user's folder"
    return found


def assert_caught(label, prop, verdict, result_log):
    """``prop`` catches the user's buggy ``label`` (with ``verdict`` among the failures' when
    given), and the failure's replay line re-imports the user's file."""
    from properties.search import hunt
    found = hunt(label, prop, max_examples=30)
    assert found is not None, f"{prop} did not catch {label}"
    result_log.add(found.failures)
    if verdict is not None:
        assert verdict in {r.verdict for r in found.failures}, found.failures[0].message()
    assert "harness replay --check " in found.failures[0].reproduce


def load(relpath, name=None):
    """The module at ``owncode_corpus/relpath``, imported under a unique name."""
    path = CORPUS / relpath
    name = name or "owncode_corpus_" + relpath.replace("/", "_").removesuffix(".py")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def run_from(folder):
    """Run as the author does: cwd = ``folder``; their ``common`` package found through sys.path."""
    cwd, path = os.getcwd(), list(sys.path)
    saved = {k: v for k, v in sys.modules.items() if k == "common" or k.startswith("common.")}
    for k in saved:
        del sys.modules[k]
    os.chdir(CORPUS / folder)
    try:
        yield
    finally:
        os.chdir(cwd)
        sys.path[:] = path
        for k in [k for k in sys.modules if k == "common" or k.startswith("common.")]:
            del sys.modules[k]
        sys.modules.update(saved)


def fd_results(layer, x, dout, *, targets=(), seed=0, label=None):
    """Results for dx and every param grad of ``layer`` against float64 finite differences.

    The layer is run once (forward, backward); finite differences evaluate deep
    copies of a snapshot taken before, with float64 params set through ``params``.
    """
    snapshot = copy.deepcopy(layer)
    out = layer.forward(x, *targets)
    dx = layer.backward(dout)
    grads = {k: np.array(v, copy=True) for k, v in layer.grads.items()}

    def fn(arrays):
        lay = copy.deepcopy(snapshot)
        for k in list(lay.params):
            lay.params[k] = arrays[k]
        return lay.forward(arrays["x"], *targets)

    point = {"x": np.asarray(x, np.float64),
             **{k: np.asarray(v, np.float64) for k, v in snapshot.params.items()}}
    fd = fd_vjp(fn, point, dout, rng=np.random.default_rng(seed))
    label = label or type(layer).__name__
    results = []
    for name, got in [("x", dx), *grads.items()]:
        fdg = fd[name]
        results.append(compare(fdg.project(got), fdg.values, layer=label, prop="grads_fd",
                               tensor="d" + name, oracle="fd", dtype="float64",
                               excused=fdg.excused, mode=fdg.mode))
    return out, results
