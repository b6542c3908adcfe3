"""Weight initialisers; every one takes an injected ``np.random.Generator``."""
import numpy as np


def he_normal(rng, fan_in, shape, dtype=np.float64):
    """Gaussian with std sqrt(2 / fan_in) (He et al. 2015), suited to ReLU."""
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(dtype)


def xavier_uniform(rng, fan_in, fan_out, shape, dtype=np.float64):
    """Uniform on +-sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio 2010), suited to tanh/sigmoid."""
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def initialise(rng, kind, fan_in, fan_out, shape, dtype):
    """Dispatch on ``kind`` ("he" or "xavier"); raises a ValueError naming the argument otherwise."""
    if kind == "he":
        return he_normal(rng, fan_in, shape, dtype)
    if kind == "xavier":
        return xavier_uniform(rng, fan_in, fan_out, shape, dtype)
    raise ValueError(f"init must be 'he' or 'xavier', got {kind!r}")
