"""Planted bugs of every diagnosis class are diagnosed as that class, by the real oracles.

Each case runs a broken layer forward and backward on a chosen input, takes the
oracle's gradient from its TF twin under GradientTape, the verdict from TF and
float64 finite differences (``three_way``), and the diagnosis from ``compare``
given what the check knows (config, inputs, dout). No expected array is
written here: the only hard-coded thing per case is the class it must get.
The counterpart, that correct layers and the other planted bugs get no wrong
diagnosis, is ``tests/test_diagnosis_negative.py``.
"""
import copy

import numpy as np
import pytest

import layers as L
import tests.planted.core as core
import tests.planted.conv as conv
import tests.planted.diagnosis as D
from oracle.compare import compare, three_way
from oracle.finite_diff import fd_vjp
from oracle.tape import tape_vjp
from oracle.tf_runtime import tf
from oracle.twins import twin_for


def silu_twin(layer, x):
    return x * tf().math.sigmoid(x)


def embedding_twin(layer, ids, W):
    return tf().gather(W, tf().cast(ids, "int64"))


def cumsum_twin(layer, x):
    return tf().cumsum(x, axis=1)


def check(layer, inputs, config, *, targets=(), twin=None, dtype="float64", seed=0,
          earlier=None, factors=None, fd_names=None):
    """Every gradient of ``layer`` at ``inputs`` as a Result with a verdict, by tensor name.

    earlier: inputs (and targets) of a forward/backward run first on the same
    layer, for stale caches. factors: name -> f(inputs), the factors of an
    elementwise product the oracle can compute.
    """
    rng = np.random.default_rng(seed)
    twin = twin or twin_for(layer)
    context = {"inputs": dict(zip(layer.input_names, inputs))}
    if earlier is not None:
        layer.forward(*earlier[0], *earlier[1])
        layer.backward(np.float64(1.0) if isinstance(layer, L.Loss) else
                       rng.standard_normal(np.shape(layer.forward(*earlier[0], *earlier[1]))))
        context["previous_batch"] = len(earlier[0][0])
    params0 = {k: np.array(v, copy=True) for k, v in layer.params.items()}
    fd_layer = copy.deepcopy(layer)
    out = layer.forward(*inputs, *targets)
    dout = np.float64(rng.uniform(0.5, 2.0)) if isinstance(layer, L.Loss) else \
        rng.standard_normal(np.shape(out)).astype(dtype)
    dins = layer.backward(dout)
    dins = dins if isinstance(dins, tuple) else (dins,)
    context["dout"] = dout
    if factors:
        context["factors"] = {k: f(*inputs) for k, f in factors.items()}
    tape = tape_vjp(twin, layer, inputs, params0, dout, targets)
    names = [f"d{n}" for n in layer.input_names] + [f"d{k}" for k in params0]
    gots = [*dins, *layer.grads.values()]
    wants = [*tape.dinputs, *tape.dparams.values()]
    fd = _fd(fd_layer, dict(zip(layer.input_names, inputs)), params0, targets, dout, fd_names)
    results = {}
    for name, got, want in zip(names, gots, wants):
        if got is None:
            continue
        shown = {("x" if k == "x" else f"input:{k}"): v for k, v in context["inputs"].items()}
        r = compare(got, want, layer=type(layer).__name__, prop="grads_tf", tensor=name,
                    oracle="tf", dtype=dtype, config=config, context=context,
                    arrays={**shown, "dout": dout})
        if not r.passed and name in fd:
            shaped = np.shape(got) == fd[name].shape
            r.verdict, r.explanation = three_way(got if shaped else None, want, fd[name].values,
                                                 dtype=dtype, fd_excused=fd[name].excused)
        results[name] = r
    return results


