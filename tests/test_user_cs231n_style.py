"""Assignment-style code (CS231n's): a model whose ``loss(X, y=None)`` returns the scores
without labels and ``(loss, grads)`` with them, and update rules ``adam(w, dw, config=None)
-> (next_w, config)``. Neither was recognised, and a folder holding a NaN-making Adam and a
net whose ``grads['W2']`` leaves out the regularisation term passed with exit 0, the two files
named nowhere (found by a new user). Both forms are now checked, a model also at ``reg=0.1``
(its default 0.0 hides that term), and a file where nothing is recognised is listed."""
import numpy as np

from properties.owncode_networks import check_network
from tests.owncode_loading import collect_source

TWO_LAYER = '''
import numpy as np


class TwoLayerNet:
    def __init__(self, input_dim=6, hidden_dim=5, num_classes=3, weight_scale=0.5, reg=0.0):
        rng = np.random.default_rng(0)
        self.reg = reg
        self.params = {"W1": weight_scale * rng.standard_normal((input_dim, hidden_dim)),
                       "b1": np.zeros(hidden_dim),
                       "W2": weight_scale * rng.standard_normal((hidden_dim, num_classes)),
                       "b2": np.zeros(num_classes)}

    def loss(self, X, y=None):
        W1, b1, W2, b2 = (self.params[k] for k in ("W1", "b1", "W2", "b2"))
        h = np.maximum(X @ W1 + b1, 0)
        scores = h @ W2 + b2
        if y is None:
            return scores
        p = np.exp(scores - scores.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        N = X.shape[0]
        loss = -np.log(p[np.arange(N), y]).mean()
        loss += 0.5 * self.reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
        d = p.copy()
        d[np.arange(N), y] -= 1
        d /= N
        grads = {"W2": h.T @ d{w2_reg}, "b2": d.sum(axis=0)}
        dh = d @ W2.T * (h > 0)
        grads["W1"] = X.T @ dh + self.reg * W1
        grads["b1"] = dh.sum(axis=0)
        return loss, grads
'''

RULES = '''
import numpy as np


def sgd_momentum(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity", np.zeros_like(w))
    v = config["momentum"] * v - config["learning_rate"] * dw
    config["velocity"] = v
    return w + v, config


def adam(w, dw, config=None):
    if config is None:
        config = {}
    for k, v in (("learning_rate", 1e-3), ("beta1", 0.9), ("beta2", 0.999), ("epsilon", 1e-8)):
        config.setdefault(k, v)
    config.setdefault("m", np.zeros_like(w))
    config.setdefault("v", np.zeros_like(w))
    config.setdefault("t", 0)
    {t_before}
    config["m"] = config["beta1"] * config["m"] + (1 - config["beta1"]) * dw
    config["v"] = config["beta2"] * config["v"] + (1 - config["beta2"]) * dw ** 2
    mt = config["m"] / (1 - config["beta1"] ** config["t"])
    vt = config["v"] / (1 - config["beta2"] ** config["t"])
    {t_after}
    return w - config["learning_rate"] * mt / (np.sqrt(vt) + config["epsilon"]), config
'''


def test_a_model_whose_loss_returns_loss_and_grads_is_checked_and_at_a_nonzero_reg(tmp_path):
    found, _ = collect_source(tmp_path, "net_ok.py", TWO_LAYER.replace("{w2_reg}", " + self.reg * W2"))
    assert set(found) == {"net_ok.TwoLayerNet", "net_ok.TwoLayerNet(reg=0.1)"}
    assert "loss(X, y) returns (loss, grads)" in found["net_ok.TwoLayerNet"].how
    for item in found.values():
        results = item.check()
        assert results and all(r.passed for r in results), [r.message() for r in results]


def test_its_gradient_leaving_out_the_reg_term_fails_at_reg_point_one(tmp_path):
    found, _ = collect_source(tmp_path, "net_noreg.py", TWO_LAYER.replace("{w2_reg}", ""))
    assert all(r.passed for r in found["net_noreg.TwoLayerNet"].check())   # reg 0: right
    failed = [r for r in found["net_noreg.TwoLayerNet(reg=0.1)"].check() if not r.passed]
    assert {r.tensor for r in failed if r.prop == "network_gradient"} == {"W2"}
    assert failed[0].explanation.startswith("loss(X, y)[1]['W2'] is not the derivative of "
                                            "loss(X, y)[0]"), failed[0].explanation


def test_update_rules_on_a_config_are_checked_as_optimizers(tmp_path):
    found, _ = collect_source(tmp_path, "optim_ok.py", RULES.replace(
        "{t_before}", 'config["t"] += 1').replace("{t_after}", ""))
    assert set(found) == {"optim_ok.sgd_momentum", "optim_ok.adam"}
    assert found["optim_ok.adam"].how.startswith("Adam optimizer on dicts")
    assert found["optim_ok.sgd_momentum"].how.startswith("Momentum optimizer on dicts")
    for item in found.values():
        assert all(r.passed for r in item.check())


