"""The reference training run: our networks and their TF twins trained side by side on real digits.

Each model is built only from the project's layers and trained in float64 on
scikit-learn's handwritten digits (8x8, 10 classes; 1,437 training and 360
held-out images, split by a fixed permutation). Next to it a TF twin holds
float64 ``tf.Variable`` copies of the same initial weights, composes the layer
twins, and is updated by the Keras twin of the optimizer; it sees the very same
mini-batch at every step. At every step the params, the loss and the gradients
of the two are compared (``STEP_TOL``, the table's float64/TF row tightened);
the first step where they part is reported with the layer or the optimizer
most likely responsible. Our loss curve is also held against a checked-in
golden curve (tests/golden/<model>.json), within the band stated there.

    python -m properties.reference.run                  # run, compare, print (never writes golden files)
    python -m properties.reference.run --bless          # ... and rewrite the golden files, deliberately
    python -m properties.reference.run --report-dir D   # ... and write D/training_curves.json
"""
import argparse
import copy
import functools
import math
import sys
import time
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

import layers as L
from layers import optimizers as O
from layers.schedules import HyperbolicDecay
from layers.training import TrainingLog, accuracy, train
from oracle.compare import agrees, compare
from oracle.keras_optimizers import keras_twin
from oracle.network_twin import network_twin, network_vjp
from oracle.tf_runtime import tf
from oracle.tolerance import tolerance_for
from oracle.twins import twin_for
# Golden-curve names are re-exported: the tests and the CLI reach them through this module.
from properties.reference.golden import (BLESS_COMMAND, CURVES_FILE, GOLDEN_DIR,  # noqa: F401
                                         LOSS_BAND, REPRODUCE_COMMAND, TEST_SIZE, golden_path,
                                         golden_result, read_golden, write_training_curves)
from properties.reference.golden import bless as _bless

# Params, loss and gradients of the two runs are compared at every step with the table's
# ("float64", "tf") row tightened: measured over whole runs, the worst deviation (relative to
# max(1, |value|)) is 1e-15 for SGD and momentum and 4e-13 for Adam (which divides tiny
# gradients by their own root), so 1e-10 still leaves a margin of over 200.
STEP_OVERRIDES = {"tf": {"rtol": 1e-9, "atol": 1e-10}}
STEP_TOL = tolerance_for("float64", "tf", STEP_OVERRIDES)
SPLIT_SEED = 0


@dataclass(frozen=True)
class Digits:
    x_train: np.ndarray   # (1437, 64) in [0, 1]
    y_train: np.ndarray   # (1437,) labels 0..9
    x_test: np.ndarray
    y_test: np.ndarray


def load_digits():
    """scikit-learn's digits, pixels / 16 in float64, split by a fixed permutation."""
    pixels, target = digits_file()
    x = pixels / 16.0
    order = np.random.default_rng(SPLIT_SEED).permutation(len(x))
    test, rest = order[:TEST_SIZE], order[TEST_SIZE:]
    return Digits(x[rest], target[rest], x[test], target[test])


def digits_file():
    """(pixels (1797, 64) float64, labels (1797,) int) read from the file scikit-learn ships
    (``sklearn/datasets/data/digits.csv.gz``: 64 pixels and the label per row), found without
    importing scikit-learn, whose import costs about 2 s for one 400 kB table."""
    table = _digits_table()
    return table[:, :-1].copy(), table[:, -1].astype(int)


@functools.lru_cache(maxsize=1)
def _digits_table():
    import importlib.util
    from pathlib import Path
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the reference run needs scikit-learn's digits: pip install scikit-learn")
    path = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz"
    return np.loadtxt(path, delimiter=",")


def ffn(rng, *, dense=L.Dense, relu=L.ReLU):
    """Seed 000's three-layer FFN: x (N, 64) -> 64 -> ReLU -> 32 -> ReLU -> 10, softmax CE."""
    return L.Sequential([dense(64, 64, rng=rng), relu(), dense(64, 32, rng=rng), relu(),
                         dense(32, 10, rng=rng)], L.SoftmaxCrossEntropy())


