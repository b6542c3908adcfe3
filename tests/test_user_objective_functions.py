"""Objectives as optimisation and sampling code writes them: a scalar function of a vector
beside its gradient (rosenbrock / rosenbrock_grad, an HMC's U / grad_U), scipy's names (fun /
jac, f / grad), a function returning (f, g) under any name, a class's value / gradient, and a
log-posterior beside its gradient. Each was "nothing recognised" or "not a function and its
elementwise derivative" (a scalar beside an array), and one right log-posterior failed."""
import pytest

from tests.owncode_loading import collect_source


SCALAR = '''
import numpy as np


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def rosenbrock_grad(x):
    g = np.zeros_like(x)
    g[:-1] = -400.0 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
    g[1:] += {coef} * (x[1:] - x[:-1] ** 2)
    return g


def U(q):
    return 0.5 * q @ q


def grad_U(q):
    return q
'''


@pytest.mark.parametrize("coef, passes", [("200.0", True), ("100.0", False)])
def test_a_scalar_function_of_a_vector_beside_its_gradient_is_checked(tmp_path, coef, passes):
    """rosenbrock / rosenbrock_grad and an HMC's U / grad_U were "not a function and its
    elementwise derivative": a scalar beside an array, skipped."""
    module = f"scalar_{int(passes)}"
    found, collected = collect_source(tmp_path, f"{module}.py", SCALAR.replace("{coef}", coef))
    assert {f"{module}.rosenbrock", f"{module}.U"} <= set(found), collected.skipped
    assert "x (5,)" in found[f"{module}.rosenbrock"].how
    assert all(r.passed for r in found[f"{module}.U"].check())
    assert all(r.passed for r in found[f"{module}.rosenbrock"].check()) == passes


SCIPY = '''
import numpy as np


def fun(x, A, b):
    r = A @ x - b
    return r @ r


def jac(x, A, b):
    return {factor} * A.T @ (A @ x - b)


def beale(x):
    u, v = x
    t1, t2, t3 = 1.5 - u + u * v, 2.25 - u + u * v ** 2, 2.625 - u + u * v ** 3
    f = t1 ** 2 + t2 ** 2 + t3 ** 2
    g = np.array([2 * t1 * (v - 1) + 2 * t2 * (v ** 2 - 1) + 2 * t3 * (v ** 3 - 1),
                  2 * t1 * u + 2 * t2 * 2 * u * v + 2 * t3 * 3 * u * v ** 2])
    return f, g


class Quadratic:
    def __init__(self, n=4):
        rng = np.random.default_rng(0)
        self.A, self.b = rng.standard_normal((n, n)), rng.standard_normal(n)

    def value(self, x):
        return 0.5 * x @ self.A @ x - self.b @ x

    def gradient(self, x):
        return {sym} - self.b
'''


@pytest.mark.parametrize("factor, sym, passes", [
    ("2.0", "0.5 * (self.A + self.A.T) @ x", True),
    ("1.0", "self.A @ x", False),          # the factor 2 left out; A taken as symmetric
])
def test_scipys_names_and_value_gradient_classes_are_cost_pairs(tmp_path, factor, sym, passes):
    """fun / jac, a function returning (f, g) under any name, a class's value / gradient: the
    names scipy and optimisation textbooks use were "nothing recognised"."""
    module = f"scipy_{int(passes)}"
    found, collected = collect_source(tmp_path, f"{module}.py",
                                      SCIPY.replace("{factor}", factor).replace("{sym}", sym))
    assert {f"{module}.fun", f"{module}.beale", f"{module}.Quadratic"} <= set(found), \
        {s.label: s.reason for s in collected.skipped}
    assert "x (2,)" in found[f"{module}.beale"].how
    assert all(r.passed for r in found[f"{module}.beale"].check())
    for name in ("fun", "Quadratic"):
        assert all(r.passed for r in found[f"{module}.{name}"].check()) == passes, name


BAYES = '''
import numpy as np


def log_posterior(w, X, y, alpha):
    z = X @ w
    return np.sum(y * z - np.logaddexp(0.0, z)) - 0.5 * alpha * w @ w


def grad_log_posterior(w, X, y, alpha):
    return X.T @ (y - 1 / (1 + np.exp(-X @ w))) - {prior} * w


def U(q, X, y):
    return -log_posterior(q, X, y, 1.0)


def grad_U(q, X, y):
    return -grad_log_posterior(q, X, y, 1.0)
'''


@pytest.mark.parametrize("prior, passes", [("alpha", True), ("0.5 * alpha", False)])
def test_a_log_posterior_beside_its_gradient_is_checked_at_the_weights(tmp_path, prior, passes):
    """A right log_posterior(w, X, y, alpha) failed: alpha was drawn as an array and a square X
    took the gradient (5, 5) as its own; alpha is a number now, and the vector optimised (w)
    must be the one given a gradient."""
    module = f"bayes_{int(passes)}"
    found, collected = collect_source(tmp_path, f"{module}.py", BAYES.replace("{prior}", prior))
    item = found[f"{module}.log_posterior"]
    assert "with respect to w," in item.how and "alpha=0.7" in item.how, item.how
    assert all(r.passed for r in item.check()) == passes
    assert all(r.passed for r in found[f"{module}.U"].check()) == passes
