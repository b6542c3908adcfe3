"""Hypothesis profiles and a once-per-session TF warm-up.

Profiles: ``default`` (quick, random seed, local runs), ``ci`` (derandomized:
two runs give identical results; what .ci/run uses), ``thorough`` (many more
examples). Choose one with pytest's ``--hypothesis-profile NAME``.
"""
import os

import pytest
from hypothesis import HealthCheck, settings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")   # reproducible TF sums

COMMON = dict(deadline=None, print_blob=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.differing_executors])
settings.register_profile("default", max_examples=25, **COMMON)
settings.register_profile("ci", max_examples=25, derandomize=True, database=None, **COMMON)
settings.register_profile("thorough", max_examples=200, **COMMON)
settings.load_profile("default")


@pytest.fixture(scope="session", autouse=True)
def warm_tf():
    """Import TF and run one gradient before any timed example."""
    from oracle.tf_runtime import warm_up
    warm_up()
