"""Losses of several inputs whose backward() takes no upstream gradient (a triplet loss's anchor,
positive and negative; a cosine loss's a and b), and points where a function is not defined.

Before, a loss was always given one input: a triplet loss ran on nothing and was skipped (its
sign slip unseen), and a cosine loss ran with b taken for a label, then crashed the harness
("KeyError: 'b'"). A loss with no targets was also called batch-coupled. And a cosine loss,
correct, failed at zero vectors, where it is 0/0 and no gradient exists."""
import numpy as np

from properties.cases import Case
from properties.search import hunt
from properties.second_look import undefined_here
from properties.trial import Trial
from tests.owncode_loading import collect_source

TRIPLET = '''
import numpy as np


class TripletLoss:
    def __init__(self, margin=1.0):
        self.margin = margin

    def forward(self, anchor, positive, negative):
        self.a, self.p, self.n = anchor, positive, negative
        self.m = (np.sum((anchor - positive) ** 2, axis=1) - np.sum((anchor - negative) ** 2, axis=1)
                  + self.margin)
        return np.mean(np.maximum(0, self.m))

    def backward(self):
        act = (self.m > 0).astype(self.a.dtype)[:, None] / self.a.shape[0]
        return act * 2 * (self.n - self.p), act * -2 * (self.a - self.p), {dn}
'''

COSINE = '''
import numpy as np


class CosineLoss:
    def forward(self, a, b):
        self.a, self.b = a, b
        self.na = np.linalg.norm(a, axis=1, keepdims=True)
        self.nb = np.linalg.norm(b, axis=1, keepdims=True)
        self.cos = np.sum(a * b, axis=1, keepdims=True) / (self.na * self.nb)
        return np.mean(1 - self.cos)

    def backward(self):
        n, a, b, na, nb, cos = self.a.shape[0], self.a, self.b, self.na, self.nb, self.cos
        return (-(b / (na * nb) - {da_term}) / n,
                -(a / (na * nb) - cos * b / nb ** 2) / n)


class ExpLoss:
    """exp(x) . x summed: inf on a whole region past exp's overflow, not at a point."""

    def forward(self, x):
        self.x = x
        return np.sum(np.exp(x) * x)

    def backward(self):
        return np.exp(self.x) * (1 + self.x)
'''


def _label(found, name):
    return next(lab for lab in found if lab.endswith("." + name))


def test_a_triplet_loss_takes_its_three_inputs_and_averages_over_the_batch(tmp_path):
    found, _ = collect_source(tmp_path, "triplet_ok.py", TRIPLET.format(dn="act * 2 * (self.a - self.n)"))
    entry = found[_label(found, "TripletLoss")].entry
    assert len(entry.input_shapes({}, 2)) == 3 and entry.batch_rule == "mean"
    for prop in ("grads_fd", "grads_tf", "batch_additive", "batch_resize", "shapes_dtypes"):
        assert hunt(entry.name, prop, max_examples=10, shrink=False) is None, prop


def test_its_sign_slip_on_one_input_fails_there(tmp_path):
    found, _ = collect_source(tmp_path, "triplet_bug.py", TRIPLET.format(dn="act * -2 * (self.a - self.n)"))
    failed = hunt(_label(found, "TripletLoss"), "grads_fd", max_examples=10)
    assert failed is not None and {r.tensor for r in failed.failures} == {"dnegative"}


def test_a_cosine_loss_is_undefined_at_zero_vectors_not_wrong(tmp_path):
    found, _ = collect_source(tmp_path, "cosine_ok.py", COSINE.format(da_term="cos * a / na ** 2"))
    label = _label(found, "CosineLoss")
    for prop in ("grads_tf", "grads_fd", "batch_resize"):
        assert hunt(label, prop, max_examples=25, shrink=False) is None, prop
    zero = Case(layer=label, config={}, dtype="float64", batch=1, kind="normal", seed=0,
                values=((0.0,) * 5, (1.0, 0.0, 2.0, 0.0, 1.0)))
    trial = Trial(zero, "grads_tf").setup()
    trial.run()
    assert undefined_here(trial)
    away = Case(layer=label, config={}, dtype="float64", batch=1, kind="normal", seed=0,
                values=((1.0, 0.5, 0.0, 0.0, 0.0), (1.0, 0.0, 2.0, 0.0, 1.0)))
    assert not undefined_here(Trial(away, "grads_tf").setup())


