"""Speed of the project's Conv2D and MaxPool2D beside TensorFlow's, forward + backward.

    .venv/bin/python benchmarks/bench_conv.py [--dtype float32|float64] [--repeat 20]

Runs both in one process on the same shapes (N=32, C=16, 28x28, F=32, 3x3 kernel,
stride 1 and 2; pools 2x2/2 and overlapping 3x3/2) and prints the best time (of --repeat runs) of
one forward + backward for each and the ratio project / TF. TF is timed in eager
mode under GradientTape (what the oracle uses) and as a compiled tf.function
(its best case); its inputs are NHWC, its native CPU layout, so the TF figures
include no transposes. A benchmark, not a test: it asserts nothing.
"""
import argparse
import os
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# Race TF as users run it: with its oneDNN kernels (TF's default on x86). The oracle turns them
# off for reproducible sums; set TF_ENABLE_ONEDNN_OPTS=0 to time that configuration instead.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

import layers as L  # noqa: E402
from oracle.tf_runtime import tf  # noqa: E402

N, C, H, W, F = 32, 16, 28, 28, 32


def best_seconds(fns, repeat, warmup=3):
    """Best wall time of each function over ``repeat`` rounds; the functions take turns
    within a round, so a busy moment on a shared machine hits all of them alike."""
    for fn in fns:
        for _ in range(warmup):
            fn()
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for k, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            best[k] = min(best[k], time.perf_counter() - start)
    return best


def project_step(layer, x, dout):
    def step():
        layer.forward(x)
        layer.backward(dout)
    return step


def tf_steps(op, x_nchw, params, dout_nchw):
    """Eager and compiled TF forward + backward of ``op(x_nhwc, *params)``."""
    t = tf()
    x = t.constant(x_nchw.transpose(0, 2, 3, 1))
    dout = t.constant(dout_nchw.transpose(0, 2, 3, 1))
    ps = [t.constant(p) for p in params]

    def grads(x, *ps):
        with t.GradientTape() as tape:
            tape.watch([x, *ps])
            y = op(x, *ps)
        return tape.gradient(y, [x, *ps], output_gradients=dout)

    compiled = t.function(grads)
    return (lambda: grads(x, *ps)), (lambda: compiled(x, *ps))


def conv_case(stride, dtype, rng):
    layer = L.Conv2D(C, F, 3, stride=stride, padding=1, rng=rng, dtype=dtype)
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    dout = rng.standard_normal(layer.forward(x).shape).astype(dtype)
    Wt = layer.params["W"].transpose(2, 3, 1, 0)

    def op(x, w, b):
        return tf().nn.conv2d(x, w, strides=stride, padding=[[0, 0], [1, 1], [1, 1], [0, 0]]) + b

    return (f"Conv2D 3x3 stride {stride} pad 1", layer, x, dout,
            tf_steps(op, x, [Wt, layer.params["b"]], dout))


def pool_case(pool, stride, dtype, rng):
    layer = L.MaxPool2D(pool, stride)
    x = rng.standard_normal((N, F, H, W)).astype(dtype)
    dout = rng.standard_normal(layer.forward(x).shape).astype(dtype)

    def op(x):
        return tf().nn.max_pool2d(x, ksize=pool, strides=stride, padding="VALID")

    return f"MaxPool2D {pool}x{pool} stride {stride}", layer, x, dout, tf_steps(op, x, [], dout)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    dtype, rng = np.dtype(args.dtype), np.random.default_rng(0)
    cases = [conv_case(1, dtype, rng), conv_case(2, dtype, rng),
             pool_case(2, 2, dtype, rng), pool_case(3, 2, dtype, rng)]
    print(f"forward + backward, {args.dtype}, N={N} C={C} {H}x{W} F={F}, best of {args.repeat} "
          f"(TF {tf().__version__}, oneDNN {'on' if os.environ['TF_ENABLE_ONEDNN_OPTS'] == '1' else 'off'}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f})")
    print(f"{'':32} {'project':>10} {'TF eager':>10} {'TF graph':>10} {'/eager':>7} {'/graph':>7}")
    for name, layer, x, dout, (tf_eager, tf_graph) in cases:
        ours, eager, graph = best_seconds([project_step(layer, x, dout), tf_eager, tf_graph],
                                          args.repeat)
        print(f"{name:32} {ours * 1e3:8.2f}ms {eager * 1e3:8.2f}ms {graph * 1e3:8.2f}ms "
              f"{ours / eager:6.2f}x {ours / graph:6.2f}x")


if __name__ == "__main__":
    main()
