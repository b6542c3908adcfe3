"""Arguments named as labels (``y``, ``Y``, ``target``) that are data with a gradient of their
own: a t-SNE embedding ``Y``, the second point set of a Chamfer distance or a cdist. A hint
giving them as floats was overruled (they stayed labels: nothing checked, or the harness's own
adapter error reported as the layer raising), a hint's ``in (0, 1)`` was dropped for a cost's
argument, and a pair of distances (N, M) crashed the batch rule."""
import pytest

from tests.owncode_loading import collect_source, hunt_alone

TSNE = '''# gradcheck: tsne_kl; Y=(6, 2); P=(6, 6) in (0, 1)
import numpy as np


def tsne_kl(Y, P):
    n = Y.shape[0]
    P = P + P.T
    P[np.arange(n), np.arange(n)] = 0.0
    P = P / np.sum(P)
    D = np.sum((Y[:, None, :] - Y[None, :, :]) ** 2, axis=-1)
    W = 1.0 / (1.0 + D)
    W[np.arange(n), np.arange(n)] = 0.0
    Q = W / W.sum()
    off = ~np.eye(n, dtype=bool)
    C = np.sum(P[off] * np.log(P[off] / Q[off]))
    M = (P - Q) * W
    return C, {four}(M.sum(axis=1)[:, None] * Y - M @ Y)
'''

CDIST = '''# gradcheck: cdist_forward; x=(N, 3); y=(N, 3)
import numpy as np


def cdist_forward(x, y):
    diff = x[:, None, :] - y[None, :, :]
    dist = np.sqrt(np.sum(diff ** 2, axis=2))
    return dist, (diff, dist)


def cdist_backward(ddist, cache):
    diff, dist = cache
    g = ddist / dist
    return np.einsum("nm,nmd->nd", g, diff), {minus}np.einsum("nm,nmd->md", g, diff)
'''

CHAMFER = '''# gradcheck: chamfer_loss; x=(N, 5, 3); y=(N, 4, 3)
import numpy as np


def chamfer_loss(x, y):
    B, P, _ = x.shape
    Q = y.shape[1]
    d2 = np.sum((x[:, :, None, :] - y[:, None, :, :]) ** 2, axis=-1)
    nn_xy, nn_yx = d2.argmin(axis=2), d2.argmin(axis=1)
    bi = np.arange(B)[:, None]
    loss = np.mean(d2.min(axis=2).mean(axis=1) + d2.min(axis=1).mean(axis=1))
    gxy = 2.0 * (x - y[bi, nn_xy]) / (B * P)
    gyx = 2.0 * (y - x[bi, nn_yx]) / (B * Q)
    dx, dy = gxy.copy(), gyx.copy()
    for b in range({back}):
        np.add.at(dy[b], nn_xy[b], -gxy[b])
        np.add.at(dx[b], nn_yx[b], -gyx[b])
    return loss, dx, dy
'''


def _cost(tmp_path, name, source):
    (tmp_path / name).mkdir()
    found, collected = collect_source(tmp_path / name, f"{name}.py", source)
    assert f"{name}.tsne_kl" in found, {s.label: s.reason for s in collected.skipped}
    return found[f"{name}.tsne_kl"]


def test_a_hinted_float_Y_is_the_embedding_its_gradient_is_checked_against(tmp_path):
    item = _cost(tmp_path, "tsne", TSNE.format(four="4.0 * "))
    assert "with respect to Y" in item.how and "P (6, 6)" in item.how, item.how
    results = item.check()
    assert results and all(r.passed for r in results), [r.message() for r in results][:1]
    failed = [r for r in _cost(tmp_path, "tsne_bug", TSNE.format(four="")).check()
              if not r.passed]
    assert failed and {r.tensor for r in failed} == {"Y"}


@pytest.mark.parametrize("source, bug, name, tensor", [
    (CDIST.replace("{minus}", "-"), CDIST.replace("{minus}", ""), "cdist", "dy"),
    (CHAMFER.replace("{back}", "B"), CHAMFER.replace("{back}", "0"), "chamfer_loss", "dy")])
def test_a_hinted_float_y_with_a_gradient_returned_is_an_input(tmp_path, source, bug, name,
                                                                tensor):
    item, failed = hunt_alone(tmp_path, "right", source)
    assert "y=(N, " in item.how and failed is None, (item.how, failed)
    item, failed = hunt_alone(tmp_path, "wrong", bug)
    assert failed is not None and tensor in {r.tensor for r in failed.failures}
    assert {r.verdict for r in failed.failures} <= {"layer bug", "layer vs fd"}
