"""An attention backward that leaves out its 1/sqrt(d_k) is off by sqrt(d_k) everywhere: a
constant the diagnosis did not know, so it said nothing; it names it now, from the input's
last axis."""
import numpy as np

from oracle.diagnosis import diagnose


def test_a_factor_of_the_square_root_of_the_inputs_width_is_named():
    rng = np.random.default_rng(0)
    q = rng.standard_normal((2, 4, 5))
    oracle = rng.standard_normal((2, 4, 5))
    found = diagnose(oracle * np.sqrt(5), oracle, context={
        "tensor": "dq", "inputs": {"q": q}, "config": {"batch": 2}, "dtype": "float64",
        "oracle": "fd"})
    assert found is not None and found.kind == "constant factor", found
    assert "sqrt(D) with D = 5" in found.summary


def test_a_factor_of_no_such_size_is_not_named_so():
    rng = np.random.default_rng(1)
    q, oracle = rng.standard_normal((2, 4, 5)), rng.standard_normal((2, 4, 5))
    found = diagnose(oracle * np.sqrt(7), oracle, context={
        "tensor": "dq", "inputs": {"q": q}, "config": {"batch": 2}, "dtype": "float64",
        "oracle": "fd"})
    assert found is None or "sqrt" not in found.summary
