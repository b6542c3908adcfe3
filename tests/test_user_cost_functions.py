"""Functions that return a cost with its gradient (``scipy.optimize.minimize(fun, theta0, args,
jac=True)``), cost / gradient pairs, and classes with a ``loss_and_grad`` or ``cost`` /
``gradient`` methods: the Machine Learning course's Python ports, CS224n's word vectors and
flat-parameter network, factorization machines. None of it was recognised ("nothing
recognised to check"): 45 files of two new users, every slip in them unseen."""
import pytest

from tests.owncode_loading import collect_source

LOGISTIC = '''
import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def costFunctionReg(theta, X, y, lambda_):
    m = y.size
    h = sigmoid(X.dot(theta))
    reg = lambda_ / (2 * m) * np.sum(theta[1:] ** 2)
    J = -(y.dot(np.log(h)) + (1 - y).dot(np.log(1 - h))) / m + reg
    grad = X.T.dot(h - y) {scale}
    grad[1:] = grad[1:] + {l2} * theta[1:]
    return J, grad


def gradientDescent(X, y, theta, alpha, num_iters):
    J_history = []
    for _ in range(num_iters):
        J, g = costFunctionReg(theta, X, y, 0.0)
        theta = theta - alpha * g
        J_history.append(J)
    return theta, J_history
'''

NN_COST = '''
import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def nnCostFunction(nn_params, input_layer_size, hidden_layer_size, num_labels, X, y, lambda_=0.0):
    split = hidden_layer_size * (input_layer_size + 1)
    Theta1 = nn_params[:split].reshape(hidden_layer_size, input_layer_size + 1)
    Theta2 = nn_params[split:].reshape(num_labels, hidden_layer_size + 1)
    m = X.shape[0]
    a1 = np.hstack([np.ones((m, 1)), X])
    z2 = a1 @ Theta1.T
    a2 = np.hstack([np.ones((m, 1)), sigmoid(z2)])
    a3 = sigmoid(a2 @ Theta2.T)
    Y = np.eye(num_labels)[y]
    J = -np.sum(Y * np.log(a3) + (1 - Y) * np.log(1 - a3)) / m
    J += lambda_ / (2 * m) * (np.sum(Theta1[:, 1:] ** 2) + np.sum(Theta2[:, 1:] ** 2))
    d3 = a3 - Y
    d2 = (d3 @ Theta2)[:, 1:] * sigmoid(z2) * (1 - sigmoid(z2))
    G1 = d2.T @ a1 / m
    G2 = d3.T @ a2 / m {extra}
    G1[:, 1:] += lambda_ / m * Theta1[:, 1:]
    G2[:, 1:] += lambda_ / m * Theta2[:, 1:]
    return J, np.concatenate([G1.ravel(), G2.ravel()])
'''

COFI = '''
import numpy as np


def cofiCostFunc(params, Y, R, num_users, num_movies, num_features, lambda_):
    X = params[:num_movies * num_features].reshape(num_movies, num_features)
    Theta = params[num_movies * num_features:].reshape(num_users, num_features)
    E = (X @ Theta.T - Y) * R
    J = 0.5 * np.sum(E ** 2) + lambda_ / 2 * (np.sum(X ** 2) + np.sum(Theta ** 2))
    X_grad = E @ Theta + lambda_ * X
    Theta_grad = {theta_e}.T @ X + lambda_ * Theta
    return J, np.concatenate([X_grad.ravel(), Theta_grad.ravel()])
'''

PAIR = '''
import numpy as np


def computeCost(X, y, theta):
    m = y.shape[0]
    err = X @ theta - y
    return float(err.T @ err) / (2 * m)


def computeGradient(X, y, theta):
    m = y.shape[0]
    return X.T @ (X @ theta - y) / {m}
'''

# a chain of springs: its forces are minus the energy's gradient (a false alarm as a sign flip)
FORCES = '''
import numpy as np


def energy_and_forces(x, k=1.0):
    stretch = np.diff(x) - 1.0
    s = k * stretch
    dU = np.zeros_like(x)
    dU[:-1] -= s
    dU[1:] += s
    return 0.5 * k * np.sum(stretch ** 2), {sign}dU
'''

# REINFORCE: no forces in it (its name was read as one, and a right gradient failed as a sign flip)
REINFORCE = '''
import numpy as np


def reinforce_with_baseline(logits, actions, returns, baseline):
    N, A = logits.shape
    z = logits - logits.max(axis=1, keepdims=True)
    log_probs = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    adv = returns - baseline
    loss = -(log_probs[np.arange(N), actions] * adv).mean()
    dlogits = (np.exp(log_probs) - np.eye(A)[actions]) * adv[:, None] {over_n}
    return loss, dlogits
'''

