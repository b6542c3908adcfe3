"""Fresh layer copies for finite differences: independent, same state every time, params shared."""
import importlib.util

import numpy as np
import pytest

import layers as L
from oracle import layer_copy
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


@pytest.mark.parametrize("by_name_fails", ["lambda", "local class", "class from a user file"])
def test_classes_and_functions_pickle_fails_on_by_name_are_kept_by_reference(
        by_name_fails, tmp_path, monkeypatch):
    """A user's class (its file is not an importable module), a local class or a lambda
    attribute: kept by reference, as deepcopy keeps them, and the rest still unpickled (no
    deepcopy walk, which costs more than a small layer's forward)."""
    class Local(L.ReLU):
        pass

    if by_name_fails == "class from a user file":
        (tmp_path / "their_layer.py").write_text(
            "class Scale:\n    def __init__(self):\n        self.params = {}\n")
        spec = importlib.util.spec_from_file_location("their_layer", tmp_path / "their_layer.py")
        module = importlib.util.module_from_spec(spec)   # not in sys.modules: not found by name
        spec.loader.exec_module(module)
        snapshot = module.Scale()
    else:
        snapshot = Local() if by_name_fails == "local class" else L.ReLU()
    if by_name_fails == "lambda":
        snapshot.hook = lambda x: x
    snapshot.state = [np.zeros(2)]
    keep = np.ones(3)
    snapshot.params["w"] = keep
    fresh = copier(snapshot, [keep])
    monkeypatch.setattr(layer_copy.copy, "deepcopy", _no_deepcopy)
    a = fresh()
    assert type(a) is type(snapshot) and a is not snapshot and a.params["w"] is keep
    assert getattr(a, "hook", None) is getattr(snapshot, "hook", None)
    a.state[0][0] = 5.0
    assert snapshot.state[0][0] == 0.0 and fresh().state[0][0] == 0.0


def _no_deepcopy(*args):
    raise AssertionError("copied with deepcopy")


class _NoPickle:
    """Refuses pickling (like a lock or an open file would) but can be deep-copied."""

    def __reduce_ex__(self, protocol):
        raise TypeError("cannot pickle a _NoPickle")

    def __deepcopy__(self, memo):
        return _NoPickle()


def test_a_snapshot_that_cannot_be_pickled_is_deep_copied():
    snapshot = L.ReLU()
    snapshot.handle = _NoPickle()
    snapshot.state = [np.zeros(2)]
    keep = np.ones(3)
    snapshot.params["w"] = keep
    fresh = copier(snapshot, [keep])
    a = fresh()
    assert a.params["w"] is keep and a.handle is not snapshot.handle
    a.state[0][0] = 5.0
    assert snapshot.state[0][0] == 0.0 and fresh().state[0][0] == 0.0


def test_a_bound_builtin_method_follows_the_copy():
    """``self.push = self.buf.append``: each copy appends to its own buffer, never the snapshot's."""
    snapshot = L.ReLU()
    snapshot.buf = []
    snapshot.push = snapshot.buf.append
    a = copier(snapshot)()
    a.push(1.0)
    assert a.buf == [1.0] and snapshot.buf == []


def _case(layer="Dense", **kw):
    from properties.cases import Case
    from properties.catalog import entries
    entries()
    return Case(layer=layer, config={"shape": [5], "out": 3} if layer == "Dense" else {},
                dtype="float64", batch=2, kind="normal", seed=kw.pop("seed", 4), **kw)


def test_a_case_built_again_is_a_fresh_equal_layer(monkeypatch):
    """A slow build is kept at its second build; the third is a copy of it as built: equal
    params, its own arrays, untouched by what was done to the first two (a forward, a param
    written in place)."""
    from properties import cases
    from properties.cases import _BUILT, _SLOW
    monkeypatch.setattr(cases, "KEEP_BUILDS_OVER", 0.0)
    _BUILT.clear(), _SLOW.clear()
    case = _case()
    first = case.build()
    assert not _BUILT      # built once: most cases are, and pickling it would be wasted
    want = {k: v.copy() for k, v in first.params.items()}
    second = case.build()
    assert len(_BUILT) == 1
    for lay in (first, second):
        lay.forward(np.ones((2, 5)))
        lay.params["W"][...] = 7.0
    again = case.build()
    assert len(_BUILT) == 1
    for k, v in want.items():
        np.testing.assert_array_equal(again.params[k], v)
        assert again.params[k] is not first.params[k] and again.params[k] is not second.params[k]
    assert again is not first and again.training == case.training
    other = _case(seed=5)
    assert not np.array_equal(other.build().params["W"], want["W"]) and len(_BUILT) == 1
    other.build()
    assert len(_BUILT) == 2
    assert _case(training=False).build().training is False


def test_a_layer_that_cannot_be_pickled_is_built_every_time(monkeypatch):
    from properties import cases
    from properties.cases import _BUILT
    monkeypatch.setattr(cases, "KEEP_BUILDS_OVER", 0.0)
    from hypothesis import strategies as st
    from properties.registry import PLANTED, Entry, register
    made = []

    def make(c, rng, dtype):
        made.append(1)
        lay = L.ReLU()
        lay.handle = _NoPickle()
        return lay
    register(Entry("test.Unpicklable", make, st.just({}), input_shapes=lambda c, n: [(n, 3)]),
             planted=__name__)
    try:
        case = _case("test.Unpicklable")
        case.build(), case.build(), case.build()
        assert len(made) == 3 and not any(k[0] == "test.Unpicklable" for k in _BUILT)
    finally:
        PLANTED.pop("test.Unpicklable")


def test_a_quick_build_is_not_kept(monkeypatch):
    """Pickling a small layer costs more than building it again. (The threshold is raised so
    that a build slowed down by a busy machine still counts as quick.)"""
    from properties import cases
    from properties.cases import _BUILT
    monkeypatch.setattr(cases, "KEEP_BUILDS_OVER", 60.0)
    _BUILT.clear()
    case = _case()
    case.build(), case.build()
    assert not _BUILT
