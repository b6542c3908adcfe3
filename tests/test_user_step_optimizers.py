"""Optimizers written PyTorch's way: given their params at construction, moved by ``step()``.
They were not found at all ("found nothing to check", exit 2). They are now driven through the
dict-style trajectory check, each of the three ways of handing over params found by trying it:
objects with .data and .grad, (param, grad) pairs, a list of params and one of grads."""
import pytest

from properties.owncode import collect
from tests.owncode_loading import collect_source

SOURCE = '''
import numpy as np


class Optimizer:
    """A base: no step() of its own."""

    def __init__(self, params):
        self.params = list(params)

    def zero_grad(self):
        for p in self.params:
            p.grad = None


class SGD(Optimizer):
    def __init__(self, params, lr=0.1):
        super().__init__(params)
        self.lr = lr

    def step(self):
        for p in self.params:
            p.data = p.data {sgd} self.lr * p.grad


class MomentumSGD:
    def __init__(self, params_and_grads, lr=0.05, momentum=0.9):
        self.pairs, self.lr, self.momentum = params_and_grads, lr, momentum
        self.velocity = [np.zeros_like(p) for p, _ in params_and_grads]

    def step(self):
        for i, (p, g) in enumerate(self.pairs):
            self.velocity[i] = self.momentum * self.velocity[i] - self.lr * g
            p += self.velocity[i]


class Adam:
    def __init__(self, params, grads, lr=1e-3, betas=(0.9, 0.999), eps=1e-7):
        self.params, self.grads, self.lr, self.betas, self.eps = params, grads, lr, betas, eps
        self.t, self.m, self.v = 0, [0.0] * len(params), [0.0] * len(params)

    def step(self):
        self.t += 1
        b1, b2 = self.betas
        a = self.lr * np.sqrt(1 - b2 ** self.t) / (1 - b1 ** self.t)
        for i, (p, g) in enumerate(zip(self.params, self.grads)):
            self.m[i] = b1 * self.m[i] + (1 - b1) * g
            self.v[i] = b2 * self.v[i] + (1 - b2) * {square}
            p -= a * self.m[i] / (np.sqrt(self.v[i]) + self.eps)
'''


@pytest.fixture(scope="module")
def correct(tmp_path_factory):
    folder = tmp_path_factory.mktemp("step_ok")
    found, collected = collect_source(folder, "step_optims_ok.py",
                                      SOURCE.format(sgd="-", square="g * g"))
    return found, collected


@pytest.mark.parametrize("name, style", [("SGD", "params with .data and .grad"),
                                         ("MomentumSGD", "(param, grad) pairs"),
                                         ("Adam", "a list of params and one of grads")])
def test_each_way_of_handing_over_params_is_found_and_passes(correct, name, style):
    found, _ = correct
    item = found[f"step_optims_ok.{name}"]
    assert style in item.how and "step()" in item.how
    results = item.check()
    assert results and all(r.passed and not r.warning for r in results), results[0].message()


def test_a_base_class_without_step_is_not_an_optimizer(correct):
    found, collected = correct
    assert "step_optims_ok.Optimizer" not in found
    assert not [s for s in collected.skipped if s.label.endswith(".Optimizer") and s.unchecked]


@pytest.mark.parametrize("name, slip", [("SGD", dict(sgd="+", square="g * g")),
                                        ("Adam", dict(sgd="-", square="np.abs(g)"))])
def test_their_slips_fail_as_layer_bugs(tmp_path, name, slip):
    found, _ = collect_source(tmp_path, f"step_optims_bug_{name.lower()}.py", SOURCE.format(**slip))
    results = found[f"step_optims_bug_{name.lower()}.{name}"].check()
    failed = [r for r in results if not r.passed]
    assert failed and {r.verdict for r in failed} == {"layer bug"}


def test_a_step_that_cannot_be_driven_is_a_skip_saying_what_was_tried(tmp_path):
    (tmp_path / "step_odd.py").write_text(   # its params kept by name, looked up elsewhere
        "class Lookahead:\n    def __init__(self, params, lr=0.1):\n        self.names = params\n\n"
        "    def step(self):\n        pass\n")
    (skip,) = [s for s in collect([tmp_path]).skipped if s.label.endswith("Lookahead")]
    assert "cannot drive its step()" in skip.reason and "(param, grad) pairs" in skip.reason


def test_a_base_whose_step_is_not_implemented_is_listed_and_not_counted(tmp_path):
    (tmp_path / "step_base.py").write_text(
        "class BaseOptimizer:\n    def __init__(self, params, lr=0.1):\n        self.params = params\n\n"
        "    def step(self):\n        raise NotImplementedError\n")
    (skip,) = [s for s in collect([tmp_path]).skipped if s.label.endswith("BaseOptimizer")]
    assert "not implemented (a base class)" in skip.reason and not skip.unchecked