def cnn(rng, *, dense=L.Dense, relu=L.ReLU):
    """Seed 003 in small: x (N, 1, 8, 8) -> conv 3x3, 8 filters, padding 1 -> ReLU ->
    max-pool 2 -> (N, 8, 4, 4) -> flatten -> dense 128 -> 10, softmax CE."""
    return L.Sequential([L.Conv2D(1, 8, 3, padding=1, rng=rng), relu(), L.MaxPool2D(2),
                         L.Flatten(), dense(128, 10, rng=rng)], L.SoftmaxCrossEntropy())


@dataclass(frozen=True)
class ModelSpec:
    name: str
    build: Callable          # (rng, **layer classes) -> Sequential
    optimizer: Callable      # () -> a layers.optimizers optimizer
    images: bool             # NCHW (N, 1, 8, 8) inputs instead of (N, 64)
    epochs: int
    batch_size: int
    accuracy_floor: float    # final held-out accuracy that means the network learnt
    init_seed: int = 1
    batch_seed: int = 2


SPECS = {s.name: s for s in [
    ModelSpec("ffn_sgd", ffn, lambda: O.SGD(0.2, schedule=HyperbolicDecay(0.1)), False, 8, 32, 0.90),
    ModelSpec("ffn_adam", ffn, lambda: O.Adam(0.005), False, 5, 32, 0.90),
    ModelSpec("cnn_momentum", cnn, lambda: O.Momentum(0.2, 0.9), True, 5, 32, 0.90),
]}


class TwinNet:
    """The TF twin of a Sequential: float64 tf.Variables copied from its params, the layer twins
    composed in order (oracle.network_twin), updated by the Keras twin of ``optimizer``."""

    def __init__(self, net, optimizer, steps_per_epoch):
        t = tf()
        self.net, self.names = net, list(net.params)
        self.variables = [t.Variable(np.array(net.params[k], np.float64), dtype=t.float64)
                          for k in self.names]
        self.loss_fn = network_twin(net)
        self.optimizer = keras_twin(optimizer, steps_per_epoch=steps_per_epoch)
        self.optimizer.keras.build(self.variables)
        # Compiled once per batch shape: eager TF costs ~15 ms a step, a graph ~1 ms.
        self._loss_and_grads = t.function(self._tape, autograph=False)
        apply = lambda grads: self.optimizer.apply(grads, self.variables)
        self._apply = t.function(apply, autograph=False) if self.optimizer.graph_safe else apply

    def params(self):
        return {k: v.numpy() for k, v in zip(self.names, self.variables)}

    def _tape(self, x, t):
        with tf().GradientTape() as tape:
            loss = self.loss_fn(self.net, x, t, **dict(zip(self.names, self.variables)))
        return loss, tape.gradient(loss, self.variables)

    def loss_and_grads(self, x, t):
        loss, grads = self._loss_and_grads(tf().constant(x), tf().constant(t))
        return float(loss.numpy()), grads

    def step(self, grads):
        self.optimizer.prepare()
        self._apply(grads)

    def accuracy(self, x, labels):
        out, params = tf().constant(x), dict(zip(self.names, self.variables))
        for i, layer in enumerate(self.net.layers):
            out = twin_for(layer)(layer, out, **{k: params[f"{i}.{k}"] for k in layer.params})
        return float(np.mean(np.argmax(out.numpy(), axis=-1) == labels))


@dataclass
class Divergence:
    """The first step where our run and the twin's part, and what most likely caused it."""

    step: int
    epoch: int
    what: str        # "params" (after the previous update), "loss" or "gradients"
    culprit: str
    detail: str

    def message(self):
        return (f"step {self.step} (epoch {self.epoch}): the {self.what} part; "
                f"culprit: {self.culprit}. {self.detail}")


@dataclass
class RunRecord:
    name: str
    ours: list = field(default_factory=list)      # our loss at every step
    tf: list = field(default_factory=list)        # the twin's loss at every step
    divergence: Divergence = None
    test_accuracy: float = math.nan
    tf_test_accuracy: float = math.nan
    seconds: float = 0.0
    config: dict = field(default_factory=dict)

    @property
    def max_loss_dev(self):
        n = min(len(self.ours), len(self.tf))
        return float(np.max(np.abs(np.subtract(self.ours[:n], self.tf[:n])), initial=0.0))