def test_an_adam_counting_its_step_after_using_it_fails(tmp_path):
    found, _ = collect_source(tmp_path, "optim_bug.py", RULES.replace(
        "{t_before}", "").replace("{t_after}", 'config["t"] += 1'))
    assert all(r.passed for r in found["optim_bug.sgd_momentum"].check())
    with np.errstate(divide="ignore", invalid="ignore"):     # (its 1 - beta ** 0 is 0)
        assert not all(r.passed for r in found["optim_bug.adam"].check())


def test_a_file_where_nothing_is_recognised_is_listed_not_passed_over(tmp_path):
    source = "class Solver:\n    def train(self):\n        pass\n\n\ndef load_data():\n    pass\n"
    found, collected = collect_source(tmp_path, "solver.py", source)
    assert not found
    (skipped,) = collected.skipped
    assert skipped.label == "solver" and not skipped.unchecked
    assert skipped.reason.startswith("nothing recognised to check among Solver, load_data")
    found, collected = collect_source(tmp_path, "constants.py", "N_CLASSES = 10\n")
    assert not [s for s in collected.skipped if s.label == "constants"]   # defines nothing


def test_the_wrapped_model_is_the_users_own_params_dict():
    """The adapter steps the user's arrays, as the network check's step does."""
    from properties.discover_objects import LossReturnsGrads
    ns = {}
    exec(TWO_LAYER.replace("{w2_reg}", " + self.reg * W2"), ns)
    model = ns["TwoLayerNet"](reg=0.3)
    net = LossReturnsGrads(model)
    assert net.params is model.params
    x, t = np.random.default_rng(0).standard_normal((4, 6)), np.array([0, 2, 1, 2])
    assert np.isclose(net.loss(x, t), model.loss(x, t)[0])
    assert all(r.passed for r in check_network(lambda: LossReturnsGrads(
        ns["TwoLayerNet"](reg=0.3)), x, t, label="two_layer"))


def test_a_run_where_nothing_but_such_files_was_found_found_nothing():
    """Alone, such a file is 'found nothing to check' (exit 2), as before it was listed."""
    from types import SimpleNamespace
    from properties.check_cli import _Unchecked
    from properties.owncode import NOTHING_FOUND
    from properties.user_entry import Skipped
    listed = Skipped("solver", "solver.py", NOTHING_FOUND.format(defined="Solver"), False)
    other = Skipped("odd.Mystery", "odd.py", "cannot tell what to pass", True)
    for items, nothing in (([listed], True), ([listed, SimpleNamespace()], False),
                           ([listed, SimpleNamespace(skip=other)], False)):
        seen = _Unchecked()
        seen.pytest_collection_finish(SimpleNamespace(items=[
            i if isinstance(i, SimpleNamespace) else SimpleNamespace(skip=i) for i in items]))
        assert seen.nothing_recognised is nothing


def test_a_run_that_checked_nothing_is_never_a_pass():
    """Helper classes only (a forward and no backward: 'no gradient to check') exited 0, the
    status of a run where everything passed; nothing was checked. Now it is 'found nothing
    to check' (2); with something found and not checked, 3; with anything checked, 0."""
    from types import SimpleNamespace
    import pytest as pt
    from properties.check_cli import NOT_CHECKED, USAGE, _Unchecked, exit_status
    from properties.user_entry import Skipped
    helper = Skipped("act.Sigmoid", "act.py", "Sigmoid has a __call__() but no backward()", False)
    other = Skipped("odd.Mystery", "odd.py", "cannot tell what to pass", True)
    for items, status in (([helper], USAGE), ([helper, helper], USAGE),
                          ([helper, other], NOT_CHECKED), ([helper, None], 0), ([None], 0)):
        seen = _Unchecked()
        seen.pytest_collection_finish(SimpleNamespace(items=[
            SimpleNamespace() if i is None else SimpleNamespace(skip=i) for i in items]))
        got, said = exit_status(pt.ExitCode.OK, seen, ["act.py"])
        assert got == status, (items, said)
        assert ("found nothing to check in act.py" in said) == (status == USAGE)
        assert exit_status(pt.ExitCode.TESTS_FAILED, seen, ["act.py"])[0] == 1


DROPOUT = '''
import numpy as np


def dropout_forward(x, dropout_param):
    p, mode = dropout_param["p"], dropout_param["mode"]
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])
    mask = (np.random.rand(*x.shape) < p) / p {cast}
    out = x * mask if mode == "train" else x
    return out.astype(x.dtype, copy=False), (dropout_param, mask)


def dropout_backward(dout, cache):
    dropout_param, mask = cache
    return dout * mask if dropout_param["mode"] == "train" else dout
'''