# BPR over (user, positive item, negative item) ids: pos_items, neg_items were drawn as floats
BPR = '''
import numpy as np


def bpr_loss(user_emb, item_emb, users, pos_items, neg_items):
    u, i, j = user_emb[users], item_emb[pos_items], item_emb[neg_items]
    sig = 1.0 / (1.0 + np.exp(-np.sum(u * (i - j), axis=1)))
    g = -(1.0 - sig) / len(users)
    d_user, d_item = np.zeros_like(user_emb), np.zeros_like(item_emb)
    np.add.at(d_user, users, g[:, None] * (i - j))
    np.add.at(d_item, pos_items, g[:, None] * u)
    {scatter}
    return -np.mean(np.log(sig)), d_user, d_item
'''

FLAT_NET = '''
import numpy as np


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def forward_backward_prop(X, labels, params, dimensions):
    Dx, H, Dy = dimensions
    at = 0
    W1 = params[at:at + Dx * H].reshape(Dx, H); at += Dx * H
    b1 = params[at:at + H].reshape(1, H); at += H
    W2 = params[at:at + H * Dy].reshape(H, Dy); at += H * Dy
    b2 = params[at:at + Dy].reshape(1, Dy)
    h = 1.0 / (1.0 + np.exp(-(X @ W1 + b1)))
    yhat = softmax(h @ W2 + b2)
    cost = -np.sum(labels * np.log(yhat))
    d2 = yhat - labels
    dh = d2 @ W2.T * h * (1 - h)
    grads = [X.T @ dh, dh.sum(axis=0), h.T @ d2, d2.sum(axis=0)]
    return cost, np.concatenate([g.ravel() for g in {order}])
'''

NEG_SAMPLING = '''
import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def negSamplingLossAndGradient(centerWordVec, outsideWordIdx, outsideVectors, dataset, K=4):
    negatives = [dataset.sampleTokenIdx() for _ in range(K)]
    u_o = outsideVectors[outsideWordIdx]
    s_o = sigmoid(u_o @ centerWordVec)
    loss = -np.log(s_o)
    gradCenter = (s_o - 1.0) * u_o
    gradOutside = np.zeros_like(outsideVectors)
    gradOutside[outsideWordIdx] += (s_o - 1.0) * centerWordVec
    s_k = sigmoid(-outsideVectors[negatives] @ centerWordVec)
    loss -= np.sum(np.log(s_k))
    gradCenter += (1.0 - s_k) @ outsideVectors[negatives]
    {accumulate}
    return loss, gradCenter, gradOutside
'''
ADD_AT = "np.add.at(gradOutside, negatives, np.outer(1.0 - s_k, centerWordVec))"
ASSIGN = "gradOutside[negatives] += np.outer(1.0 - s_k, centerWordVec)"

FM = '''
import numpy as np


class FactorizationMachine:
    def __init__(self, n_features, k=2, seed=0):
        rng = np.random.default_rng(seed)
        self.w0 = 0.0
        self.w = np.zeros(n_features)
        self.V = rng.normal(scale=0.3, size=(n_features, k))

    def predict(self, X):
        XV = X @ self.V
        return self.w0 + X @ self.w + 0.5 * np.sum(XV ** 2 - (X ** 2) @ (self.V ** 2), axis=1)

    def loss_and_grad(self, X, y):
        err = self.predict(X) - y
        XV = X @ self.V
        dV = X.T @ (err[:, None] * XV) {pair_term}
        return 0.5 * np.sum(err ** 2), (err.sum(), X.T @ err, dV)
'''
FM_TERM = "- self.V * ((X ** 2).T @ err)[:, None]"

LOGISTIC_CLASS = '''
import numpy as np


class LogisticCost:
    def __init__(self, X, y, lmbda):
        self.X, self.y, self.lmbda = X, y, lmbda

    def cost(self, theta):
        m = len(self.y)
        h = 1 / (1 + np.exp(-self.X @ theta))
        J = -np.mean(self.y * np.log(h) + (1 - self.y) * np.log(1 - h))
        return J + self.lmbda / (2 * m) * np.sum(theta[1:] ** 2)

    def gradient(self, theta):
        m = len(self.y)
        h = 1 / (1 + np.exp(-self.X @ theta))
        grad = self.X.T @ (h - self.y) / m
        grad[1:] += self.lmbda {over_m} * theta[1:]
        return grad
'''


