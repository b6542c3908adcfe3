"""Cost of one fully verified gradient check beside torch, jax and TF's own gradient checkers.

    .venv/bin/python benchmarks/bench_gradcheck.py [--rounds 5] [--sizes 1k,10k,100k]
                                                   [--full-up-to 1k] [--no-pool]

One *verified example* is what the battery spends on one case of a layer: its ``grads``
property, ``grads_tf`` and ``grads_fd`` on one trial (the layer built and run once, the
TF twin's VJP, finite differences, the comparisons and verdicts). It is timed on
Dense+ReLU and on a plain Dense, float64, at about 1k, 10k and 100k checked
inputs (inputs + params), beside:

* the *bare work* a check cannot avoid: the layer's forward and backward plus
  one TF forward and VJP (``oracle.tape.tape_vjp``);
* the *floor* of this check's design: the bare work, the case's own build and draws, and
  the six forwards of finite differences' joint pass (its growth bounds the harness's: at
  1k the harness is mostly fixed cost, at 100k mostly this);
* ``torch.autograd.gradcheck`` in fast mode and in full mode;
* ``jax.test_util.check_grads`` (order 1, reverse mode), jit-compiled and warm;
* ``tf.test.compute_gradient`` (the full Jacobian, numerically and by tape).

Full-Jacobian methods are run only up to ``--full-up-to`` inputs (their cost and
memory grow with the square of the size). torch and jax come from the optional
``bench`` extra (``pip install -e ".[bench]"``); without them their columns are
skipped and the script says so. Last, the overlapping max-pool (3x3, stride 2)
in float32 against compiled TF, forward + backward.

Everything is single-threaded (BLAS, TF intra/inter-op, torch, XLA), every
method takes its turn within each round (interleaved, so a busy moment on a
shared machine hits all alike), and the figures are medians over rounds. A
benchmark, not a test: it asserts nothing and prints the ratios the speed goals
are stated in (issue 15).
"""
import argparse
import gc
import os
import statistics
import sys
import time

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")   # as the oracle runs TF
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

import layers as L  # noqa: E402
from oracle.tape import tape_vjp  # noqa: E402
from oracle.tf_runtime import tf  # noqa: E402

# (batch N, features D, units M): N*D + D*M + M checked inputs.
SIZES = {"1k": (16, 24, 24), "10k": (50, 100, 48), "100k": (160, 320, 150)}


def single_threaded_tf():
    t = tf()
    t.config.threading.set_intra_op_parallelism_threads(1)
    t.config.threading.set_inter_op_parallelism_threads(1)
    return t


class DenseReLU(L.Layer):
    """relu(x @ W + b), the two project layers in one: params and grads are the Dense's own dicts."""

    def __init__(self, d, m, *, rng, dtype):
        super().__init__()
        self.dense, self.relu = L.Dense(d, m, rng=rng, dtype=dtype), L.ReLU()
        self.params, self.grads = self.dense.params, self.dense.grads

    def forward(self, x):
        return self.relu.forward(self.dense.forward(x))

    def backward(self, dout):
        return self.dense.backward(self.relu.backward(dout))


def dense_relu_twin(layer, x, W, b):
    return tf().nn.relu(x @ W + b)


def dense_twin(layer, x, W, b):
    return x @ W + b


MODELS = {"Dense+ReLU": (DenseReLU, dense_relu_twin, lambda z: np.maximum(z, 0)),
          "Dense": (L.Dense, dense_twin, lambda z: z)}


def register_models():
    """Register the benchmark's layers so the battery's properties can run them as cases."""
    from hypothesis import strategies as st
    from properties.catalog import entries
    from properties.registry import Entry, register
    entries()
    for name, (cls, twin, _) in MODELS.items():
        register(Entry(f"bench.{name}", lambda c, rng, dtype, cls=cls: cls(c["d"], c["m"], rng=rng, dtype=dtype),
                       st.just({}), input_shapes=lambda c, n: [(n, c["d"])], twin=twin),
                 planted="benchmarks.bench_gradcheck")


def harness_check(case):
    """One verified example as the battery runs it: ``grads`` (grads_tf and grads_fd on one
    trial of ``case``)."""
    from properties.battery import GRADS
    from properties.cases import _BUILT, _SLOW
    _BUILT.clear(), _SLOW.clear()    # no build carried over from the last round
    results = GRADS.fn(case)
    bad = [r for r in results if not r.passed]
    return "PASS" if not bad else "FAIL " + ", ".join(f"{r.prop}:{r.tensor}" for r in bad)


