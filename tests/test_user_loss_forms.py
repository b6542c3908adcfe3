"""Loss functions as a new user wrote them, each "nothing recognised" or "not checked" before:
a ``loss_fn`` beside its ``loss_grad``; ``(loss, dlogits)`` from a name the cost words did not
know (``label_smoothing_cross_entropy``), its logits one row per label; gradients returned as
one tuple after the loss (``return loss, (d_anchor, d_positive, d_negative)``); and a name
ending in ``_loss`` whatever else it says (``sampled_softmax_loss``)."""
from properties.search import hunt
from properties.user_cost_grad import NOT_A_COST, SAYS_COST
from tests.owncode_loading import collect_source

PAIR = '''
import numpy as np


def loss_fn(y_pred, y_true):
    margin = np.maximum(0.0, 1.0 - y_true * y_pred)
    return np.mean(margin ** 2)


def loss_grad(y_pred, y_true):
    margin = np.maximum(0.0, 1.0 - y_true * y_pred)
    return {factor} * y_true * margin / y_pred.size
'''

SMOOTHED = '''
import numpy as np


def label_smoothing_cross_entropy(logits, y, smoothing=0.1):
    N, C = logits.shape
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    target = np.full_like(logits, smoothing / C)
    target[np.arange(N), y] += 1.0 - smoothing
    loss = -np.sum(target * log_probs) / N
    dlogits = (np.exp(log_probs) - {target}) / N
    return loss, dlogits
'''

TRIPLET = '''
import numpy as np


def triplet_loss(anchor, positive, negative, margin=0.2):
    d_pos = np.sum((anchor - positive) ** 2, axis=1)
    d_neg = np.sum((anchor - negative) ** 2, axis=1)
    active = ({active}).astype(float)[:, None] / len(anchor)
    loss = np.mean(np.maximum(0.0, d_pos - d_neg + margin))
    d_anchor = active * 2 * (negative - positive)
    return loss, (d_anchor, active * -2 * (anchor - positive), active * 2 * (anchor - negative))
'''


def _results(tmp_path, name, source):
    folder = tmp_path / name.removesuffix(".py")      # one file a folder: each collected alone
    folder.mkdir()
    found, _ = collect_source(folder, name, source)
    (label,) = [k for k in found if "(" not in k]     # (its options changed: entries of their own)
    return found[label], found[label].check()


def test_a_loss_fn_beside_its_loss_grad_is_checked(tmp_path):
    item, results = _results(tmp_path, "sq_hinge.py", PAIR.replace("{factor}", "-2.0"))
    assert "loss_grad(y_pred, y_true) as the gradient of the cost loss_fn" in item.how
    assert results and all(r.passed for r in results)
    _, results = _results(tmp_path, "sq_hinge_bug.py", PAIR.replace("{factor}", "-1.0"))
    assert any(not r.passed for r in results)


def test_a_cross_entropy_returning_dlogits_is_checked_with_a_label_per_row(tmp_path):
    item, results = _results(tmp_path, "ls.py", SMOOTHED.replace("{target}", "target"))
    assert "logits (6, 3); y (6,) ints" in item.how
    assert results and all(r.passed for r in results)
    _, results = _results(tmp_path, "ls_bug.py", SMOOTHED.replace(
        "{target}", "np.eye(C)[y]"))        # the smoothing left out of the gradient
    assert any(not r.passed for r in results)


def test_gradients_returned_as_one_tuple_after_the_loss_are_each_checked(tmp_path):
    item, results = _results(tmp_path, "triplet.py", TRIPLET.replace(
        "{active}", "d_pos - d_neg + margin > 0"))
    assert results and all(r.passed for r in results)
    assert {r.tensor for r in results} >= {"anchor", "positive", "negative"}
    _, results = _results(tmp_path, "triplet_bug.py", TRIPLET.replace(
        "{active}", "d_pos - d_neg + margin > -np.inf"))    # a gradient where the loss is 0
    assert any(not r.passed for r in results)


def test_a_name_ending_in_loss_is_a_cost_whatever_else_it_says():
    for name in ("sampled_softmax_loss", "nce_loss", "step_cost"):
        assert SAYS_COST.search(name)
    for name in ("sample_batch", "train", "update_params"):
        assert NOT_A_COST.search(name) and not SAYS_COST.search(name)


