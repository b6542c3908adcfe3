"""A layer whose first forward sets its params from the batch (Glow's ActNorm: a data-dependent
init) failed three checks when right: every finite-difference copy initialised afresh from its
own input (the params looked inert, fd = 0), and no_mutation blamed the backward. Such a layer
is given one forward when built, before its params are drawn."""
from tests.owncode_loading import hunt_alone

ACTNORM = '''
import numpy as np


class ActNorm:
    """y = (x + bias) * exp(logs) per channel; x: (N, C, H, W)"""
    def __init__(self, num_channels):
        self.logs = np.zeros((1, num_channels, 1, 1))
        self.bias = np.zeros((1, num_channels, 1, 1))
        self.initialized = False

    def forward(self, x):
        if not self.initialized:
            self.bias = -x.mean(axis=(0, 2, 3), keepdims=True)
            self.logs = -np.log(x.std(axis=(0, 2, 3), keepdims=True) + 1e-6)
            self.initialized = True
        self.x, self.scale = x, np.exp(self.logs)
        return (x + self.bias) * self.scale

    def backward(self, dy):
        self.dbias = np.sum(dy * self.scale, axis=(0, 2, 3), keepdims=True)
        self.dlogs = np.sum(dy * (self.x + self.bias) * self.scale, axis=(0, 2, 3), keepdims=True)
        return dy * {scale}
'''


def test_a_data_dependent_init_runs_once_before_the_checks(tmp_path):
    for prop in ("grads_fd", "no_mutation"):
        item, failed = hunt_alone(tmp_path, f"actnorm_{prop}", ACTNORM.format(scale="self.scale"),
                                  prop)
        assert "sets its params from the batch" in item.how, item.how
        assert failed is None, (prop, [r.message() for r in failed.failures][:1])
    _, failed = hunt_alone(tmp_path, "actnorm_bug", ACTNORM.format(scale="self.logs"))
    assert failed is not None and {r.tensor for r in failed.failures} == {"dx"}


def test_a_forward_that_moves_its_params_every_call_is_not_warmed(tmp_path):
    drifting = ACTNORM.replace("if not self.initialized:", "if True:")
    item, _ = hunt_alone(tmp_path, "drifting", drifting.format(scale="self.scale"), "no_mutation")
    assert "sets its params from the batch" not in item.how, item.how
