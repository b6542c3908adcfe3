"""Cost functions of the simulation style: physical params in a dict of numbers the function
reads by key (``params["k"]``), the data's shapes in its docstring. The dict was not opened
(no module dict nor initializer made it: "nothing recognised"), and where a cost was found its
arrays were guessed (an observed trajectory of 3 steps, where a slip in the reverse sweep
shows from 4 on). The keys it reads are the params now, and the docstring's shapes are tried
first."""
from tests.owncode_loading import collect_source

SPRING = '''
import numpy as np


def loss_and_grad(params, x0, v0, x_obs, dt=0.05):
    """x0, v0: (N,) initial states; x_obs: (T, N) observed positions."""
    k, c = params["k"], params["c"]
    xs, vs, x, v = [x0], [v0], x0, v0
    for _ in range(x_obs.shape[0]):
        x, v = x + dt * v, v + dt * (-k * x - c * v)
        xs.append(x)
        vs.append(v)
    r = np.array(xs[1:]) - x_obs
    gx, gv, dk, dc = np.zeros_like(x0), np.zeros_like(v0), 0.0, 0.0
    for t in reversed(range(x_obs.shape[0])):
        gx = gx + r[t] / r.size
        dk += np.sum(gv * dt * -xs[t])
        dc += np.sum(gv * dt * -vs[t])
        gx, gv = gx + gv * {dt}(-k), gx * dt + gv * (1.0 - dt * c)
    return 0.5 * np.mean(r ** 2), {"k": dk, "c": dc}
'''


def _item(tmp_path, name, dt):
    (tmp_path / name).mkdir()
    found, collected = collect_source(tmp_path / name, f"{name}.py", SPRING.replace("{dt}", dt))
    assert f"{name}.loss_and_grad" in found, {s.label: s.reason for s in collected.skipped}
    return found[f"{name}.loss_and_grad"]


def test_a_dict_of_numbers_read_by_key_is_the_params_and_the_docstring_shapes_the_data(tmp_path):
    item = _item(tmp_path, "spring", "dt * ")
    assert "params_k (); params_c ()" in item.how and "x_obs (4, 6)" in item.how, item.how
    results = item.check()
    assert results and all(r.passed for r in results), [r.message() for r in results][:1]


def test_a_dt_missing_in_the_reverse_sweep_is_caught(tmp_path):
    failed = [r for r in _item(tmp_path, "spring_bug", "").check() if not r.passed]
    assert failed and {r.tensor for r in failed} <= {"params_k", "params_c"}, failed
    # (a param of one number: any error is some multiple of it, no evidence of a decay slip)
    assert all(r.shown_diagnosis.get("kind") != "weight decay" for r in failed), failed


HEAT = '''
import numpy as np


def loss_and_grad(params, u0, u_target, dt=0.01, n_steps=20):
    """u0, u_target: (n,)"""
    r, us, u = params["D"] * dt, [u0], u0
    for _ in range(n_steps):
        u = u + r * (np.roll(u, 1) - 2 * u + np.roll(u, -1))
        us.append(u)
    lam, dD = u - u_target, 0.0
    for t in reversed(range(n_steps)):
        dD += np.sum(lam * (np.roll(us[t], 1) - 2 * us[t] + np.roll(us[t], -1))) * dt
        lam = lam + r * (np.roll(lam, 1) - 2 * lam + np.roll(lam, -1))
    return 0.5 * np.sum((u - u_target) ** 2), {"D": dD, "u0": {u0}}
'''


def test_a_gradient_the_dict_holds_for_another_argument_is_checked_too(tmp_path):
    """{"D": dD, "u0": lam}: only D was checked, and a u0 gradient three times too large passed
    unseen; a key naming another argument is that argument's gradient."""
    for name, u0, right in (("heat", "lam", True), ("heat_bug", "3 * lam", False)):
        (tmp_path / name).mkdir()
        found, _ = collect_source(tmp_path / name, f"{name}.py", HEAT.replace("{u0}", u0))
        results = found[f"{name}.loss_and_grad"].check()
        assert "u0" in {r.tensor for r in results}, found[f"{name}.loss_and_grad"].how
        assert all(r.passed for r in results) == right, [r.message() for r in results]