GAUSSIAN_NLL = '''
import numpy as np


def gaussian_nll_loss(mu, var, target):
    n = mu.size
    diff = target - mu
    loss = 0.5 * np.mean(np.log(var) + diff ** 2 / var)
    return loss, -diff / var / n, 0.5 * (1.0 / var - diff ** 2 / {var2}) / n
'''


def test_a_variance_is_drawn_positive(tmp_path):
    """``gaussian_nll_loss(mu, var, target)`` takes log(var): drawn as any real, no argument
    set gave a finite cost and the loss was "nothing recognised"."""
    item, results = _results(tmp_path, "gnll.py", GAUSSIAN_NLL.replace("{var2}", "var ** 2"))
    assert results and all(r.passed for r in results), [r.message() for r in results]
    _, results = _results(tmp_path, "gnll_bug.py", GAUSSIAN_NLL.replace("{var2}", "var"))
    assert any(not r.passed for r in results)


HUBER = '''
import numpy as np


def huber_loss(pred, target, delta=1.0):
    diff = pred - target
    quad = np.abs(diff) <= delta
    loss = np.where(quad, 0.5 * diff ** 2, delta * (np.abs(diff) - 0.5 * delta))
    return loss.mean(), np.where(quad, diff, {slope} * np.sign(diff)) / diff.size
'''


def test_a_loss_functions_float_option_at_1_is_also_checked_changed(tmp_path):
    """At delta = 1 a linear branch leaving delta out is right: the loss is also checked at
    delta = 0.7, where that slip shows."""
    folder = tmp_path / "right"
    folder.mkdir()
    found, _ = collect_source(folder, "huber.py", HUBER.replace("{slope}", "delta"))
    assert sorted(found) == ["huber.huber_loss", "huber.huber_loss(delta=0.7)"]
    for label in found:
        assert hunt(label, "grads_fd", max_examples=15, shrink=False) is None, label
    folder = tmp_path / "bug"
    folder.mkdir()
    found, _ = collect_source(folder, "huber_bug.py", HUBER.replace("{slope}", "1.0"))
    assert hunt("huber_bug.huber_loss", "grads_fd", max_examples=15) is None     # right at 1
    assert hunt("huber_bug.huber_loss(delta=0.7)", "grads_fd", max_examples=15) is not None


SOFTMAX_REG = '''
import numpy as np


def softmax_loss(W, X, y, reg):
    scores = X @ W
    scores -= scores.max(axis=1, keepdims=True)
    p = np.exp(scores)
    p /= p.sum(axis=1, keepdims=True)
    N = X.shape[0]
    loss = -np.log(p[np.arange(N), y]).mean() + reg * np.sum(W * W)
    p[np.arange(N), y] -= 1
    return loss, X.T @ p / N + {decay} * W
'''


def test_a_weight_decay_slip_is_named_by_the_gradient_the_user_returns(tmp_path):
    """reg * W for a cost adding reg * ||W||^2: the diagnosis named the gradient "1" (its index)
    and spoke of lambd / (2m) alone."""
    _, results = _results(tmp_path, "softmax_reg.py", SOFTMAX_REG.replace("{decay}", "2 * reg"))
    assert results and all(r.passed for r in results)
    _, results = _results(tmp_path, "softmax_reg_bug.py", SOFTMAX_REG.replace("{decay}", "reg"))
    (failed,) = {r.tensor: r for r in results if not r.passed}.values()
    said = failed.shown_diagnosis
    assert said["kind"] == "weight decay", failed.message()
    assert said["summary"].startswith("softmax_loss(W, X, y, reg)[1] is the cost's gradient plus")
    assert "2 * reg * W" in said["summary"]


GENERATOR = '''
import numpy as np


def generator_loss(logits_fake):
    """Non-saturating generator loss: -mean(log sigmoid(logits)); returns (loss, dlogits)."""
    N = logits_fake.shape[0]
    loss = np.mean(np.logaddexp(0.0, -logits_fake))
    return loss, (1.0 / (1.0 + np.exp(-logits_fake)) - 1.0) / {n}
'''


def test_a_lone_array_is_checked_at_the_first_shape_it_runs_at(tmp_path):
    """Its mean over logits (N,) divided by N: right for a vector, the form written. Tried on
    to a table (3, 4) for more distinct sizes (a preference for several arrays, where a
    transpose hides at equal sizes), it was 4 times off: a false alarm."""
    item, results = _results(tmp_path, "gen.py", GENERATOR.replace("{n}", "N"))
    assert "logits_fake (3,)" in item.how
    assert results and all(r.passed for r in results)
    _, results = _results(tmp_path, "gen_bug.py", GENERATOR.replace("{n}", "1.0"))
    assert any(not r.passed for r in results)


