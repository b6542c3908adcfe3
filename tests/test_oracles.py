"""The oracles checked against closed-form derivatives, before they judge any layer."""
import numpy as np
import pytest

from oracle.finite_diff import MAX_ELEMENTWISE, fd_vjp
from oracle.tape import tape_vjp

RNG = np.random.default_rng(1234)


def smooth(a):
    """f(x, w) = sin(x) * exp(w / 3) + x**3 w, elementwise (x and w broadcast)."""
    return np.sin(a["x"]) * np.exp(a["w"] / 3) + a["x"] ** 3 * a["w"]


def smooth_grads(x, w, dout):
    dx = (np.cos(x) * np.exp(w / 3) + 3 * x ** 2 * w) * dout
    dw = (np.sin(x) * np.exp(w / 3) / 3 + x ** 3) * dout
    return dx, dw


@pytest.mark.parametrize("shape", [(3,), (2, 4), (2, 2, 3), (5, 5, 3), (6, 6, 5)])
def test_fd_matches_closed_form_elementwise_and_directional(shape):
    x, w = RNG.standard_normal(shape) * 2, RNG.standard_normal(shape)
    dout = RNG.standard_normal(shape)
    fd = fd_vjp(smooth, {"x": x, "w": w}, dout, rng=np.random.default_rng(0))
    dx, dw = smooth_grads(x, w, dout)
    for name, exact in (("x", dx), ("w", dw)):
        est = fd[name]
        assert est.mode == ("elementwise" if x.size <= MAX_ELEMENTWISE else "directional")
        assert not est.excused.any()
        np.testing.assert_allclose(est.values, est.project(exact), rtol=1e-8, atol=1e-9)


def test_fd_cost_does_not_grow_with_size():
    calls = []

    def f(a):
        calls.append(1)
        return a["x"] ** 2

    for n in (1_000, 10_000):
        calls.clear()
        fd_vjp(f, {"x": np.ones(n)}, np.ones(n), rng=np.random.default_rng(0), n_directions=4)
        assert len(calls) == 1 + 4 * 6


def test_fd_step_follows_the_value_scale():
    """For x ~ 1e4 a fixed absolute step would lose all precision to round-off; ours does not."""
    x = np.array([1.0e4, -3.0e4, 2.5e4])
    fd = fd_vjp(lambda a: np.log(np.abs(a["x"])), {"x": x}, np.ones(3), rng=RNG)
    np.testing.assert_allclose(fd["x"].values, 1 / x, rtol=1e-7)


def test_fd_excuses_kinks_and_only_kinks():
    x = np.array([0.0, 2e-4, -5e-4, 0.3, -0.7, 1.0])
    fd = fd_vjp(lambda a: np.abs(a["x"]), {"x": x}, np.ones(6), rng=RNG)["x"]
    np.testing.assert_array_equal(fd.excused, [True, True, True, False, False, False])
    np.testing.assert_allclose(fd.values[3:], np.sign(x[3:]), rtol=1e-9)


def test_fd_excuses_tied_maxima():
    x = np.array([[0.5, 0.5, -1.0], [0.2, 0.9, 0.1]])
    fd = fd_vjp(lambda a: a["x"].max(axis=1), {"x": x}, np.ones(2), rng=RNG)["x"]
    np.testing.assert_array_equal(fd.excused, [[True, True, False], [False, False, False]])
    np.testing.assert_allclose(fd.values[1], [0, 1, 0], atol=1e-10)


def test_fd_redraws_directions_that_cross_a_kink_on_fewer_coordinates():
    """One element at a kink spoils every dense direction; redrawn on random subsets of the
    coordinates, the directions that avoid it are judged, and only those touching it are excused."""
    x = np.linspace(1.0, 3.0, 300)
    x[17] = 0.0
    fd = fd_vjp(lambda a: np.abs(a["x"]), {"x": x}, np.ones(300),
                rng=np.random.default_rng(5))["x"]
    assert fd.mode == "directional" and fd.judged
    touches_kink = fd.directions[:, 17] != 0
    np.testing.assert_array_equal(fd.excused, touches_kink)
    assert (fd.support[~fd.excused] < 300).all()
    judged = ~fd.excused
    # round-off is absolute, at the scale of the function (values of order 1), so a
    # projection near 0 (a direction on a few coordinates with small entries) has it too
    np.testing.assert_allclose(fd.values[judged], fd.project(np.sign(x))[judged], rtol=1e-9,
                               atol=1e-9)