GP = '''
import numpy as np


class GPRegression:
    def __init__(self, X, y):
        self.X, self.y = X, y

    def neg_log_marginal_likelihood(self, theta):
        log_ell, log_sf2, log_sn2 = theta
        d2 = ((self.X[:, None, :] - self.X[None, :, :]) ** 2).sum(-1)
        Kf = np.exp(log_sf2 - 0.5 * d2 * np.exp(-2 * log_ell))
        K = Kf + np.exp(log_sn2) * np.eye(len(self.y))
        Kinv = np.linalg.inv(K)
        a = Kinv @ self.y
        nlml = 0.5 * self.y @ a + 0.5 * np.linalg.slogdet(K)[1]
        grads = []
        for dK in (Kf * d2 * np.exp(-2 * log_ell), Kf, np.exp(log_sn2) * np.eye(len(self.y))):
            grads.append(-0.5 * a @ dK @ a{trace})
        return nlml, np.array(grads)
'''


def test_a_method_named_as_a_cost_returning_its_gradients_in_one_vector_is_checked(tmp_path):
    """A GP's neg_log_marginal_likelihood(theta) -> (nlml, np.array(grads)) was "nothing
    recognised": a method named as a cost whose second value is its gradients put in one
    vector is a cost and its gradient; the 0.5 * tr(K^-1 dK) term left out is caught."""
    right = GP.replace("{trace}", " + 0.5 * np.trace(Kinv @ dK)")
    (tmp_path / "gp").mkdir()
    found, _ = collect_source(tmp_path / "gp", "gp.py", right)
    results = found["gp.GPRegression"].check()
    assert results and all(r.passed for r in results), [r.message() for r in results][:1]
    (tmp_path / "gp_bug").mkdir()
    found, _ = collect_source(tmp_path / "gp_bug", "gp_bug.py", GP.replace("{trace}", ""))
    failed = [r for r in found["gp_bug.GPRegression"].check() if not r.passed]
    assert failed and {r.tensor for r in failed} == {"theta"}


PENDULUM = '''
import numpy as np


class PendulumFit:
    def __init__(self, a=2.0, c=0.2, dt=0.05, n_steps=12):
        self.theta, self.dt, self.n_steps = np.array([a, c]), dt, n_steps

    def loss_and_grad(self, y0, obs):
        """y0: (2,) angle and velocity; obs: (n_steps,) observed angles."""
        (a, c), dt = self.theta, self.dt
        ys, y = [], np.asarray(y0, float)
        for _ in range(self.n_steps):
            ys.append(y)
            y = y + dt * np.array([y[1], -a * np.sin(y[0]) - c * y[1]])
            ys[-1] = (ys[-1], y)
        e = np.array([y1[0] for _, y1 in ys]) - obs
        lam, dp = np.zeros(2), np.zeros(2)
        for i in reversed(range(self.n_steps)):
            lam = lam + np.array([2 * e[i] / self.n_steps, 0.0])
            y_i = ys[i][0]
            dp += dt * lam[1] * np.array([-np.sin(y_i[0]), -y_i[1]])
            lam = lam + dt * np.array([lam[1] * -a * np.cos(y_i[0]){term}, lam[0] - c * lam[1]])
        return np.mean(e ** 2), {"theta": dp}
'''


def test_a_methods_docstring_sizes_its_data_by_what_the_object_keeps(tmp_path):
    """``obs: (n_steps,)`` beside a constructor's n_steps=12: it was tried at every other
    length and not checked; the docstring's letter is the object's size now, and the object's
    step dt is a setting, not a param."""
    (tmp_path / "pend").mkdir()
    found, _ = collect_source(tmp_path / "pend", "pend.py", PENDULUM.replace("{term}", ""))
    item = found["pend.PendulumFit"]
    assert "obs (12,)" in item.how and "dt" not in item.how, item.how
    results = item.check()
    assert results and all(r.passed for r in results), [r.message() for r in results][:1]
    (tmp_path / "pend_bug").mkdir()
    found, _ = collect_source(tmp_path / "pend_bug", "pend_bug.py",
                              PENDULUM.replace("{term}", " * 0.5"))
    failed = [r for r in found["pend_bug.PendulumFit"].check() if not r.passed]
    assert failed and {r.tensor for r in failed} == {"theta"}


CHAIN = '''
import numpy as np


class SpringChain:
    def __init__(self, n=5, k=2.0, rest=0.5):
        self.n, self.k, self.rest = n, k, rest

    def energy(self, x):
        d = np.diff(np.concatenate([[0.0], x, [(self.n + 1) * self.rest]])) - self.rest
        return 0.5 * self.k * np.sum(d ** 2)

    def forces(self, x):
        t = self.k * (np.diff(np.concatenate([[0.0], x, [(self.n + 1) * self.rest]])) - self.rest)
        return {force}
'''


