"""Whole networks whose input is not (N, D): a CNN, a recurrent regressor. Their batch was
always (3, rows of the first 2-D weight), so they were skipped ("loss(x, t) raised for one-hot
and for integer labels", no hint offered) and a hint's x= and t= were ignored. The batch now
follows the first weight (images for a conv kernel, a sequence after a flat input), the
targets the output's width (real targets first for one output), and a hint is used as given."""
import pytest

from tests.owncode_loading import collect_source

SOURCE = '''
import numpy as np


class TinyConvNet:
    """conv 3x3 (valid) -> relu -> global average -> dense -> softmax cross-entropy."""
    def __init__(self, channels=2, filters=3, classes=4):
        rng = np.random.default_rng(0)
        self.params = {"W1": rng.standard_normal((filters, channels, 3, 3)) * 0.3,
                       "W2": rng.standard_normal((filters, classes)) * 0.3}

    def _conv(self, x):
        W = self.params["W1"]
        N, C, H, Wd = x.shape
        out = np.zeros((N, W.shape[0], H - 2, Wd - 2))
        for i in range(H - 2):
            for j in range(Wd - 2):
                out[:, :, i, j] = np.tensordot(x[:, :, i:i + 3, j:j + 3], W, axes=([1, 2, 3], [1, 2, 3]))
        return out

    def predict(self, x):
        self.x, self.a = x, self._conv(x)
        self.r = np.maximum(self.a, 0)
        self.g = self.r.mean(axis=(2, 3))
        return self.g @ self.params["W2"]

    def loss(self, x, t):
        s = self.predict(x)
        e = np.exp(s - s.max(axis=1, keepdims=True))
        self.p, self.t = e / e.sum(axis=1, keepdims=True), t
        return -np.mean(np.log(self.p[np.arange(len(t)), t]))

    def gradient(self, x, t):
        self.loss(x, t)
        ds = self.p.copy()
        ds[np.arange(len(t)), t] -= 1
        ds /= len(t)
        grads = {"W2": self.g.T @ ds}
        dg = ds @ self.params["W2"].T
        hw = self.r.shape[2] * self.r.shape[3]
        da = (self.a > 0) * dg[:, :, None, None] / hw
        dW1 = np.zeros_like(self.params["W1"])
        for i in range(da.shape[2]):
            for j in range(da.shape[3]):
                dW1 += np.tensordot(da[:, :, i, j], self.x[:, :, i:i + 3, j:j + 3], axes=([0], [0]))
        grads["W1"] = dW1
        return grads


class TinyConvNetNoReluMask(TinyConvNet):
    def gradient(self, x, t):
        self.a = np.abs(self.a)        # (a no-op for the loss, already computed)
        g = super().gradient(x, t)
        return g


class RNNRegressor:
    """(N, T, D) -> last hidden state -> one real output; mean squared error."""
    def __init__(self, D=3, H=4):
        rng = np.random.default_rng(1)
        self.params = {"Wx": rng.standard_normal((D, H)) * 0.5, "Wh": rng.standard_normal((H, H)) * 0.5,
                       "Wo": rng.standard_normal((H, 1)) * 0.5}

    def loss(self, x, t):
        p, h = self.params, np.zeros((len(x), self.params["Wh"].shape[0]))
        self.hs = [h]
        for s in range(x.shape[1]):
            h = np.tanh(x[:, s] @ p["Wx"] + h @ p["Wh"])
            self.hs.append(h)
        self.x, self.y = x, h @ p["Wo"]
        return 0.5 * np.mean(np.sum((self.y - t) ** 2, axis=1))

    def gradient(self, x, t):
        self.loss(x, t)
        p = self.params
        dy = (self.y - t) / len(x)
        g = {"Wo": self.hs[-1].T @ dy, "Wx": np.zeros_like(p["Wx"]), "Wh": np.zeros_like(p["Wh"])}
        dh = dy @ p["Wo"].T
        for s in reversed(range(x.shape[1])):
            da = dh * (1 - self.hs[s + 1] ** 2)
            g["Wx"] += x[:, s].T @ da
            g["Wh"] += self.hs[s].T @ da
            dh = da @ p["Wh"].T
        return g


class RNNRegressorNoCarry(RNNRegressor):
    def gradient(self, x, t):
        self.loss(x, t)
        p = self.params
        dy = (self.y - t) / len(x)
        g = {"Wo": self.hs[-1].T @ dy, "Wx": np.zeros_like(p["Wx"]), "Wh": np.zeros_like(p["Wh"])}
        dh_last = dy @ p["Wo"].T
        for s in reversed(range(x.shape[1])):
            dh = dh_last if s == x.shape[1] - 1 else np.zeros_like(dh_last)
            da = dh * (1 - self.hs[s + 1] ** 2)
            g["Wx"] += x[:, s].T @ da
            g["Wh"] += self.hs[s].T @ da
        return g


# gradcheck: HintedNet(); x=(N, 2, 7, 7); t=int(N)<4
class HintedNet(TinyConvNet):
    pass


class NeedsAnOddBatch(TinyConvNet):
    def loss(self, x, t):
        if x.shape[0] != 7:
            raise ValueError("this net trains on batches of 7")
        return super().loss(x, t)
'''


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    return collect_source(tmp_path_factory.mktemp("netbatch"), "netbatch.py", SOURCE)