def test_fd_elementwise_builds_no_identity_and_leaves_the_point_alone():
    """Each evaluation moves one element of a fresh copy: a forward that writes into its input
    cannot shift the point of the next evaluation."""
    x = np.linspace(-1.0, 1.0, 50)
    keep = x.copy()

    def clobbering(a):
        out = np.sin(a["x"])
        a["x"][:] = 7.0
        return out

    fd = fd_vjp(clobbering, {"x": x}, np.ones(50), rng=RNG, max_elementwise=50)["x"]
    assert fd.mode == "elementwise"
    np.testing.assert_array_equal(x, keep)
    np.testing.assert_allclose(fd.values, np.cos(x), rtol=1e-9)


def test_fd_always_float64_even_for_float32_inputs():
    x = np.linspace(-1, 1, 7, dtype=np.float32)
    seen = []

    def f(a):
        seen.append(a["x"].dtype)
        return np.exp(a["x"])

    fd = fd_vjp(f, {"x": x}, np.ones(7, np.float32), rng=RNG)["x"]
    assert set(seen) == {np.dtype(np.float64)}
    np.testing.assert_allclose(fd.values, np.exp(x.astype(np.float64)), rtol=1e-9)


class _Affine:
    """Stand-in layer object for the tape oracle (the twin reads ``scale`` off it)."""
    scale = 2.5


def test_tape_vjp_matches_closed_form():
    from oracle.tf_runtime import tf
    x, W, b = RNG.standard_normal((3, 4)), RNG.standard_normal((4, 2)), RNG.standard_normal(2)
    dout = RNG.standard_normal((3, 2))

    def twin(layer, x, W, b):
        return layer.scale * tf().tanh(x @ W + b)

    res = tape_vjp(twin, _Affine(), [x.astype(np.float32)], {"W": W, "b": b}, dout)
    x64 = x.astype(np.float32).astype(np.float64)
    z = np.tanh(x64 @ W + b)
    dz = dout * 2.5 * (1 - z ** 2)
    np.testing.assert_allclose(res.out, 2.5 * z, rtol=1e-13)
    np.testing.assert_allclose(res.dinputs[0], dz @ W.T, rtol=1e-12)
    np.testing.assert_allclose(res.dparams["W"], x64.T @ dz, rtol=1e-12)
    np.testing.assert_allclose(res.dparams["b"], dz.sum(0), rtol=1e-12)
    assert res.out.dtype == np.float64 and not res.unavailable


def test_tape_vjp_gives_zeros_for_an_unused_param_and_names_a_broken_twin():
    from oracle.tape import OracleError
    from oracle.tf_runtime import tf
    res = tape_vjp(lambda layer, x, W: x * 2.0, None, [np.ones(3)], {"W": np.ones(2)}, np.ones(3))
    np.testing.assert_array_equal(res.dparams["W"], np.zeros(2))
    with pytest.raises(OracleError, match="TF twin of Broken failed in forward"):
        tape_vjp(lambda layer, x: tf().reshape(x, (7,)), None, [np.ones(3)], {}, np.ones(7),
                 name="Broken")


def test_a_session_without_a_tf_oracle_never_imports_tf():
    """TF's import (about 5 s) is paid by the first oracle that needs it: a law-only check
    never imports it, and the first TF oracle imports it, without scikit-learn (a second of
    the import, for Keras wrappers nothing here uses), which still imports afterwards, as
    Keras's optimizers (the optimizer oracle) do; the digits the reference run reads from
    scikit-learn's file without importing it are the ones scikit-learn loads."""
    import subprocess
    import sys
    from pathlib import Path
    code = ("import sys\n"
            "from properties.search import hunt\n"
            "assert hunt('ReLU', 'no_mutation', max_examples=3, shrink=False) is None\n"
            "assert 'tensorflow' not in sys.modules, 'a law imported TF'\n"
            "assert hunt('ReLU', 'grads_tf', max_examples=2, shrink=False) is None\n"
            "assert 'tensorflow' in sys.modules\n"
            "assert 'sklearn' not in sys.modules, 'TF imported scikit-learn'\n"
            "from oracle.tf_runtime import tf\n"
            "assert tf().keras.optimizers.Adam(learning_rate=0.1).learning_rate is not None\n"
            "from sklearn.datasets import load_digits\n"
            "assert sys.modules['sklearn'] is not None\n"
            # the reference run reads the digits file itself: the very table sklearn gives
            "import numpy as np\n"
            "from properties.reference.run import digits_file\n"
            "pixels, labels = digits_file()\n"
            "want = load_digits()\n"
            "assert np.array_equal(pixels, want.data) and np.array_equal(labels, want.target)\n"
            "assert labels.dtype == want.target.dtype and pixels.shape == (1797, 64)\n")
    root = Path(__file__).resolve().parent.parent
    run = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