def _item(tmp_path, name, source, label, **changes):
    for k, v in changes.items():
        source = source.replace("{" + k + "}", v)
    found, collected = collect_source(tmp_path, f"{name}.py", source)
    assert label in found, {s.label: s.reason for s in collected.skipped}
    return found[label]


def _results(item):
    results = item.check()
    assert results
    return results


RIGHT = [
    (LOGISTIC, "costFunctionReg", dict(scale="/ m", l2="lambda_ / m"), "theta"),
    (NN_COST, "nnCostFunction", dict(extra=""), "nn_params"),
    (COFI, "cofiCostFunc", dict(theta_e="E"), "params"),
    (PAIR, "computeCost", dict(m="m"), "theta"),
    (FLAT_NET, "forward_backward_prop", dict(order="grads"), "params"),
    (NEG_SAMPLING, "negSamplingLossAndGradient", dict(accumulate=ADD_AT), "outsideVectors"),
    (FM, "FactorizationMachine", dict(pair_term=FM_TERM), "V"),
    (LOGISTIC_CLASS, "LogisticCost", dict(over_m="/ m"), "theta"),
    (FORCES, "energy_and_forces", dict(sign="-"), "x"),
    (REINFORCE, "reinforce_with_baseline", dict(over_n="/ N"), "logits"),
    (BPR, "bpr_loss", dict(scatter="np.add.at(d_item, neg_items, -g[:, None] * u)"), "item_emb"),
]


@pytest.mark.parametrize("source, name, changes, tensor", RIGHT, ids=[r[1] for r in RIGHT])
def test_a_right_cost_and_gradient_passes(tmp_path, source, name, changes, tensor):
    item = _item(tmp_path, "costs", source, f"costs.{name}", **changes)
    results = _results(item)
    assert all(r.passed for r in results), [r.message() for r in results if not r.passed][:1]
    assert tensor in {r.tensor for r in results}


WRONG = [
    (LOGISTIC, "costFunctionReg", dict(scale="", l2="lambda_ / m"), "theta", None),
    (LOGISTIC, "costFunctionReg", dict(scale="/ m", l2="lambda_ / (2 * m)"), "theta", None),
    (NN_COST, "nnCostFunction", dict(extra="/ m"), "nn_params", None),
    (COFI, "cofiCostFunc", dict(theta_e="(X @ Theta.T - Y)"), "params", None),
    (PAIR, "computeCost", dict(m="1"), "theta", "constant factor"),
    (FLAT_NET, "forward_backward_prop", dict(order="[grads[0], grads[2], grads[1], grads[3]]"),
     "params", None),
    (NEG_SAMPLING, "negSamplingLossAndGradient", dict(accumulate=ASSIGN), "outsideVectors", None),
    (FM, "FactorizationMachine", dict(pair_term=""), "V", None),
    (LOGISTIC_CLASS, "LogisticCost", dict(over_m=""), "theta", None),
    (FORCES, "energy_and_forces", dict(sign=""), "x", "sign flip"),   # a gradient named forces
    (REINFORCE, "reinforce_with_baseline", dict(over_n=""), "logits", None),
    (BPR, "bpr_loss", dict(scatter="d_item[neg_items] -= g[:, None] * u"), "item_emb", None),
]


@pytest.mark.parametrize("source, name, changes, tensor, diagnosis", WRONG,
                         ids=[f"{r[1]}-{i}" for i, r in enumerate(WRONG)])
def test_a_slip_in_the_gradient_is_caught(tmp_path, source, name, changes, tensor, diagnosis):
    item = _item(tmp_path, "costs", source, f"costs.{name}", **changes)
    failed = [r for r in _results(item) if not r.passed]
    assert failed and {r.tensor for r in failed} == {tensor}, [r.tensor for r in failed]
    assert {r.verdict for r in failed} == {"layer bug"}
    if diagnosis:
        assert (failed[0].diagnosis or {}).get("kind") == diagnosis, failed[0].diagnosis


def test_the_arguments_are_made_by_their_names(tmp_path):
    nn = _item(tmp_path, "nn", NN_COST, "nn.nnCostFunction", extra="")
    # sizes distinct, the flat vector as long as the sizes make it, lambda nonzero (even with a
    # default of 0.0: its terms must count), labels integers within num_labels
    assert "nn_params (41,); input_layer_size=3; hidden_layer_size=4; num_labels=5" in nn.how
    assert "lambda_=0.7" in nn.how and "y (6,) ints" in nn.how
    cofi = _item(tmp_path, "cofi", COFI, "cofi.cofiCostFunc", theta_e="E")
    assert "Y (4, 3) labels; R (4, 3) ints" in cofi.how        # (num_movies, num_users)
    flat = _item(tmp_path, "flat", FLAT_NET, "flat.forward_backward_prop", order="grads")
    assert "labels (6, 5) labels" in flat.how                  # one-hot rows, Dy wide


