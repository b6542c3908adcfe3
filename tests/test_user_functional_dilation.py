"""A functional conv reading ``conv_param.get('dilation', 1)`` was only ever given a stride and
a padding: at dilation 1 a backward ignoring the dilation is right, and such a bug passed.
Options the forward reads that the default dict leaves out are checked set too: a conv's
dilation at 2, a pool's padding at 1."""
from tests.owncode_loading import collect_source

DILATED = '''
import numpy as np


def dilated_conv_forward(x, w, b, conv_param):
    s, p, d = conv_param["stride"], conv_param["pad"], conv_param.get("dilation", 1)
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    eh, ew = d * (HH - 1) + 1, d * (WW - 1) + 1
    Ho, Wo = (H + 2 * p - eh) // s + 1, (W + 2 * p - ew) // s + 1
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    out = np.zeros((N, F, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            field = xp[:, :, i * s:i * s + eh:d, j * s:j * s + ew:d]
            out[:, :, i, j] = np.tensordot(field, w, axes=([1, 2, 3], [1, 2, 3]))
    return out + b.reshape(1, F, 1, 1), (x, w, conv_param)


def dilated_conv_backward(dout, cache):
    x, w, conv_param = cache
    s, p, d = conv_param["stride"], conv_param["pad"], conv_param.get("dilation", 1)
    F, _, HH, WW = w.shape
    eh, ew = d * (HH - 1) + 1, d * (WW - 1) + 1
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            field = xp[:, :, i * s:i * s + eh:d, j * s:j * s + ew:d]
            dw += np.tensordot(dout[:, :, i, j], field, axes=([0], [0]))
            dxp[:, :, i * s:i * s + {reach}, j * s:j * s + {reach_w}] += np.tensordot(
                dout[:, :, i, j], w, axes=([1], [0]))
    H, W = x.shape[2:]
    return dxp[:, :, p:p + H, p:p + W], dw, dout.sum(axis=(0, 2, 3))
'''


def _checked(tmp_path, name, source):
    (tmp_path / name).mkdir()
    found, _ = collect_source(tmp_path / name, f"{name}.py", source)
    return {label: item for label, item in found.items()}


def test_a_dilation_the_forward_reads_is_checked_at_2(tmp_path):
    from properties.search import hunt
    right = _checked(tmp_path, "right", DILATED.format(reach="eh:d", reach_w="ew:d"))
    label = next(k for k in right if k.endswith("(dilation=2)"))
    for name in right:
        assert hunt(name, "grads_fd", max_examples=10) is None, name
    wrong = _checked(tmp_path, "wrong", DILATED.format(reach="HH", reach_w="WW"))
    failed = hunt(label.replace("right.", "wrong."), "grads_fd", max_examples=10)
    assert failed is not None and "dx" in {r.tensor for r in failed.failures}
    # at the default's dilation of 1 the same slip is right: only the variant sees it
    default = next(k for k in wrong if k.endswith("dilated_conv"))
    assert hunt(default, "grads_fd", max_examples=10) is None