def test_a_slip_still_fails_and_a_forward_infinite_on_a_region_is_no_point_of_it(tmp_path):
    found, _ = collect_source(tmp_path, "cosine_bug.py", COSINE.format(da_term="0.0"))
    failed = hunt(_label(found, "CosineLoss"), "grads_fd", max_examples=10)
    assert failed is not None and {r.tensor for r in failed.failures} == {"da"}
    label = _label(found, "ExpLoss")
    over = Case(layer=label, config={}, dtype="float64", batch=1, kind="normal", seed=0,
                values=((800.0, 1.0, 0.0, 0.0, 0.0),))
    trial = Trial(over, "grads_tf").setup()
    trial.run()
    assert np.isinf(trial._own_out).all() and not undefined_here(trial)


PAIR = '''
import numpy as np


class CosineEmbeddingLoss:
    def forward(self, x1, x2, y):
        self.x1, self.x2, self.y = x1, x2, y
        self.n1 = np.linalg.norm(x1, axis=1, keepdims=True)
        self.n2 = np.linalg.norm(x2, axis=1, keepdims=True)
        self.cos = np.sum(x1 * x2, axis=1, keepdims=True) / (self.n1 * self.n2)
        sign = (2 * y - 1)[:, None]
        return np.mean(1 - sign * self.cos)

    def backward(self):
        n, x1, x2, n1, n2, cos = len(self.y), self.x1, self.x2, self.n1, self.n2, self.cos
        sign = (2 * self.y - 1)[:, None]
        dx1 = -sign * (x2 / (n1 * n2) - cos * x1 / n1 ** 2) / n
        dx2 = -sign * (x1 / (n1 * n2) - cos * x2 / n2 ** 2) / n
        return dx1, dx2
'''


def test_a_pair_loss_gets_binary_labels_and_float32_ones_for_its_dtype(tmp_path):
    """Its y was drawn as a class index up to the width (0..4) and as int64, whose arithmetic
    made its float32 gradients float64: a 'layer bug' the harness's own draw caused. Drawn 0 or
    1, and cast to float32 where int64 ones promote, it passes; a zero row at another batch
    size is 'outside domain' there too (batch_resize ran it on other labels and failed it)."""
    found, _ = collect_source(tmp_path, "pair_loss.py", PAIR)
    entry = found["pair_loss.CosineEmbeddingLoss"].entry
    labels = entry.targets({}, 6, np.random.default_rng(0), "float64")[0]
    assert set(np.unique(labels)) <= {0, 1}
    for prop in ("shapes_dtypes", "batch_resize", "grads_fd"):
        assert hunt(entry.name, prop, max_examples=25, shrink=False) is None, prop
    case = Case(layer=entry.name, config={}, dtype="float64", batch=2, kind="normal", seed=0,
                values=((1.0, 2.0, 0.0, 1.0, 0.5, 1.0, 0.0, 2.0, 1.0, 0.5),) * 2)
    trial = Trial(case, "batch_resize").setup()
    x2 = [np.vstack([x, np.zeros((1, 5))]) for x in trial.inputs]
    trial.run("dout2", inputs=x2, targets=[np.array([1, 0, 1])])
    assert undefined_here(trial)


CONTRASTIVE = '''
import numpy as np


class ContrastiveLoss:
    def __init__(self, margin=1.0):
        self.margin = margin

    def forward(self, x1, x2, y):
        self.diff, self.y = x1 - x2, y
        self.d = np.sqrt(np.sum(self.diff ** 2, axis=1))
        return np.mean(y * self.d ** 2 + (1 - y) * np.maximum(0, self.margin - self.d) ** 2) / 2

    def backward(self):
        hinge = np.maximum(0, self.margin - self.d)
        coef = self.y - (1 - self.y) * hinge / np.where(self.d > 0, self.d, 1.0)
        dx1 = coef[:, None] * self.diff / len(self.d)
        return dx1, -dx1
'''


def test_a_loss_whose_draw_is_zero_everywhere_is_drawn_again_for_its_batch_rule(tmp_path):
    """With 0/1 labels, a draw of three dissimilar pairs far apart is 0 for each: sum and mean
    agree, and the mean was taken for a sum (batch_additive then failed a correct loss)."""
    found, _ = collect_source(tmp_path, "pair_contrastive.py", CONTRASTIVE)
    entry = found["pair_contrastive.ContrastiveLoss"].entry
    assert entry.batch_rule == "mean"
    assert hunt(entry.name, "batch_additive", max_examples=25, shrink=False) is None


