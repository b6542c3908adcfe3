"""The ``kink`` diagnosis claims a derivative's convention at its input's exact zeros. A
convention holds at every kink: a dense layer's tanh slip, shrunk to an input of mostly zeros,
was wrong at one zero and right at three, and was told "kink ... another convention" (and
"1 of 5 outside tolerance ... the other 1 agree", a count that read as not adding up)."""
import numpy as np

from oracle.diagnosis import diagnose


def _context(x, dout):
    return {"tensor": "dx", "inputs": {"x": x}, "dout": dout, "dtype": "float64", "oracle": "fd"}


def test_a_convention_at_every_zero_of_the_input_is_a_kink():
    x = np.array([[0.0, 1.3, 0.0, -0.4, 0.0, 2.0]])
    dout = np.array([[0.7, -1.1, 0.5, 0.9, -0.3, 0.2]])
    oracle = dout * (x > 0)                  # ReLU'(0) = 0
    layer = dout * (x >= 0)                  # ReLU'(0) = 1: wrong at each of the three zeros
    found = diagnose(layer, oracle, context=_context(x, dout))
    assert found is not None and found.kind == "kink", found
    assert "(3 such element(s)); the 3 element(s) elsewhere agree" in found.evidence


def test_wrong_at_one_zero_and_right_at_the_others_is_no_kink():
    x = np.array([[0.0, 0.0, 0.0, 0.0, 0.11]])
    dout = np.array([[0.4, -0.8, 1.2, 0.6, -0.5]])
    oracle = np.array([[0.31, -0.27, 0.55, 0.12, -0.08]])     # a dense layer's dx: no kink
    layer = oracle.copy()
    layer[0, 1] += 0.05                                        # one element off, at a zero
    found = diagnose(layer, oracle, context=_context(x, dout))
    assert found is None or found.kind != "kink", found