def test_an_energy_beside_its_forces_is_checked_as_minus_its_gradient(tmp_path):
    """energy(x) / forces(x) was nothing recognised; forces are minus the energy's gradient, so
    a force of the wrong sign (the gradient itself) fails and the right one passes."""
    for name, force, right in (("chain", "t[1:] - t[:-1]", True),
                               ("chain_bug", "t[:-1] - t[1:]", False)):
        (tmp_path / name).mkdir()
        found, _ = collect_source(tmp_path / name, f"{name}.py", CHAIN.replace("{force}", force))
        results = found[f"{name}.SpringChain"].check()
        assert results and all(r.passed for r in results) == right, [r.message() for r in results]
        assert right or "-SpringChain().forces(...)" in results[0].explanation


GMF_DICT = '''
import numpy as np


class GMF:
    def __init__(self, n_users, n_items, k=4, seed=0):
        rng = np.random.default_rng(seed)
        self.params = {"P": 0.1 * rng.standard_normal((n_users, k)),
                       "Q": 0.1 * rng.standard_normal((n_items, k)), "h": rng.standard_normal(k)}

    def loss_and_grads(self, users, items, labels):
        P, Q, h = self.params["P"], self.params["Q"], self.params["h"]
        pu, qi = P[users], Q[items]
        logit = (pu * qi) @ h
        dlogit = (1.0 / (1.0 + np.exp(-logit)) - labels) / len(labels)
        dz = dlogit[:, None] * h
        grads = {"P": np.zeros_like(P), "Q": np.zeros_like(Q), "h": (pu * qi).T @ dlogit}
        np.add.at(grads["P"], users, dz * qi)
        {scatter}
        return np.mean(np.logaddexp(0.0, logit) - labels * logit), grads
'''


def test_a_cost_class_keeping_its_params_in_a_dict_is_checked_by_its_entries(tmp_path):
    """``self.params = {...}`` beside loss_and_grads(users, items, labels) -> (loss, grads):
    no float attribute, and "nothing recognised"; the dict's entries are its params now."""
    for name, scatter, right in (
            ("gmf", "np.add.at(grads['Q'], items, dz * pu)", True),
            ("gmf_bug", "grads['Q'][items] += dz * pu", False)):
        (tmp_path / name).mkdir()
        found, _ = collect_source(tmp_path / name, f"{name}.py",
                                  GMF_DICT.replace("{scatter}", scatter))
        results = found[f"{name}.GMF"].check()
        assert results and all(r.passed for r in results) == right, [r.message() for r in results]
        assert right or {r.tensor for r in results if not r.passed} == {"Q"}


MAML = '''
import numpy as np


def loss_and_grad(params, X_tr, y_tr, X_val, y_val, inner_lr=0.1):
    """One inner SGD step on the train split, squared loss on val. params: {"w": (D,)}"""
    w, n = params["w"], X_tr.shape[0]
    w1 = w - inner_lr * X_tr.T @ (X_tr @ w - y_tr) / n
    r = X_val @ w1 - y_val
    dw = X_val.T @ r / X_val.shape[0]
    return 0.5 * np.mean(r ** 2), {"w": dw{second_order}}
'''


def test_a_params_dict_of_arrays_its_docstring_shapes_is_opened(tmp_path):
    """params: {"w": (D,)} read by key: it was nothing recognised; first-order MAML (the inner
    step's Hessian term left out) where the full meta-gradient is claimed is caught."""
    full = " - inner_lr * (X_tr.T @ (X_tr @ dw)) / n"
    for name, second, right in (("maml", full, True), ("maml_fo", "", False)):
        (tmp_path / name).mkdir()
        found, _ = collect_source(tmp_path / name, f"{name}.py",
                                  MAML.replace("{second_order}", second))
        item = found[f"{name}.loss_and_grad"]
        assert "params_w (5,)" in item.how, item.how
        results = item.check()
        assert results and all(r.passed for r in results) == right, [r.message() for r in results]


def test_a_cost_class_no_shapes_fit_suggests_a_vector_for_the_argument_optimised(tmp_path):
    """Its skip suggested beta=(N, 3) for a Cox model's coefficient vector."""
    source = '''
    import numpy as np


    class Cox:
        def __init__(self, X, time):
            self.X, self.time = X, time

        def neg_partial_loglik(self, beta):
            eta = self.X @ beta[:2] + beta[2] * beta[3]
            grad = -self.X.sum(0)
            return -np.sum(eta) + np.sum(self.time[:2]), grad
    '''
    _, collected = collect_source(tmp_path, "cox.py", source)
    reason = {s.label: s.reason for s in collected.skipped}["cox.Cox"]
    assert reason.endswith("# gradcheck: Cox(...); beta=(3,)"), reason


