"""Import TensorFlow once, quietly, and only when an oracle first needs it.

A session that never asks a TF oracle (laws only, a replay of a law) never pays the
import (about 5 s). No check is timed (Hypothesis runs without deadlines), so TF's own
first-call cost needs no warm-up here; the benchmark warms up with ``warm_up`` after setting
TF's thread counts, which TF refuses once a first op has run.
"""
import os

_tf = None


def tf():
    """The ``tensorflow`` module, imported on first use with its start-up log lines silenced."""
    global _tf
    if _tf is None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        # oneDNN reorders float sums between runs; the oracle must be reproducible.
        os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
        import tensorflow

        _tf = tensorflow
    return _tf


def warm_up():
    """Run one tiny gradient so TF's first-call cost is not charged to a timed example."""
    t = tf()
    v = t.Variable([1.0], dtype=t.float64)
    with t.GradientTape() as tape:
        y = t.reduce_sum(v * v)
    tape.gradient(y, v)