def _close(a, b):
    return agrees(a, b, STEP_TOL)


def _worst(a, b):
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)), initial=0.0))


def forward_culprit(net, x, t, params):
    """The first layer whose output differs from its twin's, both at ``params`` (or the loss)."""
    mine = copy.deepcopy(net)
    acts = [x]
    for layer in mine.layers:
        acts.append(layer.forward(acts[-1]))
    loss = mine.loss.forward(acts[-1], t)
    tape = network_vjp(mine, x, t, params)
    for i, (layer, out, want) in enumerate(zip(mine.layers, acts[1:], tape.activations[1:])):
        if not _close(out, want):
            return (f"layer {i} ({layer!r}) forward",
                    f"Its output differs from its twin's by up to {_worst(out, want):.3g} "
                    "while its input agreed.")
    return f"the loss ({mine.loss!r}) forward", f"loss {float(loss):.10g}, twin {tape.loss:.10g}."


def backward_culprit(net, x, t, params):
    """The layer nearest the loss whose dx or param grads differ from its twin's for the same dout."""
    mine = copy.deepcopy(net)
    mine.loss_forward(x, t)
    tape = network_vjp(mine, x, t, params)
    dout = mine.loss.backward(1.0)
    if not _close(dout, tape.dactivations[-1]):
        return (f"the loss ({mine.loss!r}) backward",
                f"dx differs by up to {_worst(dout, tape.dactivations[-1]):.3g}.")
    for i in reversed(range(len(mine.layers))):
        layer = mine.layers[i]
        dx = layer.backward(dout)
        bad = [f"d{k}" for k in layer.params if not _close(layer.grads[k], tape.dparams[f"{i}.{k}"])]
        bad += [] if _close(dx, tape.dactivations[i]) else ["dx"]
        if bad:
            return (f"layer {i} ({layer!r}) backward",
                    f"{', '.join(bad)} differ from the twin's VJP for the same upstream gradient.")
        dout = dx
    return "undetermined", "every layer agrees with its twin in isolation; check the network wiring."


class _Stop(Exception):
    pass


def run_model(spec, data, *, layers=None, stop_at_divergence=False):
    """Train ``spec``'s model and its TF twin in lockstep; return the :class:`RunRecord`.

    layers: replacement layer classes for the builder (``{"dense": ...}``), for planted variants.
    """
    t0 = time.perf_counter()
    net = spec.build(np.random.default_rng(spec.init_seed), **(layers or {}))
    opt = spec.optimizer()
    shape = (-1, 1, 8, 8) if spec.images else (-1, 64)
    x_tr, x_te = data.x_train.reshape(shape), data.x_test.reshape(shape)
    twin = TwinNet(net, opt, steps_per_epoch=math.ceil(len(x_tr) / spec.batch_size))
    rec = RunRecord(spec.name, config={
        "net": repr(net), "optimizer": opt.config(), "epochs": spec.epochs,
        "batch_size": spec.batch_size, "init_seed": spec.init_seed, "batch_seed": spec.batch_seed,
        "twin": twin.optimizer.description,
        "data": f"sklearn digits / 16, {len(x_tr)} train, {len(x_te)} test, split seed {SPLIT_SEED}"})

    def before_update(step):
        xb, tb = x_tr[step.indices], data.y_train[step.indices]
        tf_loss, tf_grads = twin.loss_and_grads(xb, tb)
        rec.ours.append(step.loss)
        rec.tf.append(tf_loss)
        if rec.divergence is None:
            rec.divergence = check_step(step, net, opt, twin, xb, tb, tf_loss, tf_grads)
            if rec.divergence is not None and stop_at_divergence:
                raise _Stop
        twin.step(tf_grads)

    try:
        log = train(net, opt, x_tr, data.y_train, epochs=spec.epochs, batch_size=spec.batch_size,
                    rng=np.random.default_rng(spec.batch_seed), before_update=before_update,
                    log=TrainingLog())
        if rec.divergence is None:
            rec.divergence = _params_divergence(len(log.losses), spec.epochs - 1, net, opt, twin)
    except _Stop:
        pass
    rec.test_accuracy = accuracy(net, x_te, data.y_test)
    rec.tf_test_accuracy = twin.accuracy(x_te, data.y_test)
    rec.seconds = time.perf_counter() - t0
    return rec


