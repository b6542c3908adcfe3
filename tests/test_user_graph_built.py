"""A graph given to a layer's constructor (``GCNLayer(A, in_dim, out_dim)`` keeping
``self.A_hat``): its adjacency was taken for a size (``A=3``) and the layer "not checked".
The constructor now gets a random undirected graph; the inputs are that graph's nodes, one row
each, with no batch to resize or split (``batch_additive`` says why)."""
import numpy as np
from properties.battery import property_named
from properties.catalog import get
from properties.search import hunt
from properties.user_build import NODES, constructor_args
from tests.owncode_loading import collect_source

GCN = '''
import numpy as np


def normalize_adj(A):
    A = A + np.eye(A.shape[0])
    return A / A.sum(axis=1)[:, None]       # D^-1 (A + I): not symmetric


class GCNLayer:
    """H' = relu(A_hat @ H @ W + b), the graph fixed at construction."""

    def __init__(self, A, in_dim, out_dim, seed=0):
        rng = np.random.default_rng(seed)
        self.A_hat = normalize_adj(A)
        self.W = rng.normal(0, 0.5, (in_dim, out_dim))
        self.b = np.zeros(out_dim)

    def forward(self, H):
        self.AH = self.A_hat @ H
        self.Z = self.AH @ self.W + self.b
        return np.maximum(self.Z, 0)

    def backward(self, dout):
        dZ = dout * (self.Z > 0)
        self.dW = self.AH.T @ dZ
        self.db = dZ.sum(axis=0)
        return {A} @ (dZ @ self.W.T)
'''


def test_a_gcn_built_with_its_graph_is_checked_on_the_graphs_nodes(tmp_path):
    found, _ = collect_source(tmp_path, "gcn_built.py", GCN.replace("{A}", "self.A_hat.T"))
    (label,) = found
    assert f"({NODES}, 3): the {NODES} nodes of its A_hat ({NODES}, {NODES})" in found[label].how
    for prop in ("grads_fd", "linear_in_dout", "no_mutation"):
        assert hunt(label, prop, max_examples=10, shrink=False) is None, prop
    assert "the nodes of the graph it was built with" in \
        property_named("batch_additive").not_applicable(get(label))


def test_its_backward_with_the_adjacency_untransposed_is_caught(tmp_path):
    found, _ = collect_source(tmp_path, "gcn_built_bug.py", GCN.replace("{A}", "self.A_hat"))
    (label,) = found
    failed = hunt(label, "grads_fd", max_examples=10)
    assert failed is not None and {r.tensor for r in failed.failures} == {"dH"}


def test_a_constructors_adjacency_is_a_graph_and_an_actions_count_stays_a_size():
    class GraphConv:
        def __init__(self, A, in_features, out_features):
            pass

    class Policy:
        def __init__(self, d, a):
            pass

    class Normalised:
        def __init__(self, A_hat, d):
            pass

    A = constructor_args(GraphConv)["A"]
    assert A.shape == (NODES, NODES) and np.array_equal(A, A.T) and set(np.unique(A)) <= {0, 1}
    assert np.all(A.sum(axis=1) >= 1) and np.all(np.diag(A) == 0)   # no node alone
    assert isinstance(constructor_args(Policy)["a"], int)
    A_hat = constructor_args(Normalised)["A_hat"]
    assert np.allclose(A_hat, A_hat.T) and np.all(np.diag(A_hat) > 0)