def test_a_factor_matrix_is_not_a_flat_vector_and_its_sizes_differ(tmp_path):
    source = '''
    import numpy as np


    def mf_loss_and_grad(P, Q, R, mask, lam=0.1):
        err = mask * (P @ Q.T - R)
        n = mask.sum()
        loss = np.sum(err ** 2) / n + lam * (np.sum(P ** 2) + np.sum(Q ** 2))
        return loss, 2 * err @ Q / n + 2 * lam * P, 2 * err.T @ P / n + 2 * lam * Q
    '''
    item = _item(tmp_path, "mf", source, "mf.mf_loss_and_grad")
    shapes = {n: item.how.split(f"; {n} ")[1].split(")")[0] + ")" for n in ("P", "Q", "R")}
    p, q = (tuple(int(d) for d in shapes[n].strip("()").split(", ")) for n in ("P", "Q"))
    assert len(p) == len(q) == 2 and p[0] != q[0], shapes      # users != items: R not square
    assert all(r.passed for r in _results(item))


def test_training_loops_and_steps_are_not_called_costs(tmp_path):
    source = LOGISTIC.replace("{scale}", "/ m").replace("{l2}", "lambda_ / m") + '''

def sgd_step(theta, X, y, lr=0.1):
    J, g = costFunctionReg(theta, X, y, 0.0)
    return J, theta - lr * g
'''
    found, collected = collect_source(tmp_path, "loops.py", source)
    assert set(found) == {"loops.costFunctionReg"}, set(found)
    assert not collected.skipped


def test_a_cost_pair_whose_arguments_fit_nothing_says_so(tmp_path):
    source = '''
    import numpy as np


    def cost(theta, table):
        return float(np.sum(theta ** 2)) + table["offset"]


    def gradient(theta, table):
        return 2 * theta
    '''
    found, collected = collect_source(tmp_path, "odd.py", source)
    assert "odd.cost" not in found
    reason = {s.label: s.reason for s in collected.skipped}["odd.cost"]
    assert "no arguments tried made it return (cost, gradient)" in reason and "# gradcheck: cost;" in reason


def test_a_cost_returning_named_gradients_that_no_arguments_fit_says_so(tmp_path):
    """A (loss, dtheta) function whose unpacking of theta no shape tried fits was "nothing
    recognised"; it is a cost beyond doubt, listed as not checked, with the hint to give.
    One returning a value beside no gradient by name stays unrecognised."""
    source = '''
    import numpy as np


    def {name}(theta, y0, obs, dt=0.05):
        a, b, c, d = theta
        p, q = y0
        r = a * p + b * q + c * d - obs.sum() * dt
        {second} = 2 * r * np.array([p, q, d, c])
        return r ** 2, {second}
    '''
    found, collected = collect_source(tmp_path, "odd.py", source.format(name="summary",
                                                                        second="spread"))
    assert not found and "odd.summary" not in {s.label for s in collected.skipped}
    (tmp_path / "named").mkdir()
    found, collected = collect_source(tmp_path / "named", "odd.py", source.format(
        name="loss_and_grad", second="dtheta"))
    reason = {s.label: s.reason for s in collected.skipped}["odd.loss_and_grad"]
    assert "no arguments tried made it return (cost, gradient)" in reason
    assert "# gradcheck: loss_and_grad; theta=" in reason
    (tmp_path / "nested").mkdir()      # its gradients as one tuple: return nll, (d_a, d_b)
    found, collected = collect_source(tmp_path / "nested", "odd.py", source.format(
        name="beta_nll", second="dtheta").replace("return r ** 2, dtheta",
                                                  "return r ** 2, (dtheta, dtheta)"))
    assert "odd.beta_nll" in {s.label for s in collected.skipped}, collected.skipped


def test_a_hint_gives_the_shapes(tmp_path):
    source = "# gradcheck: costFunctionReg; theta=(4,); X=(N, 4); y=int(N)<2; lambda_=1.5\n" + \
        LOGISTIC.replace("{scale}", "/ m").replace("{l2}", "lambda_ / m")
    item = _item(tmp_path, "hinted", source, "hinted.costFunctionReg")
    assert "theta (4,); X (6, 4)" in item.how and "lambda_=1.5" in item.how
    assert all(r.passed for r in _results(item))
