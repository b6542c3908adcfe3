"""Graph layers, weights kept in lists, and pairs that are no (out, cache) pairs. A GCN's
``A_hat`` / ``adj`` was drawn as a parameter (a gradient wanted for it) or not passed at all,
so a right ``gcn_forward(X, A_hat, W, b)`` failed as "layer raised"; a maxout's ``self.Ws =
[W1, W2]`` with ``self.dWs`` made in backward was never found, and its layer was driven on a
blind (6, 6, 3) input; Karpathy's ``policy_forward`` / ``policy_backward(eph, epdlogp)``
(reading a global) was driven as a cs231n pair and a right file failed; a backward taking
other than an upstream gradient first is now not driven as one."""
import numpy as np
import pytest

from properties.search import hunt
from tests.owncode_loading import collect_source

GCN = '''
import numpy as np


def gcn_forward(X, A_hat, W, b):
    AX = A_hat @ X
    return np.tanh(AX @ W + b), (A_hat, AX, W, np.tanh(AX @ W + b))


def gcn_backward(dout, cache):
    A_hat, AX, W, out = cache
    dz = dout * (1 - out ** 2)
    return {dx}, AX.T @ dz, dz.sum(axis=0)


class GraphConv:
    def __init__(self, in_features, out_features):
        rng = np.random.default_rng(0)
        self.W = rng.standard_normal((in_features, out_features)) * 0.5
        self.dW = np.zeros_like(self.W)

    def forward(self, x, adj):
        self.x, self.adj = x, adj
        return adj @ x @ self.W

    def backward(self, dout):
        self.dW = (self.adj @ self.x).T @ dout
        return {class_dx}
'''
RIGHT = dict(dx="A_hat.T @ (dz @ W.T)", class_dx="self.adj.T @ dout @ self.W.T")


def _source(**changes):
    text = GCN
    for k, v in {**RIGHT, **changes}.items():
        text = text.replace("{" + k + "}", v)
    return text


def test_an_adjacency_is_a_constant_input_of_the_nodes_by_the_nodes(tmp_path):
    """Drawn symmetric (an undirected graph, as GCNs take): a backward using A_hat for A_hat.T
    is right there, and is not failed."""
    found, collected = collect_source(tmp_path, "gcn_ok.py", _source())
    assert set(found) == {"gcn_ok.gcn", "gcn_ok.GraphConv"}, collected.skipped
    for label in found:
        assert "a normalised adjacency (nodes, nodes) of a random graph" in found[label].how
        for prop in ("grads_fd", "batch_resize"):
            assert hunt(label, prop, max_examples=5, shrink=False) is None, (label, prop)


@pytest.mark.parametrize("changes, label", [
    (dict(dx="dz @ W.T"), "gcn_bad_f.gcn"),                     # the graph left out of dX
    (dict(class_dx="dout @ self.W.T"), "gcn_bad_c.GraphConv"),
])
def test_a_slip_in_a_graph_layer_is_caught(tmp_path, changes, label):
    module = label.split(".")[0]
    found, _ = collect_source(tmp_path, f"{module}.py", _source(**changes))
    bad = hunt(label, "grads_fd", max_examples=5, shrink=False)
    assert bad is not None and {r.tensor for r in bad.failures} <= {"dX", "dx"}
    assert {r.verdict for r in bad.failures} <= {"layer bug", "layer vs fd"}


MAXOUT = '''
import numpy as np


class Maxout:
    def __init__(self, n_in, n_out, k=2):
        rng = np.random.default_rng(0)
        self.Ws = [rng.standard_normal((n_in, n_out)) for _ in range(k)]
        self.bs = [np.zeros(n_out) for _ in range(k)]

    def forward(self, x):
        self.x = x
        z = np.stack([x @ W + b for W, b in zip(self.Ws, self.bs)])
        self.best = z.argmax(axis=0)
        return z.max(axis=0)

    def backward(self, dout):
        self.dWs, self.dbs, dx = [], [], np.zeros_like(self.x)
        for i, W in enumerate(self.Ws):
            g = {routed}
            self.dWs.append(self.x.T @ g)
            self.dbs.append(g.sum(axis=0))
            dx += g @ W.T
        return dx
'''


@pytest.mark.parametrize("routed, caught", [("dout * (self.best == i)", False), ("dout", True)])
def test_weights_kept_in_lists_are_params_with_the_lists_backward_makes(tmp_path, routed, caught):
    module = f"maxout_{int(caught)}"
    found, collected = collect_source(tmp_path, f"{module}.py", MAXOUT.replace("{routed}", routed))
    entry = found[f"{module}.Maxout"]
    assert "(N, 3) from its first 2-D param Ws[0] (3, 2)" in entry.how, entry.how
    assert list(entry.entry.build({}, np.random.default_rng(0), "float64").params) == \
        ["Ws[0]", "Ws[1]", "bs[0]", "bs[1]"]
    bad = hunt(f"{module}.Maxout", "grads_fd", max_examples=10, shrink=False)
    assert (bad is not None) == caught
    if caught:        # every piece gets the gradient: the pieces that did not win are wrong
        assert {r.tensor for r in bad.failures} & {"dWs[0]", "dWs[1]", "dbs[0]", "dbs[1]"}


VALUE = '''
import numpy as np

params = {"W": np.random.randn(4, 3)}
xs = None


def value_forward(x):
    h = np.maximum(params["W"] @ x, 0)
    return h.sum(), h


def value_backward(hs, td_errors):
    dh = np.outer(td_errors, np.ones(4)) * (hs > 0)
    return {"W": dh.T @ xs}
'''


def test_a_pair_whose_backward_takes_no_upstream_gradient_is_not_driven_as_one(tmp_path):
    found, collected = collect_source(tmp_path, "critic.py", VALUE)
    assert not found
    (skip,) = collected.skipped
    assert skip.unchecked and "does not take an upstream gradient" in skip.reason


def test_a_graph_layer_is_said_to_couple_its_nodes_not_a_batch_statistic(tmp_path):
    from properties.user_batch_rule import GRAPH
    found, _ = collect_source(tmp_path, "gcn_rule.py", _source())
    assert found["gcn_rule.GraphConv"].entry.batch_rule == GRAPH
