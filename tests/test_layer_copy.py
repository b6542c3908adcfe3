"""Fresh layer copies for finite differences: independent, same state every time, params shared."""
import numpy as np
import pytest

import layers as L
from oracle.layer_copy import copier


def _dropout():
    return L.Dropout(0.5, rng=np.random.default_rng(3))


def test_every_copy_starts_from_the_snapshot_state():
    """A dropout copy draws the same mask each time; using a copy leaves the snapshot alone."""
    snapshot = _dropout()
    fresh = copier(snapshot)
    x = np.ones((4, 50))
    first = fresh().forward(x)
    np.testing.assert_array_equal(fresh().forward(x), first)
    np.testing.assert_array_equal(_dropout().forward(x), first)   # the snapshot never drew


def test_shared_arrays_are_not_copied_and_the_rest_is():
    snapshot = L.Dense(3, 2, rng=np.random.default_rng(0))
    snapshot.extra = np.arange(4.0)
    fresh = copier(snapshot, [snapshot.params["W"]])
    a, b = fresh(), fresh()
    assert a.params["W"] is snapshot.params["W"] and b.params["W"] is snapshot.params["W"]
    assert a.params["b"] is not snapshot.params["b"] and a.extra is not b.extra
    a.extra[0] = 99.0
    assert snapshot.extra[0] == 0.0 and b.extra[0] == 0.0


@pytest.mark.parametrize("unpicklable", ["lambda", "local class"])
def test_a_snapshot_that_cannot_be_pickled_is_deep_copied(unpicklable):
    class Local(L.ReLU):
        pass

    snapshot = Local() if unpicklable == "local class" else L.ReLU()
    if unpicklable == "lambda":
        snapshot.hook = lambda x: x
    snapshot.state = [np.zeros(2)]
    keep = np.ones(3)
    snapshot.params["w"] = keep
    fresh = copier(snapshot, [keep])
    a = fresh()
    assert type(a) is type(snapshot) and a is not snapshot and a.params["w"] is keep
    a.state[0][0] = 5.0
    assert snapshot.state[0][0] == 0.0 and fresh().state[0][0] == 0.0
