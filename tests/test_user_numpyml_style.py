"""Layers in numpy-ml's style: params in ``self.parameters`` (``{"W": None}`` until the first
forward builds them), gradients added into ``self.gradients``, every forward's input kept in
``self.X`` until ``flush_gradients()``. Its correct layers failed batch_resize and
linear_in_dout (the inputs of earlier calls were still kept), a batch norm keeping its running
statistics among its parameters could not be driven, and only dX was ever checked: the
parameters a first forward makes were not found, so a slip in dW passed."""
import numpy as np
import pytest

from properties.battery import all_properties
from properties.catalog import get
from properties.search import hunt
from tests.owncode_loading import collect_source

DRIVEN = ("grads_tf", "grads_fd", "no_mutation", "shapes_dtypes", "linear_in_dout",
          "batch_additive", "batch_resize", "accumulates")

BASE = '''
import numpy as np


class LayerBase:
    def __init__(self):
        self.X, self.trainable = [], True
        self.parameters, self.gradients, self.derived_variables = {}, {}, {}

    def flush_gradients(self):
        assert self.trainable, "Layer is frozen"
        self.X = []
        for k in self.derived_variables:
            self.derived_variables[k] = []
        for k, v in self.gradients.items():
            self.gradients[k] = np.zeros_like(v)
'''

DENSE = BASE + '''

class FullyConnected(LayerBase):
    def __init__(self, n_out=3):
        super().__init__()
        self.n_in, self.n_out, self.is_initialized = None, n_out, False
        self.parameters = {"W": None, "b": None}

    def _init_params(self):
        W = np.random.uniform(-1, 1, (self.n_in, self.n_out))
        b = np.random.uniform(-1, 1, (1, self.n_out))
        self.parameters = {"W": W, "b": b}
        self.gradients = {"W": np.zeros_like(W), "b": np.zeros_like(b)}
        self.is_initialized = True

    def forward(self, X, retain_derived=True):
        if not self.is_initialized:
            self.n_in = X.shape[1]
            self._init_params()
        if retain_derived:
            self.X.append(X)
        return np.tanh(X @ self.parameters["W"] + self.parameters["b"])

    def backward(self, dLdy, retain_grads=True):
        dX = []
        for dy, x in zip([dLdy], self.X):
            dZ = dy * {act_grad}
            dX.append(dZ @ self.parameters["W"].T)
            if retain_grads:
                self.gradients["W"] {add} x.T @ dZ
                self.gradients["b"] {add} dZ.sum(axis=0, keepdims=True)
        return dX[0] if len(self.X) == 1 else dX
'''
RIGHT = {"act_grad": '(1 - np.tanh(x @ self.parameters["W"] + self.parameters["b"]) ** 2)',
         "add": "+="}

NORM = BASE + '''

class BatchNorm1D(LayerBase):
    def __init__(self, epsilon=1e-5):
        super().__init__()
        self.epsilon, self.is_initialized = epsilon, False
        self.parameters = {"scaler": None, "intercept": None, "running_mean": None,
                           "running_var": None}

    def forward(self, X, retain_derived=True):
        if not self.is_initialized:
            n = X.shape[1]
            self.parameters = {"scaler": np.linspace(0.5, 1.5, n), "intercept": np.zeros(n),
                               "running_mean": np.zeros(n), "running_var": np.ones(n)}
            self.gradients = {"scaler": np.zeros(n), "intercept": np.zeros(n)}
            self.is_initialized = True
        mean, var = X.mean(axis=0), X.var(axis=0)
        self.parameters["running_mean"] = 0.9 * self.parameters["running_mean"] + 0.1 * mean
        self.parameters["running_var"] = 0.9 * self.parameters["running_var"] + 0.1 * var
        if retain_derived:
            self.X.append(X)
        xhat = (X - mean) / np.sqrt(var + self.epsilon)
        return self.parameters["scaler"] * xhat + self.parameters["intercept"]

    def backward(self, dLdy, retain_grads=True):
        X = self.X[0]
        n = X.shape[0]
        mean, var = X.mean(axis=0), X.var(axis=0)
        xhat = (X - mean) / np.sqrt(var + self.epsilon)
        dxhat = dLdy * self.parameters["scaler"]
        dX = (n * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0)) / (
            n * np.sqrt(var + self.epsilon))
        self.gradients["scaler"] += (dLdy * xhat).sum(axis=0)
        self.gradients["intercept"] += dLdy.sum(axis=0)
        return dX
'''