TIED = '''
import numpy as np


def tied_ae_loss(W, b, c, X):
    """H = tanh(X W + b), X_rec = H W^T + c; 0.5 * mean over samples of ||X_rec - X||^2."""
    m = X.shape[0]
    H = np.tanh(X @ W + b)
    err = H @ W.T + c - X
    loss = 0.5 * np.sum(err ** 2) / m
    dXrec = err / m
    dZ = (dXrec @ W) * (1 - H ** 2)
    return loss, (X.T @ dZ {decoder}, dZ.sum(axis=0), dXrec.sum(axis=0))
'''


def test_a_second_bias_named_c_is_an_array_and_a_tied_weight_is_checked(tmp_path):
    """W, b, c: an autoencoder's (an RBM's) two biases; c was taken for a regularisation
    strength (a number), and the loss was "nothing recognised"."""
    _, results = _results(tmp_path, "tied.py", TIED.replace("{decoder}", "+ dXrec.T @ H"))
    assert results and all(r.passed for r in results) and {"W", "b", "c"} <= {r.tensor for r in results}
    _, results = _results(tmp_path, "tied_bug.py", TIED.replace("{decoder}", ""))
    assert {r.tensor for r in results if not r.passed} == {"W"}


VAE = '''
import numpy as np


def init_vae(x_dim=5, z_dim=2, seed=0):
    rng = np.random.default_rng(seed)
    return {"W_mu": rng.standard_normal((x_dim, z_dim)) * 0.3,
            "W_lv": rng.standard_normal((x_dim, z_dim)) * 0.3}


def vae_forward_backward(x, eps, params):
    """A linear encoder's KL and reparameterised z; loss = mean(0.5 z^2) + KL."""
    N = x.shape[0]
    mu, lv = x @ params["W_mu"], x @ params["W_lv"]
    z = mu + np.exp(0.5 * lv) * eps
    kl = 0.5 * np.sum(np.exp(lv) + mu ** 2 - 1 - lv) / N
    loss = 0.5 * np.sum(z ** 2) / N + kl
    dz = z / N
    dmu = dz + mu / N
    dlv = dz * {half} * np.exp(0.5 * lv) * eps + 0.5 * (np.exp(lv) - 1) / N
    return loss, {"W_mu": x.T @ dmu, "W_lv": x.T @ dlv}
'''


def test_a_cost_named_forward_backward_with_its_params_dict_is_checked(tmp_path):
    """``vae_forward_backward(x, eps, params)`` beside ``init_vae``: read as half of a pair
    ("no vae_backward_backward beside it"); its params are made by ``init_vae`` and the data
    sized from them."""
    _, results = _results(tmp_path, "vae.py", VAE.replace("{half}", "0.5"))
    assert results and all(r.passed for r in results)
    _, results = _results(tmp_path, "vae_bug.py", VAE.replace("{half}", "1.0"))
    assert {r.tensor for r in results if not r.passed} == {"params_W_lv"}


def test_a_sparse_autoencoders_sparsity_and_its_weight_are_numbers():
    """UFLDL's ``sparse_autoencoder_cost(theta, visible_size, hidden_size, lambda_,
    sparsity_param, beta, data)``: sparsity_param and beta were drawn as arrays; ``beta`` first
    stays the vector optimised (``objective(beta, X, y)``)."""
    from properties.user_cost_args import _roles

    def sparse_autoencoder_cost(theta, visible_size, hidden_size, lambda_, sparsity_param, beta,
                                data):
        pass

    def objective(beta, X, y):
        pass
    def layernorm_loss(x, gamma, beta):
        pass
    roles = dict(_roles(sparse_autoencoder_cost))
    assert roles["sparsity_param"] == roles["beta"] == roles["lambda_"] == "hyper"
    assert dict(_roles(objective))["beta"] == "vector"
    assert dict(_roles(layernorm_loss))["beta"] == "array"     # a shift, beside no sparsity


