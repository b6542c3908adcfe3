"""A NumPy-only training loop: deterministic mini-batches and a per-step loss log.

Mini-batches come from an injected ``np.random.Generator``: each epoch draws
one permutation of the samples and cuts it into batches of ``batch_size`` (the
last batch may be smaller). Given the generator's state, the optimizer's
counters and the params, the run is fully determined, which is what lets a run
resumed from a checkpoint continue the exact trajectory of an uninterrupted one.
"""
from dataclasses import dataclass, field

import numpy as np

from layers.base import check_positive_int


def epoch_batches(n, batch_size, rng):
    """Index arrays of one epoch's mini-batches: a permutation of range(n) cut into pieces."""
    check_positive_int("epoch_batches", "n", n)
    check_positive_int("epoch_batches", "batch_size", batch_size)
    order = rng.permutation(n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


@dataclass
class StepRecord:
    """One training step: its index over the whole run, epoch, sample indices and loss."""

    step: int
    epoch: int
    indices: np.ndarray
    loss: float


@dataclass
class TrainingLog:
    """Per-step losses and the epoch of each step."""

    losses: list = field(default_factory=list)
    epochs: list = field(default_factory=list)

    def add(self, record):
        self.losses.append(record.loss)
        self.epochs.append(record.epoch)


def train(net, optimizer, x, t, *, epochs, batch_size, rng, before_update=None, log=None):
    """Train ``net`` (a Sequential with a loss) from ``optimizer.epoch`` up to ``epochs``.

    x: (N, ...) inputs; t: (N,) labels or (N, C) targets. Each step runs
    ``net.loss_forward`` and ``net.backward``, calls ``before_update(record)``
    (when given) with the :class:`StepRecord`, then ``optimizer.step(net.params,
    net.grads)``. ``optimizer.epoch`` is the current epoch during the run and
    the number of finished epochs after it. Returns the :class:`TrainingLog`
    (``log`` if given, extended).
    """
    if len(x) != len(t):
        raise ValueError(f"train: x has {len(x)} samples but t has {len(t)}")
    check_positive_int("train", "epochs", epochs)
    log = TrainingLog() if log is None else log
    step = len(log.losses)
    for epoch in range(optimizer.epoch, epochs):
        optimizer.epoch = epoch
        for idx in epoch_batches(len(x), batch_size, rng):
            loss = float(net.loss_forward(x[idx], t[idx]))
            net.backward()
            record = StepRecord(step, epoch, idx, loss)
            if before_update is not None:
                before_update(record)
            optimizer.step(net.params, net.grads)
            log.add(record)
            step += 1
        optimizer.epoch = epoch + 1
    return log


def accuracy(net, x, labels):
    """Fraction of samples whose largest logit is the label. labels: (N,) integers."""
    was_training = net.training
    net.training = False
    try:
        predicted = np.argmax(net.forward(x), axis=-1)
    finally:
        net.training = was_training
    return float(np.mean(predicted == labels))