CELL = BASE + '''

class RNNCell(LayerBase):
    """One time step a forward; a backward steps back one time step (it counts them down)."""

    def __init__(self, n_out=3):
        super().__init__()
        self.n_out, self.is_initialized = n_out, False
        self.parameters = {"Wax": None, "Waa": None}
        self.derived_variables = {"A": [], "Z": [], "t": []}

    def forward(self, Xt):
        if not self.is_initialized:
            n_in = Xt.shape[1]
            self.parameters = {"Wax": np.random.uniform(-1, 1, (n_in, self.n_out)),
                               "Waa": np.random.uniform(-1, 1, (self.n_out, self.n_out))}
            self.gradients = {k: np.zeros_like(v) for k, v in self.parameters.items()}
            self.is_initialized = True
        A = self.derived_variables["A"]
        if not A:
            A.append(np.zeros((Xt.shape[0], self.n_out)))
        Z = A[-1] @ self.parameters["Waa"] + Xt @ self.parameters["Wax"]
        self.derived_variables["Z"].append(Z)
        A.append(np.tanh(Z))
        self.X.append(Xt)
        self.derived_variables["t"] = [len(self.X)]
        return A[-1]

    def backward(self, dLdAt):
        t = self.derived_variables["t"][0] - 1
        self.derived_variables["t"] = [t]
        dZ = (1 - np.tanh(self.derived_variables["Z"][t]) ** 2) * dLdAt
        self.gradients["Waa"] += self.derived_variables["A"][t].T @ dZ
        self.gradients["Wax"] += self.X[t].T @ dZ
        return dZ @ self.parameters["Wax"].T
'''


def _applying(label):
    props = all_properties()
    return [p for p in props if p in DRIVEN and not props[p].not_applicable(get(label))]


def _check(tmp_path, module, source, name):
    """(the Found, the properties that apply, the failures of each), as the battery runs them."""
    found, _ = collect_source(tmp_path, module, source)
    item = found[f"{module[:-3]}.{name}"]
    props = _applying(item.label)
    failures = []
    for prop in props:
        hit = hunt(item.label, prop, max_examples=8, shrink=False)
        failures += hit.failures if hit else []
    return item, props, failures


def _source(**changes):
    text = DENSE
    for k, v in {**RIGHT, **changes}.items():
        text = text.replace("{" + k + "}", v)
    return text


@pytest.mark.parametrize("module, source, name, params", [
    ("nml_dense.py", _source(), "FullyConnected", {"W", "b"}),
    ("nml_norm.py", NORM, "BatchNorm1D", {"scaler", "intercept"}),
    ("nml_cell.py", CELL, "RNNCell", {"Wax", "Waa"}),
])
def test_a_right_layer_passes_every_property_with_its_params_found(tmp_path, module, source,
                                                                   name, params):
    item, props, failures = _check(tmp_path, module, source, name)
    assert not failures, [r.message() for r in failures][:2]
    assert {"grads_fd", "batch_resize", "linear_in_dout"} <= set(props)
    assert set(item.entry.make({}, np.random.default_rng(0), "float64").params) == params


def test_accumulation_is_checked_where_a_second_backward_repeats_the_first(tmp_path):
    found, _ = collect_source(tmp_path, "nml_acc.py", _source() + CELL.replace(BASE, ""))
    assert "accumulates" in _applying("nml_acc.FullyConnected")
    assert "accumulates" not in _applying("nml_acc.RNNCell")


@pytest.mark.parametrize("change, props, tensors", [
    (dict(add="="), {"accumulates"}, {"W (second backward)", "b (second backward)"}),
    (dict(act_grad='(1 - np.tanh(x @ self.parameters["W"]) ** 2)'), {"grads_tf", "grads_fd"},
     {"dW", "db"}),
])
def test_a_slip_fails_on_the_param_it_is_in(tmp_path, change, props, tensors):
    _, _, failures = _check(tmp_path, f"nml_bug_{min(props)}.py", _source(**change),
                            "FullyConnected")
    assert any(r.prop in props and r.tensor in tensors and r.verdict == "layer bug"
               for r in failures), [(r.prop, r.tensor, r.verdict) for r in failures]


