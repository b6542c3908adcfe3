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


class Smooth:
    def __init__(self, alpha=1.0, smoothing=0.0, eps=1e-5, k=1, clip=True, dilation=1):
        self.alpha, self.smoothing, self.eps, self.k, self.clip = alpha, smoothing, eps, k, clip
        self.dilation = dilation


def test_float_defaults_of_one_and_zero_change_together_and_a_dilation_of_one_to_two():
    """An int (a size) and a float of another default are the layer's own; a bool option is
    flipped, as an entry of its own (its other branch is checked nowhere else), unless built
    or hinted at another value than its default."""
    assert hyper_variants(Smooth, None, Smooth()) == [{"dilation": 2},
                                                      {"alpha": 0.7, "smoothing": 0.1},
                                                      {"clip": False}]
    hint = SimpleNamespace(build="Smooth(alpha=1.0, dilation=3, clip=True)")
    assert hyper_variants(Smooth, hint, Smooth(alpha=1.0, dilation=3)) == [{"smoothing": 0.1}]
    assert hyper_variants(Smooth, None, Smooth(alpha=2.0, smoothing=0.25, clip=False)) == \
        [{"dilation": 2}]


class Flags:
    def __init__(self, to_db=False, verbose=False, training=True, inplace=False, norm=True):
        self.to_db, self.verbose, self.training, self.inplace = to_db, verbose, training, inplace


def test_flags_that_say_how_to_run_are_not_options():
    assert hyper_variants(Flags, None, Flags()) == [{"to_db": True}, {"norm": False}]


AUTOCORR = """
    import numpy as np

    class Autocorrelation:
        def __init__(self, max_lag=2, biased=False):
            self.max_lag, self.biased = max_lag, biased

        def forward(self, x):
            self.x = x
            L = x.shape[1]
            r = np.stack([np.sum(x[:, :L - k] * x[:, k:], axis=1)
                          for k in range(self.max_lag + 1)], axis=1)
            return r / L if self.biased else r

        def backward(self, dr):
            x, L = self.x, self.x.shape[1]
            dr = dr / {scale} if self.biased else dr
            dx = np.zeros_like(x)
            for k in range(self.max_lag + 1):
                dx[:, :L - k] += dr[:, k:k + 1] * x[:, k:]
                dx[:, k:] += dr[:, k:k + 1] * x[:, :L - k]
            return dx
    """


def test_a_slip_in_the_branch_a_bool_option_turns_on_is_caught(tmp_path):
    """An autocorrelation dividing by L only when ``biased=True`` (default False), its backward
    dividing by L - 1 there: the default passed and nothing else was checked."""
    from properties.search import hunt
    (tmp_path / "ac_ok.py").write_text(textwrap.dedent(AUTOCORR.format(scale="L")))
    (tmp_path / "ac_bug.py").write_text(textwrap.dedent(AUTOCORR.format(scale="(L - 1)")))
    labels = {f.label for f in collect([tmp_path]).found}
    assert {"ac_ok.Autocorrelation(biased=True)", "ac_bug.Autocorrelation(biased=True)"} <= labels
    assert hunt("ac_ok.Autocorrelation(biased=True)", "grads_fd", max_examples=10,
                shrink=False) is None
    assert hunt("ac_bug.Autocorrelation", "grads_fd", max_examples=10, shrink=False) is None
    assert hunt("ac_bug.Autocorrelation(biased=True)", "grads_fd", max_examples=10) is not None


ELU = """
    import numpy as np

    class ELU:
        def __init__(self, alpha=1.0):
            self.alpha = alpha

        def forward(self, x):
            self.x = x
            return np.where(x > 0, x, self.alpha * (np.exp(x) - 1))

        def backward(self, dout):
            return dout * np.where(self.x > 0, 1.0, {slope} * np.exp(self.x))
    """


