"""Code in ML-From-Scratch's style. Its layers get their weights from ``initialize(optimizer)``,
told their input's shape by ``set_input_shape``, and hand each gradient to an optimizer copy
in ``backward_pass`` (``self.W = self.W_opt.update(self.W, grad_w)``). None of it was checked:
the layers raised on weights never made. (Its optimizers, activations and losses:
test_user_mlfromscratch_functions.py.)"""
import numpy as np
import pytest

from properties.battery import all_properties
from properties.catalog import get
from properties.search import hunt
from tests.owncode_loading import collect_source

LAYERS = '''
import copy
import math
import numpy as np


class Layer(object):
    def set_input_shape(self, shape):
        self.input_shape = shape

    def forward_pass(self, X, training):
        raise NotImplementedError()

    def backward_pass(self, accum_grad):
        raise NotImplementedError()


class Dense(Layer):
    def __init__(self, n_units, input_shape=None):
        self.layer_input, self.input_shape, self.n_units = None, input_shape, n_units
        self.trainable, self.W, self.w0 = True, None, None

    def initialize(self, optimizer):
        limit = 1 / math.sqrt(self.input_shape[0])
        self.W = np.random.uniform(-limit, limit, (self.input_shape[0], self.n_units))
        self.w0 = np.random.uniform(-limit, limit, (1, self.n_units))
        self.W_opt = copy.copy(optimizer)
        self.w0_opt = copy.copy(optimizer)

    def forward_pass(self, X, training=True):
        self.layer_input = X
        return X.dot(self.W) + self.w0

    def backward_pass(self, accum_grad):
        W = self.W
        if self.trainable:
            grad_w = {grad_w}
            grad_w0 = np.sum(accum_grad, axis=0, keepdims=True)
            self.W = self.W_opt.update(self.W, grad_w)
            self.w0 = self.w0_opt.update(self.w0, grad_w0)
        return accum_grad.dot({w_used}.T)


class DictDense(Layer):
    """Weights made in __init__, kept in a dict, (out, in) as PyTorch keeps them."""
    trainable = True

    def __init__(self, n_in=3, n_out=2):
        self.input_shape = (n_in,)
        self.params = {"W": np.random.randn(n_out, n_in), "b": np.random.randn(n_out)}

    def initialize(self, optimizer):
        self.opt = {name: copy.copy(optimizer) for name in self.params}

    def forward_pass(self, X, training=True):
        self.X = X
        return X @ self.params["W"].T + self.params["b"]

    def backward_pass(self, grad):
        W = self.params["W"]
        dW, db = grad.T @ self.X, grad.sum(axis=0)
        for name, g in (("W", dW), ("b", db)):
            self.params[name] = self.opt[name].update(self.params[name], g)
        return grad @ W


class AveragePooling2D(Layer):
    """Its output's size comes from input_shape, set by the network before the first pass."""

    def __init__(self, pool_shape=(2, 2), stride=2):
        self.pool_shape, self.stride, self.input_shape = pool_shape, stride, None

    def forward_pass(self, X, training=True):
        channels, height, width = self.input_shape
        ph, pw = self.pool_shape
        self.X = X
        out = np.zeros((X.shape[0], channels, (height - ph) // self.stride + 1,
                        (width - pw) // self.stride + 1), dtype=X.dtype)
        for i in range(out.shape[2]):
            for j in range(out.shape[3]):
                a, b = i * self.stride, j * self.stride
                out[:, :, i, j] = X[:, :, a:a + ph, b:b + pw].mean(axis=(2, 3))
        return out

    def backward_pass(self, accum_grad):
        ph, pw = self.pool_shape
        dX = np.zeros_like(self.X)
        for i in range(accum_grad.shape[2]):
            for j in range(accum_grad.shape[3]):
                a, b = i * self.stride, j * self.stride
                dX[:, :, a:a + ph, b:b + pw] += accum_grad[:, :, i:i + 1, j:j + 1] / {pool_size}
        return dX
'''
RIGHT = {"grad_w": "self.layer_input.T.dot(accum_grad)", "w_used": "W", "pool_size": "(ph * pw)"}

def _layers(tmp_path, module="mlfs_layers.py", **changes):
    text = LAYERS
    for k, v in {**RIGHT, **changes}.items():
        text = text.replace("{" + k + "}", v)
    found, collected = collect_source(tmp_path, module, text)
    return found, {s.label: s.reason for s in collected.skipped}


def _failures(label, props=("grads_tf", "grads_fd", "linear_in_dout", "batch_resize")):
    out = []
    for prop in props:
        spec = all_properties()[prop]
        if not spec.not_applicable(get(label)):
            hit = hunt(label, prop, max_examples=8, shrink=False)
            out += hit.failures if hit else []
    return out


def test_layers_given_an_optimizer_are_checked_with_the_gradients_they_hand_it(tmp_path):
    found, skipped = _layers(tmp_path)
    for name, params in (("Dense", {"W", "w0"}), ("DictDense", {"W", "b"})):
        item = found[f"mlfs_layers.{name}"]
        assert "given an optimizer by initialize(optimizer)" in item.how
        assert set(item.entry.make({}, np.random.default_rng(0), "float64").params) == params
        assert not _failures(item.label), [r.message() for r in _failures(item.label)][:1]
    assert "mlfs_layers.AveragePooling2D" in found, skipped      # input_shape set as a net does
    assert not _failures("mlfs_layers.AveragePooling2D")
    assert "base class" in skipped["mlfs_layers.Layer"]