def test_a_scheduler_given_an_optimizer_is_no_optimizer(tmp_path):
    """PyTorch's StepLR has a step() too; it takes an optimizer, not params: it is no optimizer
    (it was a skip that made the run exit 3), but a scheduler (tests/test_user_schedulers.py)."""
    (tmp_path / "step_sched.py").write_text(
        "class StepLR:\n    def __init__(self, optimizer, step_size=10, gamma=0.1):\n"
        "        self.optimizer, self.step_size, self.gamma, self.t = optimizer, step_size, gamma, 0\n\n"
        "    def step(self):\n        self.t += 1\n")
    collected = collect([tmp_path])
    assert [f.style for f in collected.found] == ["scheduler"] and not collected.skipped


TORCH_SGD = '''
# gradcheck: HintedSGD(lr=0.05, momentum=0.5)
import numpy as np


class TorchSGD:
    def __init__(self, params, lr=0.01, momentum=0.0, dampening=0.0, nesterov=False):
        self.params, self.lr, self.momentum, self.nesterov = list(params), lr, momentum, nesterov
        self.dampening = dampening
        self.buf = [None] * len(self.params)

    def step(self):
        for i, p in enumerate(self.params):
            g = p.grad
            if self.momentum:
                self.buf[i] = g.copy() if self.buf[i] is None else \\
                    self.momentum * self.buf[i] + {fresh} * g
                g = g + self.momentum * self.buf[i] if self.nesterov else self.buf[i]
            p.data -= self.lr * g


class HintedSGD(TorchSGD):
    pass
'''


def test_an_optimizer_built_with_momentum_off_is_also_checked_with_it_on(tmp_path):
    """PyTorch's SGD defaults to momentum=0: its momentum and Nesterov paths were never run, and a
    momentum kept as an average passed. Each path its defaults leave off is now an entry of its
    own; the hint's keywords are the user's (a hinted momentum is kept, Nesterov added)."""
    (tmp_path / "ok").mkdir()
    (tmp_path / "bug").mkdir()
    found, _ = collect_source(tmp_path / "ok", "torch_sgd_ok.py",
                              TORCH_SGD.replace("{fresh}", "(1 - self.dampening)"))
    assert {"torch_sgd_ok.TorchSGD", "torch_sgd_ok.TorchSGD(momentum=0.9)",
            "torch_sgd_ok.TorchSGD(momentum=0.9, nesterov=True)",
            "torch_sgd_ok.HintedSGD", "torch_sgd_ok.HintedSGD(nesterov=True)"} <= set(found)
    assert found["torch_sgd_ok.TorchSGD"].how.startswith("SGD optimizer")
    assert found["torch_sgd_ok.TorchSGD(momentum=0.9, nesterov=True)"].how.startswith("Nesterov")
    assert found["torch_sgd_ok.HintedSGD"].how.startswith("Momentum")      # the hint's 0.5
    for label, item in found.items():
        if item.check is not None:
            assert all(r.passed for r in item.check()), label
    found, _ = collect_source(tmp_path / "bug", "torch_sgd_bug.py",
                              TORCH_SGD.replace("{fresh}", "(1 - self.momentum)"))
    results = found["torch_sgd_bug.TorchSGD(momentum=0.9)"].check()
    assert {r.verdict for r in results if not r.passed} == {"convention"}
    assert "keeps its momentum as an average" in next(r for r in results if not r.passed).explanation


def test_a_hint_keyword_the_constructor_does_not_take_is_said_not_ignored(tmp_path):
    found, collected = collect_source(tmp_path, "torch_sgd_typo.py", TORCH_SGD.replace(
        "{fresh}", "1").replace("momentum=0.5)", "momentum=0.5, bogus=1)"))
    (skip,) = [s for s in collected.skipped if s.label == "torch_sgd_typo.HintedSGD"]
    assert "unexpected keyword argument 'bogus'" in skip.reason


GROUPS_SGD = '''
import numpy as np


class SGD:
    """PyTorch's layout: every hyperparameter in param_groups (and defaults), none an attribute."""

    def __init__(self, params, lr=0.01, momentum=0.0, nesterov=False):
        self.defaults = dict(lr=lr, momentum=momentum, nesterov=nesterov)
        self.param_groups = [dict(params=list(params), **self.defaults)]
        self.state = {}

    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                d = p.grad
                if group["momentum"]:
                    buf = self.state.get(id(p))
                    buf = d.copy() if buf is None else group["momentum"] * buf + {fresh} * d
                    self.state[id(p)] = buf
                    d = d + group["momentum"] * buf if group["nesterov"] else buf
                p.data -= group["lr"] * d


class Adam:
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        self.param_groups = [dict(params=list(params), lr=lr, betas=betas, eps=eps)]
        self.state, self.t = {}, 0

    def step(self):
        self.t += 1
        for group in self.param_groups:
            b1, b2 = group["betas"]
            for p in group["params"]:
                m, v = self.state.get(id(p), (0.0, 0.0))
                m, v = b1 * m + (1 - b1) * p.grad, b2 * v + (1 - b2) * p.grad ** 2
                self.state[id(p)] = (m, v)
                mhat, vhat = m / (1 - b1 ** self.t), v / (1 - b2 ** self.t)
                p.data -= group["lr"] * mhat / (np.sqrt(vhat) + group["eps"])
'''