def _fd(layer, inputs, params, targets, dout, names):
    arrays = {**{k: v for k, v in inputs.items() if np.asarray(v).dtype.kind == "f"}, **params}

    def fn(a):
        for k in params:
            layer.params[k] = a[k]
        return layer.forward(*[a.get(k, v) for k, v in inputs.items()], *targets)

    fd = fd_vjp(fn, arrays, dout, rng=np.random.default_rng(1), names=names,
                max_elementwise=4096)
    return {f"d{k}": g for k, g in fd.items()}


def normal(*shape, seed=2):
    return np.random.default_rng(seed).standard_normal(shape)


def grid(*shape, seed=3):
    """Values on a coarse grid: exact zeros and exact ties."""
    return np.random.default_rng(seed).integers(-2, 3, shape).astype(np.float64)


def labels(n, k, seed=4):
    return np.random.default_rng(seed).integers(0, k, n)


def dense(cls, d, m, **kw):
    layer = cls(d, m, rng=np.random.default_rng(5))
    layer.params["b"] = np.random.default_rng(6).standard_normal(m)
    return layer


def conv2d(cls, c, f, k, stride, padding):
    layer = cls(c, f, k, stride=stride, padding=padding, rng=np.random.default_rng(7))
    cfg = {"in": c, "out": f, "kernel": layer.kernel_size, "stride": layer.stride,
           "padding": layer.padding, "dilation": layer.dilation}
    return layer, cfg


def pool_cfg(layer):
    return {"pool": layer.pool_size, "stride": layer.stride}