def _params_divergence(step, epoch, net, opt, twin):
    theirs = twin.params()
    bad = [k for k in twin.names if not _close(net.params[k], theirs[k])]
    if not bad:
        return None
    worst = max(_worst(net.params[k], theirs[k]) for k in bad)
    return Divergence(step, epoch, "params", f"the optimizer {opt!r}",
                      f"After the update of step {step - 1}, whose gradients agreed, params {bad} "
                      f"differ from the twin's by up to {worst:.3g}; the twin is "
                      f"{twin.optimizer.description}.")


def check_step(step, net, opt, twin, xb, tb, tf_loss, tf_grads):
    """Compare params (before this update), loss and gradients; a :class:`Divergence` or None."""
    found = _params_divergence(step.step, step.epoch, net, opt, twin)
    if found is not None:
        return found
    if not _close(step.loss, tf_loss):
        culprit, detail = forward_culprit(net, xb, tb, twin.params())
        return Divergence(step.step, step.epoch, "loss", culprit,
                          f"Loss {step.loss:.12g}, twin {tf_loss:.12g}. {detail}")
    bad = [k for k, g in zip(twin.names, tf_grads) if not _close(net.grads[k], g.numpy())]
    if bad:
        culprit, detail = backward_culprit(net, xb, tb, twin.params())
        return Divergence(step.step, step.epoch, "gradients", culprit,
                          f"Gradients {bad} differ from the twin's. {detail}")
    return None


def twin_result(rec):
    """A Result: our loss curve against the TF twin's, step by step, with the first divergence."""
    n, diverged = min(len(rec.ours), len(rec.tf)), rec.divergence
    res = compare(np.array(rec.ours[:n]), np.array(rec.tf[:n]), layer=f"reference {rec.name}",
                  prop="twin_curve", tensor="loss per step", oracle="tf", dtype="float64",
                  config=rec.config, overrides=STEP_OVERRIDES,
                  note=diverged.message() if diverged else "")
    # a divergence fails the run even where the curves agree; the replay line goes on every result
    return replace(res, reproduce=REPRODUCE_COMMAND, **({} if diverged is None else dict(
        passed=False, verdict="diverged", explanation=diverged.culprit)))



def bless(records, golden_dir=GOLDEN_DIR):
    """Write the golden files for ``records`` (see properties.reference.golden.bless), with each model's floor."""
    return _bless(records, {name: spec.accuracy_floor for name, spec in SPECS.items()}, golden_dir)


def run_all(names=None):
    data = load_digits()
    return [run_model(SPECS[n], data) for n in (names or list(SPECS))]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bless", action="store_true", help="rewrite the golden files from this run")
    parser.add_argument("--models", default=",".join(SPECS), help="comma-separated model names")
    parser.add_argument("--golden-dir", default=str(GOLDEN_DIR))
    parser.add_argument("--report-dir", default=None, help="write training_curves.json there")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    records, ok = run_all(args.models.split(",")), True
    for rec in records:
        g = golden_result(rec, read_golden(rec.name, args.golden_dir))
        ok &= rec.divergence is None and (g.passed or args.bless)
        print(f"{rec.name:13s} {len(rec.ours):4d} steps {rec.seconds:5.2f} s  max|ours - tf| "
              f"{rec.max_loss_dev:.2e}  test accuracy {rec.test_accuracy:.4f} (tf "
              f"{rec.tf_test_accuracy:.4f})  golden: {'ok' if g.passed else 'FAIL'}")
        for problem in [rec.divergence and f"DIVERGED at {rec.divergence.message()}",
                        not (g.passed or args.bless) and g.note]:
            if problem:
                print(f"  {problem}")
    print(f"reference run: {time.perf_counter() - t0:.2f} s")
    if args.report_dir:
        print(f"curves: {write_training_curves(args.report_dir, records, args.golden_dir)}")
    if args.bless:
        for path in bless(records, args.golden_dir):
            print(f"blessed {path}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