def test_a_slip_on_the_hinge_side_of_a_pair_loss_is_reached_with_pairs_drawn_close(tmp_path):
    """Drawn apart, a pair's distance is past the margin nearly always, the hinge is 0, and a
    hinge differentiated by d^2 for d passed; every other seed now draws the pair close."""
    buggy = CONTRASTIVE.replace("hinge / np.where(self.d > 0, self.d, 1.0)", "hinge")
    found, _ = collect_source(tmp_path, "pair_hinge_bug.py", buggy)
    entry = found["pair_hinge_bug.ContrastiveLoss"].entry
    assert entry.paired
    failed = hunt(entry.name, "grads_fd", max_examples=25)
    assert failed is not None and {r.tensor for r in failed.failures} <= {"dx1", "dx2"}


def test_a_case_of_a_pair_drawn_close_says_its_second_input_is_the_first_moved(tmp_path):
    """Its values showed the second input's own draws (zeros) where it was the first input:
    a new user went looking for a 0/0 that never happened."""
    found, _ = collect_source(tmp_path, "pair_shown.py", CONTRASTIVE)
    entry = found["pair_shown.ContrastiveLoss"].entry
    values = ((0.0, 0.0, 0.02), (0.0, 0.0, 0.0))
    shapes = [tuple(s) for s in entry.input_shapes({}, 1)]
    values = tuple(tuple(np.resize(v, int(np.prod(s)))) for v, s in zip(values, shapes))
    close, apart = (Case(layer=entry.name, config={}, dtype="float64", batch=1, kind="normal",
                         seed=seed, values=values) for seed in (0, 1))
    x1, x2 = close.inputs()
    assert np.array_equal(x1, x2)     # the second input: the first + 0.1 x its zeros
    said = [k for k in close.describe() if k.startswith("values")]
    assert said == ["values (every input after the first: the first + 0.1 x its own)"]
    assert "values" in apart.describe() and not np.array_equal(*apart.inputs())


TWO_TOWER = '''
import numpy as np


def in_batch_loss(user_emb, item_emb, tau=0.5):
    """Row i of item_emb is user i's positive, the batch's other rows its negatives."""
    B = user_emb.shape[0]
    s = user_emb @ item_emb.T / tau
    p = np.exp(s - s.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    g = p.copy()
    g[np.arange(B), np.arange(B)] -= 1.0
    g /= B * tau
    return -np.mean(np.log(np.diag(p))), (g @ item_emb, {item})
'''


def test_gradients_returned_as_one_tuple_after_the_loss_are_each_an_inputs(tmp_path):
    """``return loss, (d_user, d_item)`` was one gradient: item_emb was drawn as labels and
    the harness's own call raised in every check, blamed on the layer."""
    from tests.owncode_loading import hunt_alone
    item, failed = hunt_alone(tmp_path, "tower", TWO_TOWER.format(item="g.T @ user_emb"))
    assert len(item.entry.input_shapes({}, 2)) == 2 and not item.entry.has_targets, item.how
    assert failed is None, failed
    _, failed = hunt_alone(tmp_path, "tower_bug", TWO_TOWER.format(item="g @ user_emb"))
    assert failed is not None and {r.tensor for r in failed.failures} == {"ditem_emb"}


ACTOR_CRITIC = '''
import numpy as np


class ActorCriticLoss:
    """policy loss + vf_coef * 0.5 * MSE(values, returns) - ent_coef * entropy."""

    def __init__(self, vf_coef=0.5, ent_coef=0.01):
        self.vf_coef, self.ent_coef = vf_coef, ent_coef

    def forward(self, logits, values, actions, advantages, returns):
        N = logits.shape[0]
        z = logits - logits.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        p = np.exp(logp)
        ent = -(p * logp).sum(axis=1)
        self.saved = (p, logp, ent, actions, advantages, values, returns)
        return (-(logp[np.arange(N), actions] * advantages).mean()
                + self.vf_coef * 0.5 * ((values - returns) ** 2).mean() - self.ent_coef * ent.mean())

    def backward(self):
        p, logp, ent, actions, advantages, values, returns = self.saved
        N = p.shape[0]
        dlogits = p * advantages[:, None]
        dlogits[np.arange(N), actions] -= advantages
        dlogits = (dlogits + self.ent_coef * p * (logp + ent[:, None])) / N
        return dlogits, {scale} * (values - returns) / N
'''