# (case id, class it must get, tensor, a function returning the Results)
CASES = [
    ("square dW transposed", "transposed", "dW",
     lambda: check(dense(core.DenseTransposedDW, 3, 3), [normal(4, 3)], {"batch": 4, "shape": (3,), "out": 3})),
    ("non-square dW transposed", "transposed", "dW",
     lambda: check(dense(core.DenseTransposedDW, 2, 3), [normal(4, 2)], {"batch": 4, "shape": (2,), "out": 3})),
    ("sign flip", "sign flip", "dx",
     lambda: check(D.TanhSignFlipped(), [normal(3, 4)], {"batch": 3, "shape": (4,)})),
    ("db a mean: 1/N", "constant factor", "db",
     lambda: check(dense(core.DenseBiasMean, 3, 2), [normal(5, 3)], {"batch": 5, "shape": (3,), "out": 2})),
    ("CE without 1/N: N", "constant factor", "dx",
     lambda: check(core.SoftmaxCEMissingMean(), [normal(3, 4)], {"batch": 3, "classes": 4},
                   targets=[labels(3, 4)])),
    ("CE divided twice: 1/N^2", "constant factor", "dx",
     lambda: check(D.SoftmaxCEDividedTwice(), [normal(3, 4)], {"batch": 3, "classes": 4},
                   targets=[labels(3, 4)])),
    ("CE divided by classes: N/K", "constant factor", "dx",
     lambda: check(D.SoftmaxCEDividesByClasses(), [normal(3, 5)], {"batch": 3, "classes": 5},
                   targets=[labels(3, 5)])),
    ("MSE without the 2: 1/2", "constant factor", "dx",
     lambda: check(D.MSEMissingTwo(), [normal(3, 4)], {"batch": 3, "shape": (4,)},
                   targets=[normal(3, 4, seed=8)])),
    ("MSE without the mean: size", "constant factor", "dx",
     lambda: check(core.MSEMissingMean(), [normal(3, 4)], {"batch": 3, "shape": (4,)},
                   targets=[normal(3, 4, seed=8)])),
    ("avg pool without 1/k", "constant factor", "dx",
     lambda: check(conv.AvgPoolNoDivision(2), [normal(2, 2, 4, 4)], {"batch": 2, "pool": (2, 2), "stride": (2, 2)})),
    ("ReLU'(0) = 1", "kink", "dx",
     lambda: check(core.ReLUGradAtZeroIsOne(), [grid(4, 5)], {"batch": 4, "shape": (5,)})),
    ("max pool to every tied maximum", "tied maxima", "dx",
     lambda: check(conv.MaxPoolAllTiedMaxima(2), [grid(2, 2, 4, 4)], {"batch": 2, "pool": (2, 2), "stride": (2, 2)},
                   fd_names=())),
    ("max pool overlap assigned", "overlapping windows", "dx",
     lambda: check(conv.MaxPoolOverlapAssigned(2, stride=1), [normal(1, 2, 4, 4)],
                   {"batch": 1, "pool": (2, 2), "stride": (1, 1)})),
    ("conv col2im assigned at strided overlaps", "overlapping windows", "dx",
     lambda: check(*_conv(D.Conv2DCol2imAssigned, 2, 2, 3, 2, 0, (2, 2, 7, 7)))),
    ("conv padded border zeroed", "padded border", "dx",
     lambda: check(*_conv(D.Conv2DBorderZeroed, 2, 2, 3, 1, 1, (2, 2, 5, 5)))),
    ("conv channel 0 skipped", "one channel", "dx",
     lambda: check(*_conv(D.Conv2DChannelZeroSkipped, 3, 2, 3, 1, 1, (2, 3, 4, 4)))),
    ("cumsum step 0 skipped", "one time step", "dx",
     lambda: check(D.CumSumFirstStepSkipped(), [normal(2, 4, 3)], {"batch": 2, "shape": (4, 3), "steps": 4},
                   twin=cumsum_twin)),
    ("embedding assigned at repeated ids", "repeated index", "dW",
     lambda: check(D.EmbeddingAssigned(5, 3, rng=np.random.default_rng(9)), [np.array([1, 3, 1, 4, 3, 1])],
                   {"batch": 6, "vocabulary": 5, "dim": 3}, twin=embedding_twin)),
    ("SiLU product rule half", "missing term", "dx",
     lambda: check(D.SiLUProductRuleHalf(), [normal(3, 4)], {"batch": 3, "shape": (4,)}, twin=silu_twin,
                   factors={"sigmoid(x)": lambda x: tf().math.sigmoid(x).numpy(), "x": lambda x: x})),
    ("float32 backward in a float64 check", "wrong dtype", "dW",
     lambda: check(dense(D.DenseBackwardInFloat32, 16, 8), [normal(8, 16)], {"batch": 8, "shape": (16,), "out": 8})),
    ("db with keepdims", "wrong shape", "db",
     lambda: check(dense(D.DenseBiasKeepdims, 3, 2), [normal(4, 3)], {"batch": 4, "shape": (3,), "out": 2})),
    ("MSE scale cached from batch 2", "stale cache", "dx",
     lambda: check(D.MSECachedScale(), [normal(5, 3)], {"batch": 5, "shape": (3,)}, targets=[normal(5, 3, seed=8)],
                   earlier=([normal(2, 3, seed=10)], [normal(2, 3, seed=11)]))),
]


def _conv(cls, c, f, k, stride, padding, shape):
    layer, cfg = conv2d(cls, c, f, k, stride, padding)
    return layer, [normal(*shape)], {**cfg, "batch": shape[0]}


@pytest.mark.parametrize("case,kind,tensor", [c[:3] for c in CASES], ids=[c[0] for c in CASES])
def test_planted_bug_gets_its_class(case, kind, tensor):
    run = dict((c[0], c[3]) for c in CASES)[case]
    results = run()
    r = results[tensor]
    assert not r.passed, r.message()
    assert r.verdict in ("layer bug", "kink convention", "below fd resolution"), r.message()
    assert r.shown_diagnosis.get("kind") == kind, r.message()
    assert f"  diagnosis: {kind}: " in r.message()
    lines = r.message().splitlines()
    assert lines.index(next(ln for ln in lines if ln.startswith("  diagnosis:"))) == \
        lines.index(next(ln for ln in lines if ln.startswith("  verdict:"))) + 1
    others = {n: x.shown_diagnosis.get("kind") for n, x in results.items() if n != tensor}
    assert set(others.values()) <= {None, kind}, others   # the same bug may show in two tensors