ESTIMATOR = '''
import numpy as np


class SoftmaxRegression:
    """W is (n_classes, n_features); targets one-hot to loss/gradient; the loss summed."""

    def __init__(self, lr=0.01, n_iters=50):
        self.lr, self.n_iters = lr, n_iters

    def _probs(self, X):
        logits = X @ self.W.T + self.b
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def loss(self, X, Y):
        return -np.sum(Y * np.log(self._probs(X)))

    def gradient(self, X, Y):
        err = self._probs(X) - Y
        return err.T @ X, err.sum(axis=0)

    def fit(self, X, y):
        K = len(np.unique(y))
        Y = np.eye(K)[y]
        self.W, self.b = np.zeros((K, X.shape[1])), np.zeros(K)
        for _ in range(self.n_iters):
            gW, gb = self.gradient(X, Y)
            self.W -= self.lr * gW
            self.b -= self.lr * gb
        return self
'''


def test_data_beside_labels_is_still_searched_for_the_labels_form(tmp_path):
    """One array (X) and its labels: the labels' forms are searched on (one-hot rows first); a
    search stopping at the first that ran took a bare index for Y and failed a right model."""
    item, results = _results(tmp_path, "softreg.py", ESTIMATOR)
    assert "Y (6, 2) labels" in item.how, item.how
    assert results and all(r.passed for r in results)


MARGIN_RANKING = '''
import numpy as np


def margin_ranking_loss(pos, neg, margin=1.0):
    """Returns (loss, dpos, dneg)."""
    active = (pos - neg) < {edge}
    loss = np.maximum(margin - (pos - neg), 0).mean()
    dpos = -active.astype(pos.dtype) / pos.size
    return loss, dpos, -dpos
'''


def test_a_loss_returning_a_gradient_per_input_is_also_checked_at_its_option_changed(tmp_path):
    """``loss, dpos, dneg = margin_ranking_loss(pos, neg, margin=1.0)``: its variant at 0.7 was
    built with no second input (the arguments taken as inputs were dropped from its call) and
    silently left out, so a hinge ignoring the margin passed."""
    folder = tmp_path / "right"
    folder.mkdir()
    found, _ = collect_source(folder, "rank.py", MARGIN_RANKING.replace("{edge}", "margin"))
    assert sorted(found) == ["rank.margin_ranking_loss", "rank.margin_ranking_loss(margin=0.7)"]
    for label in found:
        assert hunt(label, "grads_fd", max_examples=15, shrink=False) is None, label
    folder = tmp_path / "bug"
    folder.mkdir()
    collect_source(folder, "rank_bug.py", MARGIN_RANKING.replace("{edge}", "1.0"))
    assert hunt("rank_bug.margin_ranking_loss(margin=0.7)", "grads_fd", max_examples=15) is not None


CAPSULE_MARGIN = '''
import numpy as np


def capsule_margin_loss(v, y, m_plus=0.9, m_minus=0.1, lam=0.5):
    """Margin loss on capsule lengths.

    v: output capsules, shape (N, K, D)
    y: integer class labels, shape (N,)
    returns (mean over the batch of the summed losses, dL/dv)
    """
    N, K, _ = v.shape
    T = np.zeros((N, K))
    T[np.arange(N), y] = 1.0
    length = np.sqrt(np.sum(v ** 2, axis=-1) + 1e-9)
    up, down = np.maximum(0.0, m_plus - length), np.maximum(0.0, length - m_minus)
    loss = np.sum(T * up ** 2 + lam * (1.0 - T) * down ** 2) / N
    dlen = (-2.0 * T * up + 2.0 * {lam} * (1.0 - T) * down) / N
    return loss, dlen[..., None] * v / length[..., None]
'''


def test_labels_one_per_sample_beside_a_3d_input_are_drawn_so(tmp_path):
    """v (N, K, D) and y (N,), as its docstring says: labels were drawn over v's leading axes
    (N, K), no documented shape ran, and the loss was checked on one sample without a batch
    axis (batch_additive skipped). Now y is drawn (N,) over K."""
    for name, lam, right in (("caps", "lam", True), ("caps_bug", "1.0", False)):
        (tmp_path / name).mkdir()
        found, _ = collect_source(tmp_path / name, f"{name}.py", CAPSULE_MARGIN.replace("{lam}", lam))
        label = f"{name}.capsule_margin_loss"
        assert "(N, 4, 5) from the docstring's v: (N, K, D); y: labels (N,)" in found[label].how, \
            found[label].how
        assert (hunt(label, "grads_fd", max_examples=15, shrink=False) is None) == right
    assert hunt("caps.capsule_margin_loss", "batch_additive", max_examples=5) is None