def test_hyperparameters_kept_in_param_groups_are_read_there(tmp_path):
    """PyTorch keeps lr, momentum, betas and eps in param_groups: such an optimizer was "cannot
    read its learning rate" (skipped), and once given an lr its momentum went unread, so its
    SGD(momentum=0.9) was compared with a Keras SGD without momentum: a false 'layer bug'."""
    (tmp_path / "ok").mkdir()
    (tmp_path / "bug").mkdir()
    found, collected = collect_source(tmp_path / "ok", "groups_ok.py",
                                      GROUPS_SGD.replace("{fresh}", "1"))
    assert not collected.skipped, [s.reason for s in collected.skipped]
    assert {"groups_ok.SGD", "groups_ok.SGD(momentum=0.9)",
            "groups_ok.SGD(momentum=0.9, nesterov=True)", "groups_ok.Adam"} <= set(found)
    assert found["groups_ok.SGD(momentum=0.9, nesterov=True)"].how.startswith("Nesterov")
    for label, item in found.items():
        assert all(r.passed for r in item.check()), label
    found, _ = collect_source(tmp_path / "bug", "groups_bug.py",
                              GROUPS_SGD.replace("{fresh}", "(1 - group['momentum'])"))
    assert not all(r.passed for r in found["groups_bug.SGD(momentum=0.9)"].check())


LIST_MOMENTUM = '''
import numpy as np


class MomentumOptimizer:
    """opt.update([W1, b1, W2, b2], [dW1, db1, dW2, db2]) moves them in place."""

    def __init__(self, learning_rate=0.01, momentum=0.9):
        self.learning_rate, self.momentum = learning_rate, momentum
        self.velocities = {}

    def update(self, params, grads):
        for i, (w, g) in enumerate(zip(params, grads)):
            key = {key}
            self.velocities[key] = self.momentum * self.velocities.get(key, 0.0) + g
            w -= self.learning_rate * self.velocities[key]
'''


def test_an_update_taking_lists_of_arrays_is_driven_with_lists(tmp_path):
    """``update(params, grads)`` over lists was handed dicts (iterating their keys: "'str'
    object has no attribute 'shape'"), and every such optimizer, right or not, failed as a
    contract. It is driven with lists of the dict's arrays now: one keeping its velocity per
    position passes, one keeping it per shape mixes the two params of one shape and fails."""
    for name, key, right in (("mom", "i", True), ("mom_bug", "w.shape", False)):
        (tmp_path / name).mkdir()
        found, _ = collect_source(tmp_path / name, f"{name}.py", LIST_MOMENTUM.replace("{key}", key))
        item = found[f"{name}.MomentumOptimizer"]
        assert "on lists of arrays" in item.how
        results = item.check()
        assert results and all(r.passed for r in results) == right, [r.message() for r in results]
        assert all(r.verdict != "contract" for r in results)


SCHEDULERS = '''
class _Scheduler:
    def __init__(self, optimizer, last_epoch=-1):
        self.optimizer, self.base_lr, self.last_epoch = optimizer, optimizer.lr, last_epoch
        self.step()

    def get_lr(self):
        raise NotImplementedError

    def step(self):
        self.last_epoch += 1
        self.optimizer.lr = self.get_lr()


class StepLR(_Scheduler):
    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return self.base_lr * self.gamma ** (self.last_epoch // self.step_size)
'''


def test_a_base_class_the_checked_classes_derive_from_is_not_counted(tmp_path):
    """A scheduler's abstract base made the file exit 3 ("not a pass") until a hint skipped it,
    though the scheduler built on it was checked and passed."""
    (tmp_path / "sched.py").write_text(SCHEDULERS)
    collected = collect([tmp_path])
    assert "sched.StepLR" in {f.label for f in collected.found}
    (skip,) = [s for s in collected.skipped if s.label == "sched._Scheduler"]
    assert not skip.unchecked and "a base class of StepLR, checked" in skip.reason
    (tmp_path / "alone").mkdir()
    (tmp_path / "alone" / "sched_base.py").write_text(SCHEDULERS.split("class StepLR")[0])
    (skip,) = [s for s in collect([tmp_path / "alone"]).skipped if s.label.endswith("_Scheduler")]
    assert skip.unchecked          # (alone, nothing checked through it: still counted)
