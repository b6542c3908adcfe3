"""Import a user's files as their author runs them, without touching the project or their folder.

A file is imported the way ``python file.py`` would see it: its folder first on
``sys.path`` and as the working directory, so ``sys.path.append(os.pardir)``
and ``from common.layers import *`` work; a file inside a package (a folder
with ``__init__.py``) is imported as ``package.module`` from the package's
parent, as its siblings import it. Meanwhile the project's own top-level
packages (``layers``, ``oracle``, ``properties``, ``reports``) are taken out of
``sys.modules``, so a user's ``layers.py`` is the user's; afterwards the
user's modules are taken out again and the project's put back, so neither
shadows the other. The user's objects keep working: their functions hold their
own module globals. No bytecode is written (nothing lands in the user's
folder), and ``sys.path`` and the working directory are restored.

A file that does not import gives an :class:`ImportProblem` naming the file
and line; the other files are still imported.
"""
import contextlib
import importlib
import os
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from properties.global_rng import kept_global_rng

PROJECT_PACKAGES = ("layers", "oracle", "properties", "reports", "tests")
SKIP_DIRS = {"__pycache__", ".git", ".hg", ".venv", "venv", "env", "node_modules", "build",
             "dist", ".tox", ".mypy_cache", ".pytest_cache", ".hypothesis", "site-packages"}


@dataclass
class ImportProblem:
    path: str
    where: str       # "file:line" of the error in the user's code (or the file itself)
    message: str
    kind: str = "cannot import"

    def text(self):
        return f"{self.where}: {self.kind}: {self.message}"


@dataclass
class Loaded:
    path: str        # absolute file path
    module: object   # the user's module object


def python_files(paths):
    """The .py files under ``paths`` (files or folders), sorted; tests and hidden folders skipped."""
    found = []
    for p in paths:
        p = Path(p).resolve()
        if p.is_file():
            found.append(p)
            continue
        for f in sorted(p.rglob("*.py")):
            rel = f.relative_to(p).parts
            if any(part in SKIP_DIRS or part.startswith(".") for part in rel[:-1]):
                continue
            if f.name.startswith("test_") or f.name.endswith("_test.py") or f.name in (
                    "conftest.py", "setup.py"):
                continue
            found.append(f)
    return found


def module_name(path):
    """(the folder to put on sys.path, the dotted module name) for a file, as its siblings see it."""
    path = Path(path).resolve()
    parts = [path.stem]
    folder = path.parent
    while (folder / "__init__.py").exists() and folder.parent != folder:
        parts.insert(0, folder.name)
        folder = folder.parent
    if parts[-1] == "__init__":
        parts.pop()
    return folder, ".".join(parts)


@contextlib.contextmanager
def user_world(folder):
    """sys.path, cwd and sys.modules as the user's script sees them; everything restored after."""
    saved_path, saved_cwd = list(sys.path), os.getcwd()
    saved_bytecode = sys.dont_write_bytecode
    before = set(sys.modules)
    ours = {k: sys.modules.pop(k) for k in list(sys.modules)
            if k.split(".")[0] in PROJECT_PACKAGES}
    sys.path.insert(0, str(folder))
    sys.dont_write_bytecode = True
    importlib.invalidate_caches()
    try:
        os.chdir(folder)
        yield
    finally:
        os.chdir(saved_cwd)
        sys.path[:] = saved_path
        sys.dont_write_bytecode = saved_bytecode
        for k in list(sys.modules):     # the user's own modules go; a library they imported
            if k.split(".")[0] in PROJECT_PACKAGES or (   # stays (scipy's C extensions cannot
                    k not in before and _under(sys.modules[k], folder)):   # load twice)
                del sys.modules[k]
        sys.modules.update(ours)
        importlib.invalidate_caches()


def _under(module, folder):
    """Whether ``module`` was loaded from ``folder`` (a file of it, or a package's folder)."""
    root = os.path.join(os.path.abspath(folder), "")
    places = [getattr(module, "__file__", None) or "", *(getattr(module, "__path__", None) or [])]
    return any(os.path.abspath(p).startswith(root) for p in places if p)


def import_file(path):
    """Import one user file; returns :class:`Loaded` or :class:`ImportProblem`."""
    path = Path(path).resolve()
    folder, name = module_name(path)
    run_dir = path.parent
    with user_world(folder):
        if run_dir != folder:
            os.chdir(run_dir)          # a script inside a package still runs from its own folder
            sys.path.insert(1, str(run_dir))
        try:
            # NumPy's global state seeded for the import: a module-level model = {"W1":
            # np.random.randn(...)} is the same at every run (a reproduce line's too)
            with kept_global_rng():
                np.random.seed(0)
                module = importlib.import_module(name)
        except BaseException as exc:   # SyntaxError, ImportError, SystemExit from a script...
            if isinstance(exc, KeyboardInterrupt):
                raise
            return ImportProblem(str(path), _where(exc, path), f"{type(exc).__name__}: {exc}")
    if os.path.abspath(getattr(module, "__file__", "") or "") != str(path):
        return ImportProblem(str(path), str(path), f"importing it as {name!r} found "
                             f"{getattr(module, '__file__', None)} instead")
    return Loaded(str(path), module)


def _where(exc, path):
    if isinstance(exc, SyntaxError) and exc.filename:
        return f"{exc.filename}:{exc.lineno}"
    frames = traceback.extract_tb(exc.__traceback__)
    user = [f for f in frames if "importlib" not in f.filename and "site-packages" not in f.filename
            and not f.filename.startswith("<")]
    return f"{user[-1].filename}:{user[-1].lineno}" if user else str(path)
