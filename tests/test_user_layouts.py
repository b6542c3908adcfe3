"""Layers in TF's channels-last layout and per-channel layers whose gradients appear in backward:
found, sized and matched to a twin, where they were skipped ("no input shape made forward and
backward run"): a conv with a (KH, KW, C_in, C_out) kernel on (N, H, W, C), an instance norm
(its gamma (C,) probed only as (N, C) and (N, T, C)), a pool whose sizes are named ph and pw."""
from properties.search import hunt
from tests.owncode_loading import collect_source

SOURCE = '''
import numpy as np


class ConvNHWC:
    def __init__(self, in_channels, out_channels, kernel_size=3, stride=1):
        self.W = np.random.randn(kernel_size, kernel_size, in_channels, out_channels) * 0.1
        self.b = np.zeros(out_channels)
        self.stride, self.k = stride, kernel_size

    def forward(self, x):
        s, k = self.stride, self.k
        N, H, W, C = x.shape
        self.x = x
        Ho, Wo = (H - k) // s + 1, (W - k) // s + 1
        out = np.zeros((N, Ho, Wo, self.W.shape[3]))
        for i in range(Ho):
            for j in range(Wo):
                out[:, i, j] = np.tensordot(x[:, i * s:i * s + k, j * s:j * s + k], self.W, 3)
        return out + self.b

    def backward(self, dout):
        s, k = self.stride, self.k
        self.dW, self.db = np.zeros_like(self.W), dout.sum(axis=(0, 1, 2))
        dx = np.zeros_like(self.x)
        for i in range(dout.shape[1]):
            for j in range(dout.shape[2]):
                patch = self.x[:, i * s:i * s + k, j * s:j * s + k]
                self.dW += np.tensordot(patch, dout[:, i, j], axes=([0], [0]))
                dx[:, i * s:i * s + k, j * s:j * s + k] += np.tensordot(dout[:, i, j], self.W,
                                                                       axes=([1], [3]))
        return dx


class InstanceNorm2d:
    def __init__(self, num_channels, eps=1e-5):
        self.gamma, self.beta, self.eps = np.ones(num_channels), np.zeros(num_channels), eps

    def forward(self, x):
        mu = x.mean(axis=(2, 3), keepdims=True)
        self.std = np.sqrt(x.var(axis=(2, 3), keepdims=True) + self.eps)
        self.xhat = (x - mu) / self.std
        return self.gamma[None, :, None, None] * self.xhat + self.beta[None, :, None, None]

    def backward(self, dout):
        self.dgamma = (dout * self.xhat).sum(axis=(0, 2, 3))
        self.dbeta = dout.sum(axis=(0, 2, 3))
        g = dout * self.gamma[None, :, None, None]
        return (g - g.mean(axis=(2, 3), keepdims=True)
                - self.xhat * (g * self.xhat).mean(axis=(2, 3), keepdims=True)) / self.std


class Pool:
    def __init__(self, ph, pw, stride=2):
        self.ph, self.pw, self.stride = ph, pw, stride

    def forward(self, x):
        N, C, H, W = x.shape
        self.shape = x.shape
        return x.reshape(N, C, H // self.ph, self.ph, W // self.pw, self.pw).mean(axis=(3, 5))

    def backward(self, dout):
        up = np.repeat(np.repeat(dout, self.ph, axis=2), self.pw, axis=3)
        return up / (self.ph * self.pw)
'''


def test_channels_last_conv_instance_norm_and_a_pool_sized_ph_pw_are_found_and_pass(tmp_path):
    found, collected = collect_source(tmp_path, "layouts.py", SOURCE)
    assert not collected.skipped, [s.reason for s in collected.skipped]
    conv = next(f for lab, f in found.items() if lab.endswith(".ConvNHWC"))
    assert "channels last" in conv.how and "TF twin: conv2d: NHWC" in conv.how, conv.how
    for name in ("ConvNHWC", "InstanceNorm2d", "Pool"):
        for prop in ("grads_fd", "grads_tf", "batch_resize"):
            assert hunt(f"layouts.{name}", prop, max_examples=10, shrink=False) is None, (name, prop)