def test_a_backward_leaving_out_a_hyperparameter_at_its_default_fails_at_the_other_value(
        tmp_path):
    from properties.search import hunt
    (tmp_path / "elu_ok.py").write_text(textwrap.dedent(ELU.format(slope="self.alpha")))
    (tmp_path / "elu_bug.py").write_text(textwrap.dedent(ELU.format(slope="1.0")))
    labels = [f.label for f in collect([tmp_path]).found]
    assert {"elu_ok.ELU", "elu_ok.ELU(alpha=0.7)", "elu_bug.ELU", "elu_bug.ELU(alpha=0.7)"} \
        <= set(labels)
    assert hunt("elu_bug.ELU", "grads_fd", max_examples=10, shrink=False) is None  # alpha=1
    assert hunt("elu_bug.ELU(alpha=0.7)", "grads_fd", max_examples=10, shrink=False) is not None
    assert hunt("elu_ok.ELU(alpha=0.7)", "grads_fd", max_examples=10, shrink=False) is None


DROPOUT_CLASS = """
    import numpy as np

    class Dropout:
        def __init__(self, p=0.5):
            self.p = p          # the keep probability

        def forward(self, x):
            self.mask = (np.random.rand(*x.shape) < self.p).astype(x.dtype)
            return x * self.mask / self.p

        def backward(self, dout):
            return dout * self.mask / {keep}
    """

DROPOUT_PAIR = """
    import numpy as np

    def dropout_forward(x, dropout_param):
        p = dropout_param["p"]
        np.random.seed(dropout_param["seed"])
        mask = ((np.random.rand(*x.shape) < p) / p).astype(x.dtype)
        return (x * mask if dropout_param["mode"] == "train" else x), (dropout_param, mask)

    def dropout_backward(dout, cache):
        dropout_param, mask = cache
        p = dropout_param["p"]
        return dout * {scale} if dropout_param["mode"] == "train" else dout
    """


def test_a_dropout_at_p_half_is_also_checked_at_point_eight_where_keep_and_drop_differ(tmp_path):
    """At p = 0.5 the keep and the drop probability are one number: a backward dividing by
    1 - p where its forward keeps with probability p passed, in both styles."""
    from properties.search import hunt
    sources = {"drop_ok": DROPOUT_CLASS.replace("{keep}", "self.p"),
               "drop_bug": DROPOUT_CLASS.replace("{keep}", "(1 - self.p)"),
               "pair_ok": DROPOUT_PAIR.replace("{scale}", "mask"),
               "pair_bug": DROPOUT_PAIR.replace("{scale}", "(mask != 0) / (1 - p)")}
    for name, source in sources.items():
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
    labels = {f.label for f in collect([tmp_path]).found}
    assert {"drop_ok.Dropout(p=0.8)", "pair_ok.dropout(p=0.8)"} <= labels, sorted(labels)
    for label in ("drop_ok.Dropout", "drop_ok.Dropout(p=0.8)", "pair_ok.dropout",
                  "pair_ok.dropout(p=0.8)", "drop_bug.Dropout", "pair_bug.dropout"):
        assert hunt(label, "grads_fd", max_examples=10, shrink=False) is None, label
    for label in ("drop_bug.Dropout(p=0.8)", "pair_bug.dropout(p=0.8)"):
        assert hunt(label, "grads_fd", max_examples=10, shrink=False) is not None, label


SWISH = """
    import numpy as np

    class Swish:
        def __init__(self, beta=1.0):
            self.beta = beta          # learned: drawn afresh for every case

        def forward(self, x):
            self.x, self.s = x, 1 / (1 + np.exp(-self.beta * x))
            return x * self.s

        def backward(self, dout):
            ds = self.s * (1 - self.s)
            self.dbeta = np.sum(dout * self.x * self.x * ds)
            return dout * (self.s + self.beta * self.x * ds)
    """


def test_a_float_that_is_a_learned_param_gets_no_variant_at_another_value(tmp_path):
    """Swish(beta=0.7) was checked beside Swish with the same numbers: its beta is a param,
    redrawn for every case, so no setting differs."""
    (tmp_path / "swish.py").write_text(textwrap.dedent(SWISH))
    assert [f.label for f in collect([tmp_path]).found] == ["swish.Swish"]


