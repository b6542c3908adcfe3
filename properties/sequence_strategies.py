"""What the battery draws for sequence layers: lengths, index tensors with repeats, padded masks.

Configurations are plain dicts with "T" (steps, from 1 up), so a law can set
T = 1. Index tensors and masks are targets: inputs the layer does not
differentiate, drawn from the case's own "targets" stream, so a case is still
reproduced from its seed alone.
"""
import numpy as np
from hypothesis import strategies as st

MAX_STEPS = 4


def steps(*, max_steps=MAX_STEPS):
    """Sequence lengths T: 1 up to ``max_steps``; shrink toward a single step."""
    if max_steps < 1:
        raise ValueError(f"steps: max_steps must be at least 1, got {max_steps}")
    return st.integers(1, max_steps)


def sequence_configs(*, max_steps=MAX_STEPS, max_features=4, **more):
    """{"T", "D", "H", ...}: steps, input features and hidden size; ``more`` adds strategies."""
    return st.fixed_dictionaries({"T": steps(max_steps=max_steps), "D": st.integers(1, max_features),
                                  "H": st.integers(1, max_features), **more})


def index_tensor(rng, shape, vocab):
    """Integer indices in [0, vocab) of ``shape``, with repeats on purpose.

    Half the positions (at least two, when there are two) reuse indices drawn
    for the others, so an index used at several positions is the rule, not luck:
    that is where a gradient written with ``dW[idx] += dout`` loses all but one.
    """
    n = int(np.prod(shape))
    idx = rng.integers(0, vocab, size=n)
    if n >= 2:
        repeated = rng.choice(n, size=max(2, n // 2), replace=False)
        idx[repeated] = rng.choice(idx[repeated], size=len(repeated))
        idx[repeated[1]] = idx[repeated[0]]   # at least one index surely used twice
    return idx.reshape(shape).astype(np.int64)


def padded_mask(rng, n, t):
    """A (N, T) boolean mask with padded tails: row i keeps its first L_i steps.

    Lengths are drawn in [1, T]; with T > 1 the last row is always padded
    (its length in [0, T - 1], an all-padding row included), so every case has
    masked positions to check. A batch of one row keeps a step: a mean over every
    unmasked step of a batch that has none is 0/0, no case a real batch makes.
    """
    lengths = rng.integers(1, t + 1, size=n)
    if t > 1:
        lengths[-1] = rng.integers(0 if n > 1 else 1, t)
    return np.arange(t)[None, :] < lengths[:, None]
