"""The folders import one way (DESIGN.md): layers <- oracle <- properties <- tests, and reports
reads result objects only. Checked on every import statement, those inside functions too."""
import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT = ("layers", "oracle", "properties", "reports", "tests", "benchmarks")
# the project's folders each may import (besides itself); libraries are free, but for layers/
UPSTREAM = {
    "layers": set(),
    "oracle": {"layers"},
    "properties": {"layers", "oracle"},
    "reports": {"oracle"},      # the result objects and the tolerance rule they carry
}
LAYERS_MAY_IMPORT = {"numpy"}   # what a user ships: NumPy and the standard library


def imported(path):
    """(line, top-level name) of every absolute import in the file."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, a.name.split(".")[0]) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split(".")[0]


@pytest.mark.parametrize("folder", sorted(UPSTREAM))
def test_imports_point_one_way(folder):
    wrong = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        for line, name in imported(path):
            if name in PROJECT:
                bad = name != folder and name not in UPSTREAM[folder]
            else:
                bad = folder == "layers" and name not in LAYERS_MAY_IMPORT \
                    and name not in sys.stdlib_module_names
            if bad:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert not wrong, "\n".join(wrong)


def test_the_check_sees_an_import_inside_a_function(tmp_path):
    path = tmp_path / "m.py"
    path.write_text("def f():\n    from reports.plugin import KEY\n")
    assert (2, "reports") in set(imported(path))
