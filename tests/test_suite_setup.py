"""The suite's own scheduling (conftest.py): what keeps shared runs made once under xdist."""
import re
from pathlib import Path

import conftest

ROOT = Path(__file__).resolve().parent.parent


def test_every_shared_run_prefix_names_existing_tests():
    """A renamed test or module would silently leave its shared run to be made twice."""
    for prefix in conftest.SHARED_RUNS:
        path, _, name = prefix.partition("::")
        source = (ROOT / path).read_text()
        if name:
            assert re.search(rf"^def {re.escape(name)}\w*\(", source, re.M), prefix
        else:
            assert re.search(r"^def test_", source, re.M), prefix


def test_shared_runs_are_grouped_and_other_tests_are_not():
    assert conftest.shared_run("tests/test_check_cli.py::test_a_missing_path_is_a_usage_error") \
        == "check-cli"
    assert conftest.shared_run("tests/test_report_plugin.py::test_stale_pages_and_arrays_are_"
                               "pruned_and_other_files_kept") == "failing-run"
    assert conftest.shared_run("tests/test_report_plugin.py::test_default_folder_and_no_report") \
        is None
    assert conftest.shared_run("tests/test_battery.py::test_battery[Dense-grads_tf]") is None
