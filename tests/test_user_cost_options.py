"""A cost's options at their defaults hide slips that vanish there: a KDE's bandwidth of 1.0
(a gradient dividing by h where h**2 belongs is right at 1), and a triplet loss's margin over
arrays drawn so close that every triplet is active (a negative's gradient left unmasked by the
hinge is right then). Float options defaulting to 1.0 or 0.0 are also checked changed, and the
arrays of a cost that takes margins of them (no data or scores beside them) are spread."""
import pytest

from tests.owncode_loading import collect_source

KDE = '''
import numpy as np


def kde_log_likelihood(x, data, bandwidth=1.0):
    """x: (n, d) query points, data: (m, d) kernel centres"""
    d, m, h = x.shape[1], data.shape[0], bandwidth
    diff = x[:, None, :] - data[None, :, :]
    logk = -np.sum(diff ** 2, axis=-1) / (2 * h ** 2)
    mx = logk.max(axis=1, keepdims=True)
    w = np.exp(logk - mx)
    s = w.sum(axis=1, keepdims=True)
    ll = np.sum(mx[:, 0] + np.log(s[:, 0]) - np.log(m) - 0.5 * d * np.log(2 * np.pi * h ** 2))
    w = w / s
    return ll, -np.sum(w[:, :, None] * diff, axis=1) / {h2}
'''

TRIPLET = '''
import numpy as np


def triplet_margin_loss(anchor, positive, negative, margin=1.0):
    """anchor, positive, negative: (N, D)"""
    N = anchor.shape[0]
    ap, an = anchor - positive, anchor - negative
    d_ap, d_an = np.sqrt(np.sum(ap ** 2, axis=1)), np.sqrt(np.sum(an ** 2, axis=1))
    losses = np.maximum(0.0, d_ap - d_an + margin)
    active = (losses > 0).astype(anchor.dtype)[:, None]
    g_ap, g_an = ap / d_ap[:, None], an / d_an[:, None]
    return losses.mean(), (active * (g_ap - g_an) / N, -active * g_ap / N, {neg} g_an / N)
'''


def _checked(tmp_path, name, source):
    (tmp_path / name).mkdir()
    found, collected = collect_source(tmp_path / name, f"{name}.py", source)
    assert found, {s.label: s.reason for s in collected.skipped}
    return {label: [r for r in item.check() if not r.passed] for label, item in found.items()}


@pytest.mark.parametrize("source, right, wrong, option", [
    (KDE, "h ** 2", "h", "bandwidth=0.7"), (TRIPLET, "active *", "", "margin=0.7")])
def test_a_slip_hidden_at_an_options_default_is_caught(tmp_path, source, right, wrong, option):
    key = "{h2}" if "{h2}" in source else "{neg}"
    checked = _checked(tmp_path, "right", source.replace(key, right))
    assert any(label.endswith(f"({option})") for label in checked), list(checked)
    assert not any(checked.values()), checked
    failed = _checked(tmp_path, "wrong", source.replace(key, wrong))
    assert failed[next(k for k in failed if k.endswith(f"({option})"))], failed
    if source is TRIPLET:    # spread: caught at the default margin too
        assert all(failed.values()), failed


ENET = '''
{hint}
import numpy as np


def enet_objective(w, X, y, alpha=1.0, l1_ratio=0.5):
    """1/(2n) ||y - Xw||^2 + alpha l1_ratio ||w||_1 + alpha (1 - l1_ratio) ||w||^2 / 2."""
    n = X.shape[0]
    r = X @ w - y
    f = 0.5 / n * (r @ r) + alpha * l1_ratio * np.abs(w).sum() + 0.5 * alpha * (1 - l1_ratio) * (w @ w)
    grad = X.T @ r / n + alpha * l1_ratio * np.sign(w) + alpha * {ridge} * w
    return f, grad
'''


def test_a_regularisation_strength_with_a_default_is_passed_once(tmp_path):
    """alpha=1.0, a strength the search sets by position, was also given by keyword for its
    changed-float variant: "got multiple values for argument 'alpha'", and the cost was
    skipped whatever its arguments."""
    found, collected = collect_source(tmp_path, "enet.py", ENET.format(hint="", ridge="(1 - l1_ratio)"))
    assert "enet.enet_objective" in found, collected.skipped
    assert all(r.passed for r in found["enet.enet_objective"].check())
    assert not collected.skipped


def test_a_hints_number_for_an_option_left_at_its_default_is_applied(tmp_path):
    """``l1_ratio=0.2`` in the hint was read and dropped: the cost ran at 0.5, where a ridge
    term written with l1_ratio for (1 - l1_ratio) is right."""
    bug = ENET.format(hint="# gradcheck: enet_objective; w=(3,); X=(N, 3); y=(N,); l1_ratio={r}",
                      ridge="l1_ratio")
    for name, ratio, right in (("at_half", "0.5", True), ("at_fifth", "0.2", False)):
        (tmp_path / name).mkdir()
        found, _ = collect_source(tmp_path / name, f"{name}.py", bug.replace("{r}", ratio))
        item = found[f"{name}.enet_objective"]
        assert f"l1_ratio={ratio} from the hint" in item.how, item.how
        assert all(r.passed for r in item.check()) == right