def test_a_loss_of_scores_and_one_value_a_sample_gets_those_shapes(tmp_path):
    """An actor-critic loss of logits (N, A) and values (N,) was tried with both (6, 6) as one
    sample: dlogits came out (6, 6, 6) and a right file failed. A row of scores then one number
    a sample is tried before every input alike."""
    for name, scale, right in (("ac", "self.vf_coef", True), ("ac_bug", "1.0", False)):
        (tmp_path / name).mkdir()
        found, _ = collect_source(tmp_path / name, f"{name}.py", ACTOR_CRITIC.replace("{scale}", scale))
        item = found[f"{name}.ActorCriticLoss"]
        assert "logits (N, 4); values (N,): a row of scores" in item.how, item.how
        failed = hunt(f"{name}.ActorCriticLoss", "grads_fd", max_examples=10)
        assert (failed is None) == right
        if not right:
            assert {r.tensor for r in failed[1]} == {"dvalues"}


BERNOULLI = '''
import numpy as np


class BernoulliLogLikelihood:
    """forward(logits, x) -> ll (N,), x the data; backward(dll) -> dlogits."""

    def forward(self, logits, x):
        self.cache = (logits, x)
        return np.sum(x * logits - np.logaddexp(0.0, logits), axis=1)

    def backward(self, dll):
        logits, x = self.cache
        p = 0.5 * (1.0 + np.tanh(0.5 * logits))
        return dll[:, None] * ({x} - p)
'''


def test_a_backward_returning_one_array_differentiates_the_first_input_alone(tmp_path):
    """forward(logits, x) whose backward returns one array: x (an input's name) was taken as
    differentiable too, and every check failed as a contract ("dx is missing"). The data x is
    passed beside logits now, and the layer, no loss (its output is one number a sample),
    is checked as a layer."""
    for name, x, right in (("bern", "x", True), ("bern_bug", "(1 - x)", False)):
        (tmp_path / name).mkdir()
        found, collected = collect_source(tmp_path / name, f"{name}.py", BERNOULLI.replace("{x}", x))
        assert f"{name}.BernoulliLogLikelihood" in found, collected.skipped
        failed = hunt(f"{name}.BernoulliLogLikelihood", "grads_fd", max_examples=10)
        assert (failed is None) == right
        if not right:
            assert {r.tensor for r in failed[1]} == {"dlogits"} and \
                all(r.verdict != "contract" for r in failed[1])


BETA_VAE = '''
import numpy as np


class BetaVAELoss:
    """0.5 ||x_hat - x||^2 / N + beta KL(N(mu, exp(logvar)) || N(0, 1)) / N."""

    def __init__(self, beta=4.0):
        self.beta = beta

    def forward(self, x_hat, x, mu, logvar):
        self.saved = (x_hat, x, mu, logvar)
        N = x.shape[0]
        kl = 0.5 * np.sum(np.exp(logvar) + mu ** 2 - 1.0 - logvar)
        return (0.5 * np.sum((x_hat - x) ** 2) + self.beta * kl) / N

    def backward(self):
        x_hat, x, mu, logvar = self.saved
        N = x.shape[0]
        d_xhat = (x_hat - x) / N
        d_mu = self.beta * mu / N
        d_logvar = self.beta * 0.5 * (np.exp(logvar) - {one}) / N
        return d_xhat, d_mu, d_logvar
'''


def test_gradients_named_for_arguments_not_first_are_theirs(tmp_path):
    """forward(x_hat, x, mu, logvar) returning (d_xhat, d_mu, d_logvar): the gradients were
    taken for the first three arguments, x's among them, and d_logvar compared with mu's: a
    right loss failed. Named for x_hat, mu and logvar, they are theirs; x is data."""
    for name, one, right in (("bvae", "1.0", True), ("bvae_bug", "0.0", False)):
        (tmp_path / name).mkdir()
        found, _ = collect_source(tmp_path / name, f"{name}.py", BETA_VAE.replace("{one}", one))
        item = found[f"{name}.BetaVAELoss"]
        assert item.entry.input_shapes({}, 2) and "x: float" in item.how, item.how
        failed = hunt(f"{name}.BetaVAELoss", "grads_fd", max_examples=10)
        assert (failed is None) == right
        if not right:
            assert {r.tensor for r in failed[1]} == {"dlogvar"}, [r.message() for r in failed[1]]
