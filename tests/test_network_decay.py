"""Deep Learning from Scratch's ``MultiLayerNet(..., weight_decay_lambda=0)``: its decay term,
added to loss(), must be in gradient() too. At the default 0 a gradient leaving it out is
right, and a new user's such net passed; it is now also checked at weight_decay_lambda=0.1,
where the slip fails, diagnosed by its coefficient (its weights compared along random
directions too)."""
from tests.owncode_loading import collect_source
from tests.test_network_conventions import LAYERS

NET = LAYERS.replace("{guard}", "") + '''

class Net:
    def __init__(self, input_size=6, hidden_size=7, output_size=3, weight_decay_lambda=0):
        rng = np.random.default_rng(0)
        self.params = {"W1": rng.standard_normal((input_size, hidden_size)) * 0.5,
                       "b1": np.zeros(hidden_size),
                       "W2": rng.standard_normal((hidden_size, output_size)) * 0.5,
                       "b2": np.zeros(output_size)}
        self.weight_decay_lambda = weight_decay_lambda
        self.layers = OrderedDict(Affine1=Affine(self.params["W1"], self.params["b1"]),
                                  Tanh1=Tanh(),
                                  Affine2=Affine(self.params["W2"], self.params["b2"]))
        self.last_layer = SoftmaxWithLoss()

    def loss(self, x, t):
        for layer in self.layers.values():
            x = layer.forward(x)
        decay = sum(0.5 * self.weight_decay_lambda * np.sum(self.params[k] ** 2)
                    for k in ("W1", "W2"))
        return self.last_layer.forward(x, t) + decay

    def gradient(self, x, t):
        self.loss(x, t)
        dout = self.last_layer.backward(1)
        for layer in reversed(list(self.layers.values())):
            dout = layer.backward(dout)
        lam = self.weight_decay_lambda {decay}
        a1, a2 = self.layers["Affine1"], self.layers["Affine2"]
        return {"W1": a1.dW + lam * self.params["W1"], "b1": a1.db,
                "W2": a2.dW + lam * self.params["W2"], "b2": a2.db}
'''


def _checked(folder, name, source):
    folder.mkdir()
    found, _ = collect_source(folder, name, source)
    return {label: f.check() for label, f in found.items() if f.check is not None}


def test_a_decay_strength_defaulting_to_int_0_is_also_checked_at_0_1(tmp_path):
    right = _checked(tmp_path / "right", "decay_net.py", NET.replace("{decay}", ""))
    assert sorted(right) == ["decay_net.Net", "decay_net.Net(weight_decay_lambda=0.1)"]
    assert all(r.passed for results in right.values() for r in results)
    wrong = _checked(tmp_path / "bug", "decay_bug.py", NET.replace("{decay}", "* 0"))
    assert all(r.passed for r in wrong["decay_bug.Net"])               # right at 0
    failed = [r for r in wrong["decay_bug.Net(weight_decay_lambda=0.1)"] if not r.passed
              and r.prop == "network_gradient"]
    assert {r.tensor for r in failed} == {"W1", "W2"}
    assert all(r.verdict == "stack bug" and r.shown_diagnosis.get("kind") == "weight decay"
               for r in failed), [r.message() for r in failed]


def test_a_decay_on_the_biases_the_loss_leaves_out_is_no_stale_copy(tmp_path):
    """gradient() adding lam * b to the biases, which loss() does not decay: right at the
    initial biases (zeros), wrong after a step, where it was called "stale params" (a weight
    copied before). Its diagnosis names the decay term now, without that verdict."""
    source = NET.replace("{decay}", "").replace('"b1": a1.db,', '"b1": a1.db + lam * self.params["b1"],')
    checked = _checked(tmp_path / "bias", "bias_decay.py", source)
    after = [r for r in checked["bias_decay.Net(weight_decay_lambda=0.1)"]
             if not r.passed and r.tensor == "b1"]
    assert after and all(r.prop.endswith("_after_step") for r in after)
    assert all(r.verdict != "stale params" and r.shown_diagnosis.get("kind") == "weight decay"
               for r in after), [r.message() for r in after]
