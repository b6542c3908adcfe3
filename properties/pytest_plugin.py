"""pytest plugin: Hypothesis profiles and checking a user's own code.

Loaded in every pytest run of this environment (an entry point, like the
report plugin). It registers the Hypothesis profiles (``default``, ``ci``,
``thorough``; ``--hypothesis-profile NAME``). TF is imported by the first oracle that needs
it, not by the session (``oracle.tf_runtime``).

``pytest --check PATH`` (what ``./harness check PATH`` runs) checks the
layers, networks and optimizers found in PATH instead of collecting tests.
A plain ``pytest`` run in a user's own folder (a rootdir outside this project)
checks that folder's code beside the user's own tests; ``--no-check-own``
turns that off. Either way nothing is written into the user's folder: the
report goes to this project's ``reports/out``, pytest's cache and the
Hypothesis example database stay out of it, and no bytecode is written.
"""
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings

PROJECT = Path(__file__).resolve().parent.parent

COMMON = dict(deadline=None, print_blob=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.differing_executors])
# Targeted search (hill-climbing toward a larger error/tolerance ratio) pays at 200 examples;
# at 25 it mostly adds Pareto-front bookkeeping and extra runs (about a quarter of the
# battery's time), so the short profiles leave the target phase out (search.run_property).
# The explain phase (Hypothesis re-running a shrunk failure many times to comment on which
# parts of it matter) is left out everywhere: every failure here explains itself (verdict,
# diagnosis, a replay line), and explaining cost two thirds of a `./harness check` that
# found a bug.
SEARCH = [p for p in Phase if p is not Phase.explain]
SHORT = dict(max_examples=25, phases=[p for p in SEARCH if p is not Phase.target])
settings.register_profile("default", **SHORT, **COMMON)
settings.register_profile("ci", **SHORT, derandomize=True, database=None, **COMMON)
settings.register_profile("thorough", max_examples=200, phases=SEARCH, **COMMON)
settings.load_profile(os.environ.get("GRADCHECK_PROFILE", "default"))


def pytest_addoption(parser):
    group = parser.getgroup("gradcheck", "gradient-verification report")
    group.addoption("--check", action="append", default=[], metavar="PATH",
                    help="check the layers, networks and optimizers in PATH (a file or a folder; "
                         "repeatable) instead of collecting tests")
    group.addoption("--no-check-own", action="store_true",
                    help="in a user's folder, do not check its code beside its tests")


def own_paths(config):
    """The user paths to check: --check's, else the rootdir when it is a user's folder."""
    paths = config.getoption("check")
    if paths:
        return [str((Path(config.invocation_params.dir) / p).resolve()) for p in paths]
    if config.getoption("no_check_own") or _inside_project(config.rootpath):
        return []
    return [str(config.rootpath)]


def _inside_project(path):
    try:
        Path(path).resolve().relative_to(PROJECT)
        return True
    except ValueError:
        return False


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")   # reproducible TF sums
    if own_paths(config) and getattr(config, "cache", None) is not None \
            and not _inside_project(config.rootpath):
        # pytest's cache would land in the user's folder: keep it in the temp folder instead
        config.cache._cachedir = Path(tempfile.gettempdir()) / "gradcheck-pytest-cache"


def pytest_ignore_collect(collection_path, config):
    """With --check, nothing but the user's code is collected (their items come from discovery)."""
    return True if config.getoption("check") else None


def pytest_collection_modifyitems(session, config, items):
    paths = own_paths(config)
    if not paths:
        return
    from properties.owncode_items import collect_items
    if config.getoption("check"):
        items[:] = collect_items(session, paths)
    else:   # a plain run in a user's folder: their code beside their tests, if there is any
        items.extend(collect_items(session, paths, quiet=True))