@pytest.mark.parametrize("change, tensors", [
    (dict(grad_w="self.layer_input.T.dot(accum_grad) / len(accum_grad)"), {"dW"}),
    (dict(w_used="self.W"), {"dX"}),     # dx from the weights it has just stepped
    (dict(pool_size="ph"), {"dx", "dX"}),
])
def test_a_slip_fails_on_its_tensor(tmp_path, change, tensors):
    name = "AveragePooling2D" if "pool_size" in change else "Dense"
    module = f"mlfs_bug_{list(change)[0]}.py"
    found, _ = _layers(tmp_path, module, **change)
    failures = _failures(found[f"{module[:-3]}.{name}"].label)
    assert tensors & {r.tensor for r in failures if r.verdict in ("layer bug", "layer vs fd")}, \
        [(r.prop, r.tensor, r.verdict) for r in failures]


def test_a_pool_shape_attribute_sizes_the_twin_and_names_a_missing_1_over_k(tmp_path):
    """ML-From-Scratch keeps the window as pool_shape: it was "found by probing (the layer has
    no pool-size attribute)", and a missing 1/k got no diagnosis."""
    found, _ = _layers(tmp_path, "mlfs_pool_k.py", pool_size="1")
    item = found["mlfs_pool_k.AveragePooling2D"]
    assert "pool_shape=(2, 2)" in item.how
    failed = [r for r in _failures(item.label, ("grads_tf",)) if not r.passed]
    assert any("the pool window's size" in r.shown_diagnosis.get("summary", "") for r in failed), \
        [r.message() for r in failed][:1]


CONV = '''
import copy
import numpy as np


class Conv2D:
    """Weights from initialize(optimizer) once told (C, H, W); its output's size from them."""

    def __init__(self, n_filters, filter_shape, input_shape=None, stride=1):
        self.n_filters, self.filter_shape, self.input_shape = n_filters, filter_shape, input_shape
        self.stride, self.trainable = stride, True

    def set_input_shape(self, shape):
        self.input_shape = shape

    def initialize(self, optimizer):
        fh, fw = self.filter_shape
        self.W = np.random.uniform(-0.5, 0.5, (self.n_filters, self.input_shape[0], fh, fw))
        self.w0 = np.random.uniform(-0.5, 0.5, (self.n_filters, 1))
        self.W_opt, self.w0_opt = copy.copy(optimizer), copy.copy(optimizer)

    def forward_pass(self, X, training=True):
        self.X = X
        c, h, w = self.input_shape
        fh, fw = self.filter_shape
        oh, ow = (h - fh) // self.stride + 1, (w - fw) // self.stride + 1
        out = np.zeros((X.shape[0], self.n_filters, oh, ow))
        for i in range(oh):
            for j in range(ow):
                a, b = i * self.stride, j * self.stride
                patch = X[:, :, a:a + fh, b:b + fw]
                out[:, :, i, j] = np.tensordot(patch, self.W, axes=([1, 2, 3], [1, 2, 3])) \
                    + self.w0[:, 0]
        return out

    def backward_pass(self, accum_grad):
        W = self.W
        fh, fw = self.filter_shape
        dX, dW = np.zeros_like(self.X), np.zeros_like(self.W)
        for i in range(accum_grad.shape[2]):
            for j in range(accum_grad.shape[3]):
                a, b = i * self.stride, j * self.stride
                g = accum_grad[:, :, i, j]
                dW += np.tensordot(g, self.X[:, :, a:a + fh, b:b + fw], axes=([0], [0]))
                dX[:, :, a:a + fh, b:b + fw] {acc} np.tensordot(g, W, axes=([1], [0]))
        self.W = self.W_opt.update(self.W, dW)
        self.w0 = self.w0_opt.update(self.w0, accum_grad.sum(axis=(0, 2, 3))[:, None])
        return dX
'''


@pytest.mark.parametrize("acc, passes", [("+=", True), ("=", False)])
def test_a_conv_told_its_input_shape_is_checked_at_every_size_tried(tmp_path, acc, passes):
    """Its filter_shape was a required argument nobody could guess, its w0 (F, 1) was not read
    as a bias, and the shape told once stayed: other sizes failed to run. Each is read now."""
    module = f"mlfs_conv_{passes}.py"
    found, skipped = collect_source(tmp_path, module, CONV.replace("{acc}", acc))
    label = f"{module[:-3]}.Conv2D"
    assert label in found, skipped
    assert "from W (3, 2, 2, 2)" in found[label].how      # sized from the weight, w0 the bias
    failures = _failures(label)
    assert (not failures) == passes, [(r.prop, r.tensor, r.verdict) for r in failures]


def test_a_base_class_whose_backward_only_raises_is_nothing_to_check(tmp_path):
    """A Keras-like base Layer (build, __call__ calling call(), call and backward raising
    NotImplementedError) was 'found and not checked', so a correct file exited 3."""
    source = '''
import numpy as np


class Layer:
    def __init__(self):
        self.built = False

    def build(self, input_shape):
        self.built = True

    def call(self, x):
        raise NotImplementedError

    def __call__(self, x):
        if not self.built:
            self.build(x.shape)
        return self.call(x)

    def backward(self, grad):
        raise NotImplementedError


class Scale(Layer):
    def build(self, input_shape):
        self.w = np.linspace(0.5, 1.5, input_shape[-1])
        self.built = True

    def call(self, x):
        self.x = x
        return x * self.w

    def backward(self, grad):
        self.dw = (grad * self.x).sum(axis=0)
        return grad * self.w
'''
    found, collected = collect_source(tmp_path, "keras_base.py", source)
    (skip,) = [s for s in collected.skipped if s.label == "keras_base.Layer"]
    assert not skip.unchecked and "Layer.backward raises NotImplementedError" in skip.reason
    assert "keras_base.Scale" in found