PAIR = """
    import numpy as np


    def gain_forward(x, w, squared=False):
        out = x * w ** 2 if squared else x * w
        return out, (x, w, squared)


    def gain_backward(dout, cache):
        x, w, squared = cache
        if squared:
            return dout * w ** 2, np.sum(dout * x * {dw}, axis=0)
        return dout * w, np.sum(dout * x, axis=0)
    """


def test_a_functional_pairs_bool_option_is_also_checked_flipped(tmp_path):
    from properties.search import hunt
    (tmp_path / "gain_ok.py").write_text(textwrap.dedent(PAIR.format(dw="2 * w")))
    (tmp_path / "gain_bug.py").write_text(textwrap.dedent(PAIR.format(dw="w")))
    labels = {f.label for f in collect([tmp_path]).found}
    assert {"gain_ok.gain", "gain_ok.gain(squared=True)", "gain_bug.gain(squared=True)"} <= labels
    assert hunt("gain_ok.gain(squared=True)", "grads_fd", max_examples=10, shrink=False) is None
    assert hunt("gain_bug.gain(squared=True)", "grads_fd", max_examples=10) is not None


LRN = """
    import numpy as np

    class LRN:
        def __init__(self, depth_radius=1, bias=2.0, alpha=1e-4, beta=0.75):
            self.r, self.bias, self.alpha, self.beta = depth_radius, bias, alpha, beta

        def forward(self, x):
            C = x.shape[1]
            idx = np.arange(C)
            self.B = (np.abs(idx[:, None] - idx[None, :]) <= self.r).astype(x.dtype)
            self.x = x
            self.s = self.bias + self.alpha * np.einsum("cd,nd->nc", self.B, x * x)
            return x * self.s ** -self.beta

        def backward(self, dout):
            x, s = self.x, self.s
            g = dout * x * (-{beta}) * s ** (-self.beta - 1) * self.alpha * 2
            return dout * s ** -self.beta + np.einsum("cd,nc->nd", self.B, g) * x
    """


def test_a_float_option_of_any_default_is_also_checked_changed(tmp_path):
    """An LRN whose backward hard-codes beta = 0.75, its default: right there, and only floats
    at 1.0 or 0.0 were changed. Every float option (but a learning rate or a guard below 1e-3)
    is also checked at 0.7 times its default now."""
    from properties.search import hunt
    (tmp_path / "lrn_ok.py").write_text(textwrap.dedent(LRN.replace("{beta}", "self.beta")))
    (tmp_path / "lrn_bug.py").write_text(textwrap.dedent(LRN.replace("{beta}", "0.75")))
    labels = {f.label for f in collect([tmp_path]).found}
    assert {"lrn_ok.LRN(bias=1.2, beta=0.6)", "lrn_bug.LRN(bias=1.2, beta=0.6)"} <= labels
    assert hunt("lrn_ok.LRN(bias=1.2, beta=0.6)", "grads_fd", max_examples=10,
                shrink=False) is None
    assert hunt("lrn_bug.LRN", "grads_fd", max_examples=10, shrink=False) is None
    assert hunt("lrn_bug.LRN(bias=1.2, beta=0.6)", "grads_fd", max_examples=10) is not None


def test_options_alike_or_opposite_at_their_defaults_do_not_stay_so():
    """A hardtanh's backward masking abs(x) > max_val is right while min_val = -max_val: all
    floats scaled alike kept them opposite (-0.7, 0.7) and hid it; each has a factor of its own."""
    class Hardtanh:
        def __init__(self, min_val=-2.0, max_val=2.0, slope=0.5):
            self.min_val, self.max_val, self.slope = min_val, max_val, slope
    (changed,) = hyper_variants(Hardtanh, None, Hardtanh())
    assert changed["min_val"] != -changed["max_val"] and changed["slope"] == 0.5 * 0.55
