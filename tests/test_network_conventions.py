"""A network whose loss layer is right by its convention (Deep Learning from Scratch's
``SoftmaxWithLoss``: log(y + 1e-7) forward, the exact (y - t) / N backward) warns, as the layer
check does, instead of failing every weight by a few tolerances; a stack bug beside it still
fails (``properties.network_conventions``)."""
import numpy as np

from properties.network_conventions import guarded_cross_entropy
from tests.owncode_loading import collect_source


class SoftmaxWithLoss:
    def __init__(self, delta=1e-7, exact=True):
        self.delta, self.exact = delta, exact

    def forward(self, x, t):
        z = np.exp(x - x.max(axis=1, keepdims=True))
        self.y, self.t = z / z.sum(axis=1, keepdims=True), t
        return -np.sum(np.log(self.y[np.arange(len(t)), t] + self.delta)) / len(t)


def _record(layer, x, t, dx=None):
    layer.forward(x, t)
    exact = layer.y.copy()
    exact[np.arange(len(t)), t] -= 1
    return {"args": (x, t), "dx": exact / len(t) if dx is None else dx, "before": layer}


def test_a_guarded_cross_entropy_with_the_exact_backward_is_named_so():
    rng = np.random.default_rng(0)
    x, t = rng.standard_normal((4, 3)) * 5, np.array([0, 2, 1, 2])
    said = guarded_cross_entropy(SoftmaxWithLoss(), _record(SoftmaxWithLoss(), x, t))
    assert said.startswith("log(p + 1e-07) inside its cross-entropy")
    assert guarded_cross_entropy(SoftmaxWithLoss(delta=0.0), _record(SoftmaxWithLoss(0.0), x, t)) == ""
    wrong = _record(SoftmaxWithLoss(), x, t)
    wrong["dx"] = wrong["dx"] * 2                     # a backward off by 2: no convention
    assert guarded_cross_entropy(SoftmaxWithLoss(), wrong) == ""


# Deep Learning from Scratch's layers, its loss taking log(y + {guard}) (tests/test_network_decay.py)
LAYERS = '''
import numpy as np
from collections import OrderedDict


class Affine:
    def __init__(self, W, b):
        self.W, self.b = W, b

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, dout):
        self.dW, self.db = self.x.T @ dout, dout.sum(axis=0)
        return dout @ self.W.T


class Tanh:
    def forward(self, x):
        self.out = np.tanh(x)
        return self.out

    def backward(self, dout):
        return dout * (1 - self.out ** 2)


class SoftmaxWithLoss:
    def forward(self, x, t):
        z = np.exp(x - x.max(axis=1, keepdims=True))
        self.y, self.t = z / z.sum(axis=1, keepdims=True), t
        return -np.sum(t * np.log(self.y{guard})) / len(t)

    def backward(self, dout=1):
        return dout * (self.y - self.t) / len(self.t)
'''

NET = LAYERS.replace("{guard}", " + 1e-7") + '''

class Net:
    def __init__(self, sizes=(4, 5, 3), scale=1.0, gain=10.0):
        rng = np.random.default_rng(0)
        self.params = {"W1": rng.standard_normal(sizes[:2]) * scale, "b1": np.zeros(sizes[1]),
                       "W2": rng.standard_normal(sizes[1:]) * gain, "b2": np.zeros(sizes[2])}
        self.layers = OrderedDict(Affine1=Affine(self.params["W1"], self.params["b1"]),
                                  Tanh1=Tanh(),
                                  Affine2=Affine(self.params["W2"], self.params["b2"]))
        self.last_layer = SoftmaxWithLoss()

    def predict(self, x):
        for layer in self.layers.values():
            x = layer.forward(x)
        return x

    def loss(self, x, t):
        return self.last_layer.forward(self.predict(x), t)

    def gradient(self, x, t):
        self.loss(x, t)
        dout = self.last_layer.backward(1)
        for layer in list(self.layers.values())[::-1]{skip}:
            dout = layer.backward(dout)
        return {"W1": self.layers["Affine1"].dW, "b1": self.layers["Affine1"].db,
                "W2": self.layers["Affine2"].dW, "b2": self.layers["Affine2"].db}
'''


def _network_results(folder, name, source):
    folder.mkdir()
    found, _ = collect_source(folder, name, source)
    (label,) = [f for f in found if f.endswith(".Net")]
    return found[label].check()


def test_a_network_right_by_its_losss_guard_warns_and_a_stack_bug_still_fails(tmp_path):
    """Logits of a few tens: the guard moves the loss by thousands of tolerances where a
    target's probability is small; the gradients are those of the exact cross-entropy."""
    results = _network_results(tmp_path / "right", "guarded_net.py", NET.replace("{skip}", ""))
    assert results and all(r.passed for r in results), [r.message() for r in results]
    warned = [r for r in results if r.warning]
    assert warned and all(r.verdict == "convention" and "log(p + 1e-07)" in r.explanation
                          for r in warned)
    results = _network_results(tmp_path / "bug", "guarded_net_bug.py",
                               NET.replace("{skip}", "[:2]"))    # the first Affine left out
    assert any(not r.passed for r in results)