def test_a_cnn_gets_images_sized_from_its_kernel_and_labels_from_its_output(collected):
    how = collected[0]["netbatch.TinyConvNet"].how
    assert "x(3, 2, 6, 6) images, from the kernel (3, 2, 3, 3)" in how
    assert "t(3,) integer labels over 4 outputs" in how   # it indexes p[arange(N), t]
    results = collected[0]["netbatch.TinyConvNet"].check()
    assert results and all(r.passed for r in results), results[0].message()


def test_a_recurrent_regressor_gets_a_sequence_and_real_targets(collected):
    how = collected[0]["netbatch.RNNRegressor"].how
    assert "x(3, 4, 3) a sequence" in how and "t(3, 1) real targets" in how
    assert all(r.passed for r in collected[0]["netbatch.RNNRegressor"].check())


def test_their_bugs_are_caught(collected):
    failed = [r for r in collected[0]["netbatch.RNNRegressorNoCarry"].check() if not r.passed]
    assert {r.tensor for r in failed} >= {"Wx", "Wh"}


def test_a_hint_gives_the_batch(collected):
    assert "x(3, 2, 7, 7) from the hint, t(3,) from the hint" in collected[0]["netbatch.HintedNet"].how


def test_a_network_no_batch_fits_is_skipped_with_the_hint_to_add(collected):
    (skip,) = [s for s in collected[1].skipped if s.label == "netbatch.NeedsAnOddBatch"]
    assert "x=(N, ...); t=int(N)<K" in skip.reason and "# gradcheck: NeedsAnOddBatch(" in skip.reason
    # what the last try did, not "no finite number" alone (it raised)
    assert "the last, on x (3, 2, 32, 32), " in skip.reason and \
        "raised ValueError: this net trains on batches of 7" in skip.reason, skip.reason


WINDOWED = '''
import numpy as np


class SpectroNet:
    """frames (N, L) -> learnable window -> power spectrum -> linear -> MSE."""

    def __init__(self, L=8, K=2):
        n, f = np.arange(L)[:, None], np.arange(L // 2 + 1)[None, :]
        self.Cr, self.Ci = np.cos(2 * np.pi * n * f / L), np.sin(2 * np.pi * n * f / L)
        self.params = {"win": 0.5 - 0.5 * np.cos(2 * np.pi * (np.arange(L) + 0.5) / L),
                       "W": 0.1 * np.random.randn(L // 2 + 1, K)}

    def _forward(self, x):
        xw = x * self.params["win"]
        re, im = xw @ self.Cr, xw @ self.Ci
        P = re ** 2 + im ** 2
        return xw, re, im, P, P @ self.params["W"]

    def loss(self, x, t):
        return 0.5 * np.sum((self._forward(x)[-1] - t) ** 2) / x.shape[0]

    def gradient(self, x, t):
        xw, re, im, P, y = self._forward(x)
        dy = (y - t) / x.shape[0]
        dP = dy @ self.params["W"].T
        dxw = {two}dP * re @ self.Cr.T + {two}dP * im @ self.Ci.T
        return {"W": P.T @ dy, "win": np.sum(dxw * x, axis=0)}
'''


def test_a_network_whose_first_param_is_a_window_gets_its_width(tmp_path):
    """A learnable window (L,) first, then dense weights of the spectrum: the batch followed the
    first 2-D weight, (N, 5), no batch ran and the network was skipped. A first param of one
    axis now sizes x too: the right network passes, a factor 2 left out is caught on win."""
    for name, two, right in (("spec", "2 * ", True), ("spec_bug", "", False)):
        (tmp_path / name).mkdir()
        found, _ = collect_source(tmp_path / name, f"{name}.py", WINDOWED.replace("{two}", two))
        item = found[f"{name}.SpectroNet"]
        assert "x(3, 8) from the first param (8,)" in item.how, item.how
        results = item.check()
        assert results and all(r.passed for r in results) == right
        if not right:
            assert "win" in {r.tensor for r in results if not r.passed}


MULTI = '''
import numpy as np


class MultiLayerNet:
    """deep-learning-from-scratch's constructor: the hidden sizes come as a list."""
    def __init__(self, input_size, hidden_size_list, output_size):
        sizes = [input_size, *hidden_size_list, output_size]
        rng = np.random.default_rng(0)
        self.params = {}
        for i in range(len(sizes) - 1):
            self.params[f"W{i + 1}"] = rng.standard_normal((sizes[i], sizes[i + 1])) * 0.5
        self.n = len(sizes) - 1

    def loss(self, x, t):
        self.hs = [x]
        for i in range(1, self.n + 1):
            z = self.hs[-1] @ self.params[f"W{i}"]
            self.hs.append(np.tanh(z) if i < self.n else z)
        return 0.5 * np.sum((self.hs[-1] - t) ** 2) / len(x)

    def gradient(self, x, t):
        self.loss(x, t)
        d, grads = (self.hs[-1] - t) / len(x), {}
        for i in range(self.n, 0, -1):
            grads[f"W{i}"] = self.hs[i - 1].T @ d
            d = d @ self.params[f"W{i}"].T
            if i > 1:
                d = d * (1 - self.hs[i - 1] ** 2)
        return grads
'''