OPTIMIZER = '''
import numpy as np


class SGD:
    """numpy-ml's: hyperparameters in a dict, one cache per param name."""

    def __init__(self, lr=0.01, momentum=0.0):
        self.cache, self.hyperparameters = {}, {"id": "SGD", "lr": lr, "momentum": momentum}

    def update(self, param, param_grad, param_name, cur_loss=None):
        H = self.hyperparameters
        if param_name not in self.cache:
            self.cache[param_name] = np.zeros_like(param_grad)
        update = H["momentum"] * self.cache[param_name] + H["lr"] * param_grad
        self.cache[param_name] = update
        return param {sign} update
'''


@pytest.mark.parametrize("sign, passes", [("-", True), ("+", False)])
def test_an_optimizer_keeping_its_state_by_param_name_is_checked(tmp_path, sign, passes):
    found, _ = collect_source(tmp_path, f"nml_opt_{passes}.py", OPTIMIZER.replace("{sign}", sign))
    item = found[f"nml_opt_{passes}.SGD(momentum=0.9)"]       # momentum's path, as its own entry
    assert "update(w, grad, name) returning the new w, its state kept by name" in item.how
    assert item.how.startswith("Momentum optimizer")        # momentum read off hyperparameters
    assert all(r.passed for r in item.check()) == passes


def test_adams_decay_rates_named_decay1_and_decay2_are_read(tmp_path):
    """numpy-ml's Adam keeps its betas as hyperparameters["decay1"], ["decay2"]."""
    source = '''
import numpy as np


class Adam:
    def __init__(self, lr=0.001, decay1=0.9, decay2=0.999, eps=1e-7):
        self.cache = {}
        self.hyperparameters = {"lr": lr, "decay1": decay1, "decay2": decay2, "eps": eps}

    def update(self, param, param_grad, param_name, cur_loss=None):
        H = self.hyperparameters
        if param_name not in self.cache:
            self.cache[param_name] = {"t": 0, "mean": np.zeros_like(param_grad),
                                      "var": np.zeros_like(param_grad)}
        c = self.cache[param_name]
        c["t"] += 1
        c["mean"] = H["decay1"] * c["mean"] + (1 - H["decay1"]) * param_grad
        c["var"] = H["decay2"] * c["var"] + (1 - H["decay2"]) * param_grad ** 2
        m_hat = c["mean"] / (1 - H["decay1"] ** c["t"])
        v_hat = c["var"] / (1 - H["decay2"] ** c["t"])
        return param - H["lr"] * m_hat / (np.sqrt(v_hat) + H["eps"])
'''
    found, collected = collect_source(tmp_path, "nml_adam_names.py", source)
    assert "nml_adam_names.Adam" in found, [s.reason for s in collected.skipped]
    assert all(r.passed for r in found["nml_adam_names.Adam"].check())


@pytest.mark.parametrize("chain, passes", [("* act_fn.grad(z)", True), ("", False)])
def test_a_cost_gradient_through_its_activation_is_checked(tmp_path, chain, passes):
    """numpy-ml's grad(y, y_pred, z, act_fn): the gradient with respect to z, not y_pred. It
    was "does not take the loss's arguments", and a chain-rule slip in it passed unseen."""
    source = f'''
import numpy as np


class SquaredError:
    @staticmethod
    def loss(y, y_pred):
        return 0.5 * np.linalg.norm(y_pred - y) ** 2

    @staticmethod
    def grad(y, y_pred, z, act_fn):
        return (y_pred - y) {chain}
'''
    module = f"nml_sq_{passes}.py"
    found, collected = collect_source(tmp_path, module, source)
    item = found[f"{module[:-3]}.SquaredError"]
    assert "with respect to z where y_pred = act_fn(z)" in item.how
    assert all(r.passed for r in item.check()) == passes
