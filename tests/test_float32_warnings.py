"""What a float32-precision warning blames. A hinge margin that float32 rounds to exactly 0
flips a whole gradient element (a jump); saturation amplifies a small relative error (a
drift). The warning blamed saturation or near-zero variance for both."""
import numpy as np

from oracle.result import Result
from properties.second_look import as_warning


def failing(max_rel_err):
    return Result(layer="mine.SVM", prop="grads_tf", tensor="dx", oracle="tf", passed=False,
                  dtype="float32", ratio=40.0, max_abs_err=0.3, max_rel_err=max_rel_err,
                  scale=1.0, n_total=6, n_mismatched=1)


def test_an_element_that_jumped_is_blamed_on_a_kink_float32_crossed():
    w = as_warning(failing(1.0), None, [np.ones((2, 3), np.float32)])
    assert w.passed and w.warning and w.verdict == "float32 precision"
    assert "other side of a kink" in w.explanation and "saturation" not in w.explanation


def test_a_small_relative_error_grown_large_is_blamed_on_conditioning():
    w = as_warning(failing(1e-3), None, [np.ones((2, 3), np.float32)])
    assert "ill-conditioned" in w.explanation and "kink" not in w.explanation