def test_a_list_of_hidden_sizes_is_built_as_a_list(tmp_path):
    from properties.user_build import call_expression
    found, _ = collect_source(tmp_path, "multi.py", MULTI)
    net = found["multi.MultiLayerNet"]
    assert "x(3, 3)" in net.how
    assert all(r.passed for r in net.check())
    import importlib.util
    spec = importlib.util.spec_from_file_location("multi_for_call", tmp_path / "multi.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert call_expression(module.MultiLayerNet) == \
        "MultiLayerNet(input_size=3, hidden_size_list=[4, 3], output_size=2)"


MODES = '''
import numpy as np


class BNNet:
    """x @ W1 -> batch norm (running variance starts at 0) -> x @ W2 -> MSE; loss(train_flg)."""
    def __init__(self):
        rng = np.random.default_rng(0)
        self.params = {"W1": rng.standard_normal((3, 4)), "W2": rng.standard_normal((4, 2))}
        self.running_var = np.zeros(4)

    def loss(self, x, t, train_flg=False):
        h = x @ self.params["W1"]
        if train_flg:
            self.mu, self.var = h.mean(axis=0), h.var(axis=0)
        else:
            self.mu, self.var = 0.0, self.running_var
        self.xhat = (h - self.mu) / np.sqrt(self.var)       # inf at inference on a fresh net
        self.x, self.y = x, self.xhat @ self.params["W2"]
        return 0.5 * np.sum((self.y - t) ** 2) / len(x)

    def gradient(self, x, t):
        self.loss(x, t, train_flg=True)
        n = len(x)
        dy = (self.y - t) / n
        dxhat = dy @ self.params["W2"].T
        dh = (dxhat - dxhat.mean(axis=0) - self.xhat * (dxhat * self.xhat).mean(axis=0)) \\
            / np.sqrt(self.var)
        return {"W2": self.xhat.T @ dy, "W1": self.x.T @ dh}


class StepRNN:
    """A target at every step: (N, T, D) -> (N, T, K), MSE."""
    def __init__(self):
        rng = np.random.default_rng(2)
        self.params = {"Wx": rng.standard_normal((3, 4)) * 0.5, "Wo": rng.standard_normal((4, 2))}

    def loss(self, x, t):
        n, steps, d = x.shape                  # sequences only
        self.x, self.h = x, np.tanh(x @ self.params["Wx"])
        self.y = self.h @ self.params["Wo"]
        return 0.5 * np.sum((self.y - t) ** 2) / len(x)

    def gradient(self, x, t):
        self.loss(x, t)
        dy = (self.y - t) / len(x)
        dh = dy @ self.params["Wo"].T * (1 - self.h ** 2)
        return {"Wo": np.einsum("ntk,ntj->kj", self.h, dy),
                "Wx": np.einsum("ntd,ntk->dk", self.x, dh)}
'''


def test_a_training_flag_and_per_step_targets_are_found_without_a_hint(tmp_path):
    found, collected = collect_source(tmp_path, "modes.py", MODES)
    assert not collected.skipped, collected.skipped
    assert "t(3, 2) one-hot over 2 outputs" in found["modes.BNNet"].how
    assert "x(3, 4, 3) a sequence" in found["modes.StepRNN"].how
    assert "t(3, 4, 2) real targets at every step" in found["modes.StepRNN"].how
    for label in ("modes.BNNet", "modes.StepRNN"):
        results = found[label].check()
        assert results and all(r.passed for r in results), results[0].message()


SPRINGS = '''
import numpy as np


class Springs:
    def __init__(self):
        self.params = {"c": np.array([0.2]), "k": np.ones((2, 1))}

    def loss(self, x0, target):
        return float(np.mean((x0 * self.params["c"][0] - target) ** 2)) + {extra}

    def gradient(self, x0, target):
        return {"c": np.array([0.0]), "k": np.zeros((2, 1))}
'''


def test_a_network_skip_names_what_it_tried_and_its_own_argument_names(tmp_path):
    """The hint suggested was always x= and t=, whatever loss names them; a network nothing
    sizes said "x none"."""
    found, collected = collect_source(tmp_path, "springs.py", SPRINGS.replace(
        "{extra}", "float(self.params['k'] @ np.ones((3, 1)))"))
    (skip,) = collected.skipped
    assert "x0=(N, ...); target=int(N)<K" in skip.reason, skip.reason
    (tmp_path / "bare").mkdir()
    found, collected = collect_source(tmp_path / "bare", "bare.py", SPRINGS.replace(
        "{extra}", "0.0").replace(', "k": np.ones((2, 1))', "").replace(', "k": np.zeros((2, 1))', ""))
    (skip,) = collected.skipped
    assert "no shape of x to try" in skip.reason and "x none" not in skip.reason, skip.reason
