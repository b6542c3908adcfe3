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
        # NumPy's global random state is the user's: a package TF imports may draw from it
        # (JAX, when installed, draws five numbers at import), so it is put back afterwards
        import numpy as np
        state = np.random.get_state()
        try:
            _tf = _import_without_sklearn()
        finally:
            np.random.set_state(state)
    return _tf


def _import_without_sklearn():
    """``import tensorflow``, with scikit-learn kept out of it.

    TF imports Keras at start-up, and Keras its scikit-learn wrappers, which import
    scikit-learn when it is installed (it is: the reference run's digits come from it):
    about a second of every TF import, for wrappers nothing here uses. Keras imports
    them under ``try``/``except ImportError``, so while TF is imported ``sklearn`` is
    marked as absent in ``sys.modules``; the mark is taken away afterwards, and a later
    ``import sklearn`` is a normal import.
    """
    import sys
    blocked = "sklearn" not in sys.modules
    if blocked:
        sys.modules["sklearn"] = None
    try:
        import tensorflow
    finally:
        if blocked and "sklearn" in sys.modules and sys.modules["sklearn"] is None:
            del sys.modules["sklearn"]
    return tensorflow


def warm_up():
    """Run one tiny gradient so TF's first-call cost is not charged to a timed example."""
    t = tf()
    v = t.Variable([1.0], dtype=t.float64)
    with t.GradientTape() as tape:
        y = t.reduce_sum(v * v)
    tape.gradient(y, v)
