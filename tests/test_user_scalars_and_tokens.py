"""A learnable Python-float scalar whose gradient only backward makes (``self.T`` beside a
``self.dT`` first written there) was a harness error ("parameters not known yet"); a network on
integer tokens, hinted as such, had its tokens cast to float64 and raised inside the user's own
embedding lookup, a raw traceback counted as a failure."""
from properties.search import hunt
from tests.owncode_loading import collect_source

SOURCE = '''
# gradcheck: TokenNet(); x=int(N, 4)<6; t=int(N, 4)<6
import numpy as np


class TempSoftmax:
    def __init__(self):
        self.T = 1.5

    def forward(self, x):
        z = x / self.T
        e = np.exp(z - z.max(axis=1, keepdims=True))
        self.x, self.y = x, e / e.sum(axis=1, keepdims=True)
        return self.y

    def backward(self, dout):
        dz = self.y * (dout - (dout * self.y).sum(axis=1, keepdims=True))
        self.dT = float(np.sum(dz * -self.x / self.T ** 2))
        return dz / self.T


class TokenNet:
    def __init__(self):
        rng = np.random.default_rng(0)
        self.params = {"E": rng.standard_normal((6, 3)), "W": rng.standard_normal((3, 6))}

    def _logits(self, x):
        self.h = np.tanh(self.params["E"][x])
        return self.h @ self.params["W"]

    def loss(self, x, t):
        z = self._logits(x)
        z = z - z.max(axis=-1, keepdims=True)
        self.p = np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)
        self.t, self.x = t, x
        return -np.mean(np.log(np.take_along_axis(self.p, t[..., None], -1)))

    def gradient(self, x, t):
        self.loss(x, t)
        dz = self.p.copy()
        np.put_along_axis(dz, t[..., None], np.take_along_axis(dz, t[..., None], -1) - 1, -1)
        dz /= t.size
        dW = np.einsum("ntd,ntv->dv", self.h, dz)
        dh = (dz @ self.params["W"].T) * (1 - self.h ** 2)
        dE = np.zeros_like(self.params["E"])
        np.add.at(dE, x, dh)
        return {"E": dE, "W": dW}
'''


def test_a_float_scalar_made_in_backward_and_a_token_network_are_checked(tmp_path):
    found, collected = collect_source(tmp_path, "scalars_tokens.py", SOURCE)
    assert not collected.skipped, [s.reason for s in collected.skipped]
    assert list(found["scalars_tokens.TempSoftmax"].entry.build(
        {}, __import__("numpy").random.default_rng(0), "float64").params) == ["T"]
    assert hunt("scalars_tokens.TempSoftmax", "grads_fd", max_examples=10, shrink=False) is None
    results = found["scalars_tokens.TokenNet"].check()
    assert results and all(r.passed for r in results), [r.message() for r in results]