def test_a_dropout_mask_from_np_random_rand_is_named_as_the_float64_in_a_float32_layer(tmp_path):
    """The assignment's skeleton casts its out, not its mask: dx comes back float64 for a
    float32 x, and the explanation listed causes that were not it."""
    from properties.search import hunt
    found, _ = collect_source(tmp_path, "drop.py", DROPOUT.replace("{cast}", ""))
    label = next(k for k in found if k.startswith("drop.dropout") and "(" not in k)
    failed = hunt(label, "shapes_dtypes", max_examples=25)   # (float32 training cases among them)
    assert failed is not None and "a mask from np.random.rand" in failed.failures[0].explanation
    found, _ = collect_source(tmp_path, "drop_cast.py",
                              DROPOUT.replace("{cast}", "\n    mask = mask.astype(x.dtype)"))
    label = next(k for k in found if k.startswith("drop_cast.dropout") and "(" not in k)
    assert hunt(label, "shapes_dtypes", max_examples=10, shrink=False) is None


BATCHNORM = '''
import numpy as np


def batchnorm_forward(x, gamma, beta, bn_param):
    mode, eps, momentum = bn_param["mode"], bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
    D = x.shape[1]
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(D, dtype=x.dtype))
    if mode == "train":
        mu, var = x.mean(axis=0), x.var(axis=0)
        xhat = (x - mu) / np.sqrt(var + eps)
        running_mean = {update_mean}
        running_var = momentum * running_var + (1 - momentum) * var
        cache = (xhat, gamma, var, eps)
    else:
        xhat = (x - running_mean) / np.sqrt(running_var + eps)
        cache = None
    bn_param["running_mean"], bn_param["running_var"] = running_mean, running_var
    return gamma * xhat + beta, cache


def batchnorm_backward(dout, cache):
    xhat, gamma, var, eps = cache
    N = dout.shape[0]
    dxhat = dout * gamma
    dx = (N * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0)) / (N * np.sqrt(var + eps))
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)
'''


def test_running_statistics_kept_in_a_bn_param_dict_are_checked(tmp_path):
    """CS231n's functional batch norm keeps them in bn_param, written by its first training
    forward: no running_stats check was made, and a momentum weighing the new batch passed."""
    from properties.search import hunt
    found, _ = collect_source(tmp_path, "bn_ok.py", BATCHNORM.replace(
        "{update_mean}", "momentum * running_mean + (1 - momentum) * mu"))
    assert found["bn_ok.batchnorm"].entry.running_stats == ("running_mean", "running_var")
    assert hunt("bn_ok.batchnorm", "running_stats", max_examples=10, shrink=False) is None
    found, _ = collect_source(tmp_path, "bn_swap.py", BATCHNORM.replace(
        "{update_mean}", "(1 - momentum) * running_mean + momentum * mu"))
    failed = hunt("bn_swap.batchnorm", "running_stats", max_examples=10)
    assert failed is not None and "running_mean" in {r.tensor for r in failed.failures}


def test_a_layer_with_a_loss_helper_is_still_a_layer(tmp_path):
    source = '''
import numpy as np


class SoftmaxWithLoss:
    def forward(self, x, t):
        e = np.exp(x - x.max(axis=1, keepdims=True))
        self.p, self.t = e / e.sum(axis=1, keepdims=True), t
        return -np.log(self.p[np.arange(len(t)), t]).mean()

    def backward(self, dout=1.0):
        d = self.p.copy()
        d[np.arange(len(self.t)), self.t] -= 1
        return dout * d / len(self.t)

    def loss(self, x, t=None):
        return self.forward(x, t) if t is not None else x
'''
    found, _ = collect_source(tmp_path, "swl.py", source)
    assert found["swl.SoftmaxWithLoss"].style == "attribute", found["swl.SoftmaxWithLoss"].how


def test_the_last_line_counts_what_was_not_checked_whatever_else_happened():
    """A folder run said "nothing failed, but 1 found could not be checked" where 22 other
    files had nothing recognised, and said nothing of what was not checked once anything
    failed. Now it lists both, failures or not; the files add nothing to the exit status
    (a folder's helper module is nothing to check)."""
    from types import SimpleNamespace
    import pytest as pt
    from properties.check_cli import NOT_CHECKED, _Unchecked, exit_status
    from properties.owncode import NOTHING_FOUND
    from properties.user_entry import Skipped
    files = [Skipped(f"ex{i}", f"ex{i}.py", NOTHING_FOUND.format(defined="costFunction"), False)
             for i in (1, 2)]
    other = Skipped("odd.Mystery", "odd.py", "cannot tell what to pass", True)
    seen = _Unchecked()
    seen.pytest_collection_finish(SimpleNamespace(items=[
        SimpleNamespace(skip=s) for s in (*files, other)] + [SimpleNamespace()]))
    status, said = exit_status(pt.ExitCode.OK, seen, ["code"])
    assert status == NOT_CHECKED and "odd.Mystery" in said
    assert "in 2 file(s) nothing was recognised: ex1, ex2" in said
    status, said = exit_status(pt.ExitCode.TESTS_FAILED, seen, ["code"])
    assert status == 1 and "1 found could not be checked: odd.Mystery" in said and "ex1, ex2" in said
    seen.labels = []
    status, said = exit_status(pt.ExitCode.OK, seen, ["code"])
    assert status == 0 and "everything checked passed; in 2 file(s) nothing was recognised" in said
