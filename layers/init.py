"""Weight initialisers; every one takes an injected ``np.random.Generator``.

He (Kaiming) initialisers keep the variance of ReLU activations steady from
layer to layer (Var W = 2 / fan_in); Xavier (Glorot) initialisers balance the
forward and backward variance for tanh/sigmoid (Var W = 2 / (fan_in + fan_out)).
"""
import numpy as np

from layers.base import check_positive_int


def _check(name, rng, **fans):
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{name}: rng must be a numpy.random.Generator "
                        f"(np.random.default_rng(seed)), got {type(rng).__name__}")
    for arg, value in fans.items():
        check_positive_int(name, arg, value)


def he_normal(rng, fan_in, shape, dtype=np.float64):
    """Gaussian with std sqrt(2 / fan_in) (He et al. 2015), suited to ReLU."""
    _check("he_normal", rng, fan_in=fan_in)
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(dtype)


def xavier_uniform(rng, fan_in, fan_out, shape, dtype=np.float64):
    """Uniform on +-sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio 2010), suited to tanh/sigmoid."""
    _check("xavier_uniform", rng, fan_in=fan_in, fan_out=fan_out)
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def initialise(rng, kind, fan_in, fan_out, shape, dtype):
    """Dispatch on ``kind``: "he" (He normal) or "xavier" (Xavier uniform)."""
    if kind == "he":
        return he_normal(rng, fan_in, shape, dtype)
    if kind == "xavier":
        return xavier_uniform(rng, fan_in, fan_out, shape, dtype)
    raise ValueError(f"init must be 'he' or 'xavier', got {kind!r}")
