"""Check a user's own files: import them as written, discover what to check, register it.

``collect(paths)`` is what ``./harness check PATH...`` and a plain ``pytest``
run in the user's folder both start from. Layers are registered under names
like ``common.layers.Affine`` (the module as the user's code imports it, then
the class), with their file as the replay source, so every failure's replay
line re-imports that file and re-runs exactly that case, from any directory.
"""
import inspect
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from properties.discover import discover
from properties.discover_functions import pair_base
from properties.registry import PLANTED, register
from properties.user_hints import read_hints
from properties.user_entry import Skipped
from properties.user_import import ImportProblem, import_file, module_name, python_files

SOURCE = "user:"          # registry sources of user entries: "user:/abs/path/file.py"


@dataclass
class Collected:
    found: list = field(default_factory=list)       # discover.Found
    skipped: list = field(default_factory=list)     # discover.Skipped
    problems: list = field(default_factory=list)    # user_import.ImportProblem
    files: list = field(default_factory=list)


class UsageError(Exception):
    """A path that does not exist or holds no Python file: exit status 2."""


def collect(paths):
    """Everything to check in ``paths`` (files or folders), each layer registered."""
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        raise UsageError(f"no such file or folder: {', '.join(map(str, missing))}")
    out = Collected(files=[str(f) for f in python_files(paths)])
    if not out.files:
        raise UsageError(f"no Python files in {', '.join(map(str, paths))}")
    for path in out.files:
        collect_file(path, out)
    return out


def collect_file(path, out):
    bad = []
    hints = read_hints(Path(path).read_text(encoding="utf-8", errors="replace"), bad)
    for name, line, message in bad:
        about = f"{name} is checked as if the hint were not there" if name else (
            "it names no class or function: a hint starts with the name of the one it is for, "
            "then its inputs, e.g. '# gradcheck: Linear(3, 2); x=(N, 3)' or '# gradcheck: "
            "relu_forward; x=(N, 4)'")
        out.problems.append(ImportProblem(path, f"{path}:{line}", f"{message} ({about}; the rest "
                                          f"of the file as usual)", kind="a hint that cannot be read"))
    loaded = import_file(path)
    if isinstance(loaded, ImportProblem):
        out.problems.append(loaded)
        return
    prefix = module_name(path)[1] + "."
    with np.errstate(all="ignore"):   # probing a layer on guessed inputs: the checks say what
        found = discover(loaded.module, path, hints, prefix)   # its NaN and overflow mean
    taken = {f.label for f in out.found}
    for item in found.found:
        label, n = item.label, 1
        while label in taken or (label in PLANTED and PLANTED[label].source != path):
            n += 1
            label = f"{item.label}@{n}"     # same module name in another folder
        if label != item.label:
            item = replace(item, label=label,
                           entry=replace(item.entry, name=label) if item.entry else None)
        if item.entry is not None:
            register(item.entry, planted=SOURCE + path)
        out.found.append(item)
    out.skipped.extend(found.skipped)
    if found.found or found.skipped:     # (a file of none of them says so below, as a whole)
        out.skipped.extend(_unlisted_learners(loaded.module, path, prefix, found))
    _unused_hints(path, hints, prefix, found, out)
    if not found.found and not found.skipped and not any(p.path == path for p in out.problems):
        defined = _defined(loaded.module)
        if defined:     # (a file of constants or imports only says nothing)
            out.skipped.append(Skipped(prefix[:-1], path, NOTHING_FOUND.format(
                defined=", ".join(defined)),
                unchecked=False))


# A file whose classes and functions the harness recognised none of: listed, so a folder run
# does not pass over a model or an update rule written in a form it does not know.
NOTHING_FOUND = ("nothing recognised to check among {defined}: no layer (forward and backward), "
                 "functional pair (X_forward with X_backward), loss function, cost function "
                 "(returning (cost, grad), or beside its gradient function), network (loss "
                 "and gradient, or a loss(X, y) returning (loss, grads)) or optimizer (update, "
                 "step, or a rule(w, dw, config)); the README's 'Check your own code' lists the "
                 "forms it drives, and a hint naming a function (# gradcheck: costFunction; "
                 "theta=(3,); X=(N, 3)) makes it one to check")


def _defined(module):
    """The public classes and functions ``module`` defines itself."""
    return [n for n, v in vars(module).items() if not n.startswith("_")
            and (inspect.isclass(v) or inspect.isfunction(v))
            and getattr(v, "__module__", None) == module.__name__]


# the methods of a class that learns: a backward pass of its own (not checked: it counts as
# code left unchecked), or a training step or loop, maybe over layers checked one by one
# (listed, not counted)
BACKWARD = re.compile(r"back_?prop\w*|backward(_pass)?|bprop", re.I)
LEARNING = re.compile(r"train\w*|fit|update\w*|learn\w*|step|sgd\w*", re.I)


def _unlisted_learners(module, path, prefix, found):
    """Skips for the classes of ``module`` that learn (a method named as a training step or a
    backward pass: ``back_propagate(case, label, learn, correct)``) but that nothing found or
    skipped names: beside a recognised helper (a sigmoid and its derivative), a classic
    ``BPNeuralNetwork`` was passed over without a word."""
    named = {x.label[len(prefix):].split("(")[0].split("@")[0].split(".")[0]
             for x in (*found.found, *found.skipped)}
    for name, cls in vars(module).items():
        if not inspect.isclass(cls) or getattr(cls, "__module__", None) != module.__name__ or \
                name.startswith("_") or name in named:
            continue
        methods = [m for m, v in vars(cls).items()
                   if inspect.isfunction(v) and not m.startswith("_")]
        own = any(BACKWARD.fullmatch(m) for m in methods)
        if own or any(LEARNING.fullmatch(m) for m in methods):
            yield Skipped(prefix + name, path, f"{name} (methods {', '.join(methods)}) is in no "
                          f"form the harness drives: " + NOTHING_FOUND.split(": ", 1)[1],
                          unchecked=own)


def _unused_hints(path, hints, prefix, found, out):
    """A hint naming nothing the harness found in the file (a typo, a pair whose backward is
    named apart) is a failing finding naming its line: it was silently ignored."""
    seen = {x.label[len(prefix):].split("(")[0] for x in (*found.found, *found.skipped)}
    for name, hint in hints.items():     # a pair's hint names its forward or the pair's base
        if name not in seen and pair_base(name) not in seen:
            out.problems.append(ImportProblem(path, f"{path}:{hint.line}", (
                f"the hint names {name}, but no layer, functional pair (X_forward with "
                f"X_backward, or X_fwd with X_bwd, beside it, or X_loss), network or optimizer of that name was found "
                f"in this file: nothing was checked for it"), kind="a hint that names nothing"))

