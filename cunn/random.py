"""The one place cunn draws random numbers: initialisation, dropout masks, shuffling.

``manual_seed(n)`` reseeds it; kernels receive masks and initial values as arrays,
so every backend sees the same numbers.
"""
import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed):
    """Seed every random source cunn uses."""
    global _generator
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"manual_seed: seed must be an int, got {type(seed).__name__}")
    _generator = np.random.default_rng(int(seed) & 0xFFFFFFFFFFFFFFFF)


def generator():
    """The shared numpy Generator (replaced by manual_seed)."""
    return _generator


def dropout_mask(shape, p):
    """A bool mask keeping each element with probability 1 - p."""
    return _generator.random(shape, dtype=np.float32) >= np.float32(p)
