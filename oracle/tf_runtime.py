"""Import TensorFlow once, quietly, and only when an oracle first needs it.

A session that never asks a TF oracle (laws only, a replay of a law) never pays the
import (about 5 s). No check is timed (Hypothesis runs without deadlines), so TF's own
first-call cost needs no warm-up here; the benchmark warms up with ``warm_up`` after setting
TF's thread counts, which TF refuses once a first op has run.
"""
import os

import numpy as np

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


class Packed:
    """Params of any shapes as one flat float64 ``tf.Variable``, for a Keras optimizer's run.

    Every Keras optimizer the oracles use (SGD with or without momentum, RMSprop, Adam,
    Adagrad, Adadelta, Adamax, Nadam, AMSGrad, Lion, AdamW's decoupled decay) updates each
    element from that element's own gradient and state alone: which variable an element sits
    in changes no operation on it, so the trajectory is the same, bit for bit, as one
    variable per param (``tests/test_keras_packed.py`` holds every twin to that). Keras's
    per-variable bookkeeping is most of a small run's time; one variable halves it.
    (Clipping by a norm is done before Keras, in NumPy, never by Keras.)
    """

    def __init__(self, params0):
        t = tf()
        self.shapes = [np.shape(p) for p in params0]
        self.variables = [t.Variable(self.flat(params0, "param"), dtype=t.float64)]

    def flat(self, arrays, what="gradient"):
        """``arrays`` (one per param, of its shape) as one float64 vector."""
        arrays = [np.asarray(a, np.float64) for a in arrays]
        if [a.shape for a in arrays] != self.shapes:
            raise ValueError(f"{what} shapes {[a.shape for a in arrays]} do not match the "
                             f"params' {self.shapes}")
        return np.concatenate([a.reshape(-1) for a in arrays]) if arrays else np.zeros(0)

    def apply(self, keras, grads):
        """One ``keras.apply_gradients`` step on the packed variable."""
        keras.apply_gradients([(tf().convert_to_tensor(self.flat(grads)), self.variables[0])])

    def params(self):
        """The params now, as fresh arrays of their own shapes."""
        flat = self.variables[0].numpy()
        ends = np.cumsum([int(np.prod(s, dtype=int)) for s in self.shapes])
        return [part.reshape(s).copy() for part, s in zip(np.split(flat, ends[:-1]), self.shapes)]