KALMAN = '''
import numpy as np


def innovation_loss(theta, obs, m0=0.0):
    """A steady-state scalar filter, theta = [a, K]: 0.5 sum e_t^2 and its gradient."""
    a, K = theta
    m, ms, es = m0, [], []
    for y in obs:
        ms.append(m)
        e = y - a * m
        es.append(e)
        m = a * m + K * e
    da = dK = 0.0
    gm = 0.0
    for t in reversed(range({first}, len(obs))):
        ge = es[t] + gm * K
        da += -ge * ms[t] + gm * ms[t]
        dK += gm * es[t]
        gm = -ge * a + gm * a
    return 0.5 * sum(e * e for e in es), np.array([da, dK])
'''


def test_a_loss_of_a_parameter_vector_no_x_and_y_fit_is_checked_as_a_cost(tmp_path):
    """innovation_loss(theta, obs) was tried as a loss of predictions and labels alone, and not
    checked; where no (x, y) fits, it is tried as a cost of its parameter vector: a reverse sweep
    stopping before t = 0 is caught."""
    for name, first, right in (("kalman", "0", True), ("kalman_bug", "1", False)):
        (tmp_path / name).mkdir()
        found, _ = collect_source(tmp_path / name, f"{name}.py", KALMAN.replace("{first}", first))
        results = found[f"{name}.innovation_loss"].check()
        assert results and all(r.passed for r in results) == right, [r.message() for r in results]


NEG_SAMPLING = '''
import numpy as np


def negative_sampling_loss(v_center, W_out, pos_ids, neg_ids):
    """word2vec's loss, a negative equal to the row's positive dropped.

    v_center: (N, D) centre vectors
    W_out:    (V, D) output vectors
    pos_ids:  (N,)   true context ids
    neg_ids:  (N, K) sampled negative ids
    Returns loss (mean over N), dv_center, dW_out.
    """
    N = v_center.shape[0]
    u_pos, u_neg = W_out[pos_ids], W_out[neg_ids]
    valid = neg_ids != pos_ids[:, None]
    s_pos = np.sum(u_pos * v_center, axis=1)
    s_neg = np.einsum("nkd,nd->nk", u_neg, v_center)
    loss = (np.logaddexp(0, -s_pos).sum() + (np.logaddexp(0, s_neg) * valid).sum()) / N
    g_pos = (1 / (1 + np.exp(-s_pos)) - 1) / N
    g_neg = {g_neg} / (1 + np.exp(-s_neg)) / N
    dv = g_pos[:, None] * u_pos + np.einsum("nk,nkd->nd", g_neg, u_neg)
    dW = np.zeros_like(W_out)
    np.add.at(dW, pos_ids, g_pos[:, None] * v_center)
    np.add.at(dW, neg_ids.ravel(), (g_neg[:, :, None] * v_center[:, None, :]).reshape(-1, W_out.shape[1]))
    return loss, dv, dW
'''


def test_index_arguments_the_docstring_shapes_index_the_table_it_documents(tmp_path):
    """pos_ids (N,) and neg_ids (N, K) beside W_out (V, D): no ids the search tried fit (its
    fixed [0, 2, 2] for every index argument), and the file was skipped. They are drawn now at
    their documented shapes below V's rows, with a repeat: a mask left out of the backward is
    caught, the right one passes."""
    for name, g_neg, right in (("sgns", "valid", True), ("sgns_bug", "1.0", False)):
        (tmp_path / name).mkdir()
        found, collected = collect_source(tmp_path / name, f"{name}.py",
                                          NEG_SAMPLING.replace("{g_neg}", g_neg))
        assert f"{name}.negative_sampling_loss" in found, collected.skipped
        results = found[f"{name}.negative_sampling_loss"].check()
        assert results and all(r.passed for r in results) == right, [r.message() for r in results]


def test_a_cost_no_arguments_fit_suggests_every_argument_at_its_documented_shape(tmp_path):
    """The hint suggested for a cost no arguments fit listed only its float arrays, each at
    (3,) whatever its docstring said; now every argument, at the documented shape, integers
    below the table's rows."""
    source = NEG_SAMPLING.replace("    N = v_center.shape[0]\n",
                                  "    raise RuntimeError('not here')\n")
    found, collected = collect_source(tmp_path, "odd.py", source)
    reason = {s.label: s.reason for s in collected.skipped}["odd.negative_sampling_loss"]
    assert ("# gradcheck: negative_sampling_loss; v_center=(N, 5); W_out=(4, 5); "
            "pos_ids=int(N)<4; neg_ids=int(N, 4)<4") in reason, reason