def bare_work(case):
    """The layer's forward and backward plus one TF forward and VJP: what no check can skip."""
    layer, (x,) = case.build(), case.inputs()
    params = dict(layer.params)
    twin = case.entry.twin

    def run():
        out = layer.forward(x)
        dout = case.dout(out.shape)
        layer.backward(dout)
        tape_vjp(twin, layer, [x], params, dout, name=case.layer)
    return run


def floor_work(case):
    """What this check's design cannot do without: the bare work, the case's own build and
    draws (the layer's constructor, its params, the inputs), and the six float64 forwards of
    the joint finite-difference pass (three directions, two evaluations each)."""
    from properties.cases import _BUILT, _SLOW
    bare = bare_work(case)
    layer, (x,) = case.build(), case.inputs()

    def run():
        _BUILT.clear(), _SLOW.clear()
        case.build(), case.inputs()
        bare()
        for _ in range(6):
            layer.forward(x)
    return run


def torch_checks(case, act):
    import torch
    torch.set_num_threads(1)
    layer, (x,) = case.build(), case.inputs()
    args = tuple(torch.tensor(a, dtype=torch.float64, requires_grad=True)
                 for a in (x, layer.params["W"], layer.params["b"]))
    relu = act(np.array([-1.0, 1.0]))[0] == 0

    def fn(x, W, b):
        z = x @ W + b
        return torch.relu(z) if relu else z

    def fast():
        return torch.autograd.gradcheck(fn, args, fast_mode=True, raise_exception=False)

    def full():
        return torch.autograd.gradcheck(fn, args, fast_mode=False, raise_exception=False)
    return fast, full


def jax_check(case, act):
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    from jax.test_util import check_grads
    layer, (x,) = case.build(), case.inputs()
    args = tuple(jnp.asarray(a) for a in (x, layer.params["W"], layer.params["b"]))
    relu = act(np.array([-1.0, 1.0]))[0] == 0
    fn = jax.jit(lambda x, W, b: jax.nn.relu(x @ W + b) if relu else x @ W + b)

    def run():
        try:
            check_grads(fn, args, order=1, modes=("rev",))
            return "PASS"
        except AssertionError:
            return "FAIL"
    run()
    return run


def tf_compute_gradient(case, act):
    t = tf()
    layer, (x,) = case.build(), case.inputs()
    args = [t.constant(a) for a in (x, layer.params["W"], layer.params["b"])]
    relu = act(np.array([-1.0, 1.0]))[0] == 0

    def fn(x, W, b):
        z = x @ W + b
        return t.nn.relu(z) if relu else z

    def run():
        theoretical, numerical = t.test.compute_gradient(fn, args)
        err = max(float(np.max(np.abs(a - b))) for a, b in zip(theoretical, numerical))
        return "PASS" if err < 1e-4 else f"FAIL (max err {err:.2g})"
    return run


def optional(module):
    try:
        __import__(module)
        return True
    except ImportError:
        return False


def interleaved_medians(fns, rounds):
    """Median wall time of each function over ``rounds`` rounds in which they take turns,
    and the last value each returned. Each call is timed with the garbage collector off, as
    ``timeit`` does: the garbage one method leaves (the full-Jacobian ones make plenty) must
    not be collected in another's time. (Collecting right before each call instead leaves
    the caches cold for every method: that doubled the bare work at 1k.)"""
    times = {k: [] for k in fns}
    last = {}
    for _ in range(rounds):
        for k, fn in fns.items():
            gc.disable()
            try:
                start = time.perf_counter()
                last[k] = fn()
                times[k].append(time.perf_counter() - start)
            finally:
                gc.enable()
    return {k: statistics.median(v) for k, v in times.items()}, last


def n_checked(size):
    n, d, m = SIZES[size]
    return n * d + d * m + m


def fmt(seconds):
    if seconds is None:
        return "-"
    return f"{seconds * 1e3:.1f}ms" if seconds < 1 else f"{seconds:.2f}s"


