"""A network keeping its weights in a dict of another name (``self.quanzhong``: pinyin for
weights), built with sizes named in pinyin (``shuru``, ``yinceng``, ``shuchu``: input, hidden
layer, output): it could not be built, and with a hint it failed as "layer raised" at the
harness's own adapter (no ``params``). The one dict of float arrays it keeps is its params."""
from tests.owncode_loading import collect_source

PINYIN = '''
import numpy as np


class ShenJingWangLuo:
    def __init__(self, shuru, yinceng, shuchu):
        rng = np.random.default_rng(0)
        self.quanzhong = {"W1": rng.standard_normal((shuru, yinceng)) * 0.5,
                          "W2": rng.standard_normal((yinceng, shuchu)) * 0.5}

    def loss(self, x, t):
        y = np.tanh(x @ self.quanzhong["W1"]) @ self.quanzhong["W2"]
        return 0.5 * np.sum((y - t) ** 2) / len(x)

    def gradient(self, x, t):
        q = self.quanzhong
        h = np.tanh(x @ q["W1"])
        dy = (h @ q["W2"] - t) / len(x)
        dh = dy @ q["W2"].T * (1 - h ** {power})
        return {"W1": x.T @ dh, "W2": h.T @ dy}
'''


def test_a_network_with_its_weights_under_another_name_is_checked(tmp_path):
    for name, power, passes in (("wangluo", "2", True), ("wangluo_bug", "1", False)):
        (tmp_path / name).mkdir()
        found, _ = collect_source(tmp_path / name, f"{name}.py", PINYIN.replace("{power}", power))
        (item,) = found.values()
        results = item.check()
        assert results and all(r.passed for r in results) is passes, name
        if not passes:
            assert {r.tensor for r in results if not r.passed} >= {"W1"}
