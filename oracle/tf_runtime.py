"""Import TensorFlow once, quietly, and only when an oracle first needs it."""
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