def run_model(model, sizes, args, have):
    from properties.cases import Case
    cls, twin, act = MODELS[model]
    rows = {}
    for size in sizes:
        n, d, m = SIZES[size]
        case = Case(layer=f"bench.{model}", config={"d": d, "m": m}, dtype="float64",
                    batch=n, kind="normal", seed=0)
        fns = {"harness": lambda case=case: harness_check(case), "bare": bare_work(case),
               "floor": floor_work(case)}
        full_ok = n_checked(size) <= n_checked(args.full_up_to)
        if have["torch"]:
            fast, full = torch_checks(case, act)
            fns["torch fast"] = fast
            if full_ok:
                fns["torch full"] = full
        if have["jax"]:
            fns["jax"] = jax_check(case, act)
        if full_ok:
            fns["tf.compute_gradient"] = tf_compute_gradient(case, act)
        for fn in fns.values():   # warm-up: imports, first-call costs, jit
            fn()
        rows[size] = interleaved_medians(fns, args.rounds)
        print(f"  {model} {size} done", file=sys.stderr, flush=True)
    return rows


COLUMNS = ["harness", "bare", "floor", "torch fast", "torch full", "jax", "tf.compute_gradient"]


def print_table(model, rows):
    print(f"\n{model}, float64, single-threaded (medians of interleaved rounds)")
    print(f"{'inputs':>8} " + " ".join(f"{c:>20}" for c in COLUMNS)
          + f" {'harness/bare':>13} {'harness/torch fast':>19}  harness outcome")
    for size, (times, last) in rows.items():
        cells = [fmt(times.get(c)) for c in COLUMNS]
        over = times["harness"] / times["bare"]
        vs_torch = (f"{times['harness'] / times['torch fast']:.1f}x"
                    if "torch fast" in times else "-")
        print(f"{n_checked(size):>8} " + " ".join(f"{c:>20}" for c in cells)
              + f" {over:>12.1f}x {vs_torch:>19}  {last['harness']}")
    sizes = list(rows)
    if len(sizes) > 1:
        lo, hi = rows[sizes[0]][0], rows[sizes[-1]][0]
        growth = {c: hi[c] / lo[c] for c in COLUMNS if c in lo and c in hi}
        print(f"growth {sizes[0]} -> {sizes[-1]}: "
              + ", ".join(f"{c} {g:.1f}x" for c, g in growth.items()))


def pool_race(rounds):
    """Overlapping max-pool (3x3, stride 2) in float32: the project's forward + backward
    against compiled TF's (NHWC, its native layout)."""
    t = tf()
    rng = np.random.default_rng(0)
    layer = L.MaxPool2D(3, 2)
    x = rng.standard_normal((32, 32, 28, 28)).astype(np.float32)
    dout = rng.standard_normal(layer.forward(x).shape).astype(np.float32)
    xt, dt = t.constant(x.transpose(0, 2, 3, 1)), t.constant(dout.transpose(0, 2, 3, 1))

    @t.function
    def compiled(x):
        with t.GradientTape() as tape:
            tape.watch(x)
            y = t.nn.max_pool2d(x, ksize=3, strides=2, padding="VALID")
        return tape.gradient(y, x, output_gradients=dt)

    def ours():
        layer.forward(x)
        layer.backward(dout)

    fns = {"project": ours, "TF compiled": lambda: compiled(xt)}
    for fn in fns.values():
        fn()
    times, _ = interleaved_medians(fns, rounds * 4)
    print(f"\nMaxPool2D 3x3 stride 2 (overlapping), float32, N=32 C=32 28x28, forward + backward: "
          f"project {fmt(times['project'])}, TF compiled {fmt(times['TF compiled'])}, "
          f"ratio {times['project'] / times['TF compiled']:.1f}x")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sizes", default="1k,10k,100k")
    parser.add_argument("--full-up-to", default="1k", choices=list(SIZES),
                        help="largest size at which full-Jacobian methods run (cost ~ size^2)")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--no-pool", action="store_true")
    args = parser.parse_args()
    sizes = args.sizes.split(",")
    t = single_threaded_tf()
    have = {"torch": optional("torch"), "jax": optional("jax")}
    skipped = [f"{m} (not installed: pip install -e '.[bench]')" for m, ok in have.items() if not ok]
    print(f"TF {t.__version__}, NumPy {np.__version__}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}, {args.rounds} rounds")
    if skipped:
        print("skipped columns: " + "; ".join(skipped))
    print(f"full-Jacobian columns (torch full, tf.compute_gradient) only up to {args.full_up_to} "
          f"inputs; larger sizes print '-'")
    register_models()
    from oracle.tf_runtime import warm_up
    warm_up()
    for model in args.models.split(","):
        print_table(model, run_model(model, sizes, args, have))
    if not args.no_pool:
        pool_race(args.rounds)


if __name__ == "__main__":
    main()