def test_the_correct_layers_of_the_planted_cases_pass_undiagnosed():
    """The same cases with the correct class: every tensor passes and carries no diagnosis."""
    fixed = [
        check(dense(L.Dense, 2, 3), [normal(4, 2)], {"batch": 4}),
        check(L.Tanh(), [normal(3, 4)], {"batch": 3}),
        check(L.SoftmaxCrossEntropy(), [normal(3, 5)], {"batch": 3, "classes": 5}, targets=[labels(3, 5)]),
        check(L.MSE(), [normal(5, 3)], {"batch": 5}, targets=[normal(5, 3, seed=8)],
              earlier=([normal(2, 3, seed=10)], [normal(2, 3, seed=11)])),
        check(L.ReLU(), [grid(4, 5)], {"batch": 4}),
        check(L.MaxPool2D(2, stride=1), [normal(1, 2, 4, 4)], {"batch": 1, "pool": (2, 2), "stride": (1, 1)}),
        check(*_conv(L.Conv2D, 2, 2, 3, 2, 1, (2, 2, 7, 7))),
        check(D.CumSum(), [normal(2, 4, 3)], {"batch": 2, "steps": 4}, twin=cumsum_twin),
        check(D.Embedding(5, 3, rng=np.random.default_rng(9)), [np.array([1, 3, 1, 4, 3, 1])],
              {"batch": 6}, twin=embedding_twin),
        check(D.SiLU(), [normal(3, 4)], {"batch": 3}, twin=silu_twin),
    ]
    results = [r for res in fixed for r in res.values()]
    assert len(results) >= 14 and all(r.passed and not r.diagnosis for r in results), \
        [r.message() for r in results if not r.passed or r.diagnosis]


def test_a_users_loss_summing_where_the_oracle_averages_every_element_is_named():
    """A user's layer's case carries no shape in its config; the element count comes from the
    input it was given: an MSE gradient 12 times the oracle's, for a (3, 4) input, is the
    missing 1/12 of a mean over every element, not an unexplained failure."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4))
    want = rng.standard_normal((3, 4))
    context = {"inputs": {"x": x}, "dout": np.float64(1.0)}
    r = compare(12 * want, want, layer="mine.MSE", prop="grads_tf", tensor="dx", oracle="tf",
                dtype="float64", config={"batch": 3}, context=context)
    assert r.diagnosis["kind"] == "constant factor", r.diagnosis
    assert "12, the number of elements averaged over" in r.diagnosis["summary"]
    r = compare(7 * want, want, layer="mine.MSE", prop="grads_tf", tensor="dx", oracle="tf",
                dtype="float64", config={"batch": 3}, context=context)
    assert r.diagnosis.get("kind") != "constant factor"       # 7 is nothing the case names


def test_a_users_sequence_input_names_its_steps_and_the_rows_of_its_flattening():
    """A user's temporal layer has no config saying T: its (N, T, D) input does. A bias
    gradient averaged over the N * T rows was named nothing at N = 2 (found by a new user)."""
    from oracle.diagnosis_geometry import named_factors
    named = dict(named_factors({}, 2, np.zeros((2, 3, 4))))
    assert "1/(N*T) with N = 2, T = 3" in named[round(1 / 6, 12)]
    assert "T = 3, the number of time steps" in named[3.0]
    assert not any("time steps" in t for t in dict(named_factors({}, 2, np.zeros((2, 4)))).values())


def test_an_images_positions_are_a_named_factor():
    """A global max pool's backward copied from the average's divides by H*W: a constant factor
    of 1/36 on (N, C, 6, 6) images, which no named factor covered (no diagnosis at all)."""
    from oracle.diagnosis_geometry import named_factors
    image = np.zeros((2, 3, 6, 6))
    found = dict(named_factors({}, 2, image))
    assert "H*W = 36" in found[round(1 / 36, 12)] and "H*W = 36" in found[36.0]
    assert not any("H*W" in text for _, text in named_factors({}, 2, np.zeros((2, 6))))
