"""A user's layer taking a stride or a padding is also checked at the other values."""
import textwrap
from types import SimpleNamespace

from properties.owncode import collect
from properties.user_variants import hyper_variants, suffix, with_keywords


class Pool:
    def __init__(self, size=2, stride=(1, 1), padding=0):
        self.size, self.stride, self.padding = size, stride, padding


class Dense:
    def __init__(self, n_in=3, n_out=2):
        self.n_in = n_in


def test_the_other_stride_and_padding_one_by_one_then_together():
    assert hyper_variants(Pool, None, Pool()) == [{"stride": (2, 2)}, {"padding": 1},
                                                  {"stride": (2, 2), "padding": 1}]
    # built with a stride of 2 already: the other value is 1
    assert hyper_variants(Pool, None, Pool(stride=2, padding=1)) == [
        {"stride": 1}, {"padding": 0}, {"stride": 1, "padding": 0}]
    assert hyper_variants(Dense, None, Dense()) == []


def test_what_a_hint_sets_is_the_users_and_is_kept():
    hint = SimpleNamespace(build="Pool(3, stride=2)")
    assert hyper_variants(Pool, hint, Pool(3, stride=2)) == [{"padding": 1}]
    assert with_keywords("Pool(3, stride=2)", {"padding": 1, "stride": 1}) == \
        "Pool(3, padding=1, stride=1)"
    assert suffix({"stride": 2, "pad": 1}) == "(stride=2, pad=1)"


def test_a_setting_the_layer_cannot_take_is_listed_as_skipped_with_the_reason(tmp_path):
    (tmp_path / "only_unit.py").write_text(textwrap.dedent("""
        import numpy as np

        class Shift:
            def __init__(self, stride=1):
                if stride != 1:
                    raise ValueError("this layer only steps by 1")
                self.stride = stride

            def forward(self, x):
                return x + 1.0

            def backward(self, dout):
                return dout
        """))
    found = collect([tmp_path])
    assert [f.label for f in found.found] == ["only_unit.Shift"]
    (skipped,) = found.skipped
    assert skipped.label == "only_unit.Shift(stride=2)"
    assert skipped.reason.startswith("not checked at stride=2 (checked as built): ")
    assert "this layer only steps by 1" in skipped.reason