PEEPHOLE = '''
import numpy as np


def sig(a):
    return 1 / (1 + np.exp(-a))


class PeepholeLSTMCell:
    def __init__(self, input_size, hidden_size):
        D, H = input_size, hidden_size
        self.Wx, self.Wh, self.b = np.random.randn(D, 4 * H), np.random.randn(H, 4 * H), np.zeros(4 * H)
        self.p_i, self.p_f = np.random.randn(H), np.random.randn(H)
        self.H = H

    def forward(self, x, h_prev, c_prev):
        H = self.H
        a = x @ self.Wx + h_prev @ self.Wh + self.b
        i, f = sig(a[:, :H] + self.p_i * c_prev), sig(a[:, H:2 * H] + self.p_f * c_prev)
        g, o = np.tanh(a[:, 2 * H:3 * H]), sig(a[:, 3 * H:])
        c = f * c_prev + i * g
        self.cache = (x, h_prev, c_prev, i, f, g, o, np.tanh(c))
        return o * np.tanh(c), c

    def backward(self, dh, dc):
        x, h_prev, c_prev, i, f, g, o, tc = self.cache
        dct = dc + dh * o * (1 - tc ** 2)
        dai, daf = dct * g * i * (1 - i), dct * c_prev * f * (1 - f)
        da = np.concatenate([dai, daf, dct * i * (1 - g ** 2), dh * tc * o * (1 - o)], axis=1)
        self.dWx, self.dWh, self.db = x.T @ da, h_prev.T @ da, da.sum(axis=0)
        self.dp_i, self.dp_f = (dai * c_prev).sum(axis=0), (daf * c_prev).sum(axis=0)
        dc_prev = dct * f + {peephole_terms}
        return da @ self.Wx.T, da @ self.Wh.T, dc_prev
'''


def test_an_lstm_cell_with_peephole_weights_is_sized_from_its_recurrent_weights(tmp_path):
    """Its per-unit peepholes (H,) beside Wx, Wh and b made it "no recurrent layer": skipped
    (forward raised on every probe), and a dropped peephole term in dc_prev went unseen."""
    (tmp_path / "ok").mkdir()
    (tmp_path / "bug").mkdir()
    found, collected = collect_source(tmp_path / "ok", "peephole_ok.py", PEEPHOLE.replace(
        "{peephole_terms}", "dai * self.p_i + daf * self.p_f"))
    assert not collected.skipped, [s.reason for s in collected.skipped]
    assert "x (N, 3); h_prev (N, 2); c_prev (N, 2) from Wx (3, 8)" in \
        found["peephole_ok.PeepholeLSTMCell"].how
    assert hunt("peephole_ok.PeepholeLSTMCell", "grads_fd", max_examples=10, shrink=False) is None
    collect_source(tmp_path / "bug", "peephole_bug.py", PEEPHOLE.replace(
        "{peephole_terms}", "dai * self.p_i"))
    failed = hunt("peephole_bug.PeepholeLSTMCell", "grads_fd", max_examples=10)
    assert failed is not None and {r.tensor for r in failed.failures} == {"dc_prev"}


GUARDED_BN = '''
import numpy as np


class BatchNorm1d:
    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        self.weight, self.bias = np.ones(num_features), np.zeros(num_features)
        self.eps, self.momentum, self.training = eps, momentum, True
        self.running_mean, self.running_var = np.zeros(num_features), np.ones(num_features)

    def forward(self, x):
        if self.training and x.shape[0] < 2:
            raise ValueError("Expected more than 1 value per channel when training")
        if not self.training:
            return (x - self.running_mean) / np.sqrt(self.running_var + self.eps) * self.weight + self.bias
        mu, var = x.mean(0), x.var(0)
        n = x.shape[0]
        self.running_mean = (1 - self.momentum) * self.running_mean + self.momentum * mu
        self.running_var = (1 - self.momentum) * self.running_var + self.momentum * var * n / (n - 1)
        self.std = np.sqrt(var + self.eps)
        self.xhat = (x - mu) / self.std
        return self.xhat * self.weight + self.bias

    def backward(self, dout):
        self.dweight, self.dbias = (dout * self.xhat).sum(0), dout.sum(0)
        g = dout * self.weight
        return (g - g.mean(0) - self.xhat * (g * self.xhat).mean(0)) / self.std
'''


def test_a_batch_norm_refusing_one_sample_in_training_is_checked_on_two_or_more(tmp_path):
    """torch's BatchNorm raises on one value per channel in training; drawn at batch 1 it failed
    eight checks as 'layer raised'. Such a layer is now drawn at batch 2 and up."""
    found, _ = collect_source(tmp_path, "guarded_bn.py", GUARDED_BN)
    entry = found["guarded_bn.BatchNorm1d"].entry
    assert entry.min_batch == 2
    for prop in ("grads_tf", "batch_resize", "no_mutation", "running_stats"):
        assert hunt(entry.name, prop, max_examples=10, shrink=False) is None, prop


def test_a_batch_of_one_that_breaks_the_layers_arithmetic_is_still_drawn(tmp_path):
    """Only a refusal of the layer's own (a raise, an assert) makes it drawn at batch 2 and up:
    a squeeze that drops the batch axis at N = 1 is a bug, and batch 1 must keep finding it."""
    source = GUARDED_BN.replace("class BatchNorm1d:", "class Squeezing:").replace(
        '''        if self.training and x.shape[0] < 2:
            raise ValueError("Expected more than 1 value per channel when training")''',
        '''        x = np.squeeze(x) if self.training else x
        self.first_feature = x[:, 0]          # IndexError at N = 1: the batch axis is gone''')
    found, _ = collect_source(tmp_path, "squeezing_bn.py", source)
    assert found["squeezing_bn.Squeezing"].entry.min_batch == 1
