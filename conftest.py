"""The project's pytest set-up lives in the plugin ``properties.pytest_plugin`` (Hypothesis
profiles), loaded in every pytest run of this environment, so that a run in a
user's own folder gets the same set-up. Choose a profile with ``--hypothesis-profile NAME``.

This file only orders and schedules the project's own suite, which ``./harness test`` and
``./harness verify`` run on every core (pytest-xdist, ``-n auto``).
"""
import pytest

# Tests sharing one expensive run (a fresh interpreter, the training run) in a module- or
# process-level fixture: each group goes to one xdist worker whole, so the run is made once.
# (xdist's own ``xdist_group`` mark does nothing under pytest 9: it renames a node id
# attribute pytest no longer reads.) Keys are node-id prefixes.
SHARED_RUNS = {
    "tests/test_report_plugin.py::test_terminal_prints_the_matrix": "failing-run",
    "tests/test_report_plugin.py::test_every_recorded_result_reaches": "failing-run",
    "tests/test_report_plugin.py::test_stale_pages_and_arrays": "failing-run",
    "tests/test_report_render.py": "failing-run",
    "tests/test_report_browser.py": "failing-run",
    "tests/test_faults_report.py": "failing-run",
    "tests/test_check_cli.py": "check-cli",
    "tests/test_reference_training.py": "reference-run",
}


def shared_run(nodeid):
    """The SHARED_RUNS group of a node id, or None."""
    return next((group for prefix, group in SHARED_RUNS.items() if nodeid.startswith(prefix)),
                None)


def pytest_collection_modifyitems(items):
    """Modules holding a slow test (a fresh interpreter, a shared run) first, in their own
    order: under xdist the long ones start at once instead of trailing the run on one
    worker. A module stays in one piece, so its module-scoped fixtures are set up once."""
    slow = {getattr(item, "module", None) for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: getattr(item, "module", None) not in slow)


@pytest.hookimpl(optionalhook=True)   # a hook of pytest-xdist: absent without it
def pytest_xdist_make_scheduler(config, log):
    """Load scheduling, one test at a time, except the SHARED_RUNS groups, sent whole."""
    from xdist.scheduler import LoadScopeScheduling

    class SharedRunScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            return shared_run(nodeid) or nodeid

    return SharedRunScheduling(config, log)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    """An xdist worker, its results sent (``workerfinished`` goes out at the end of its
    session), ends at once: the interpreter's own shutdown with TF loaded took over a second
    per worker, which the whole run waited for."""
    if hasattr(config, "workerinput"):
        import os
        import sys
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
