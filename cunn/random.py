"""The one place cunn draws random numbers: initialisation, dropout masks, shuffling.

``manual_seed(n)`` reseeds the shared stream; a ``Generator`` is a separate stream that
``rand*``, ``randperm``, ``DataLoader`` and ``random_split`` accept as ``generator=``.
Kernels receive masks and initial values as arrays, so every backend sees the same numbers.
"""
import numpy as np

_generator = np.random.default_rng()


def _check_seed(op, seed):
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"{op}: seed must be an int, got {type(seed).__name__}")
    return int(seed) & 0xFFFFFFFFFFFFFFFF


def manual_seed(seed):
    """Seed every random source cunn uses."""
    global _generator
    _generator = np.random.default_rng(_check_seed("manual_seed", seed))


class Generator:
    """A random stream of its own (PyTorch's ``torch.Generator``):
    ``cunn.Generator().manual_seed(42)``."""

    def __init__(self, device="cpu"):
        from cunn.device import check_device

        self.device = check_device("Generator", device)
        self._seed = int(np.random.SeedSequence().entropy) & 0xFFFFFFFFFFFFFFFF
        self._rng = np.random.default_rng(self._seed)

    def manual_seed(self, seed):
        """Restart the stream from ``seed``; returns the generator, as PyTorch's does."""
        self._seed = _check_seed("Generator.manual_seed", seed)
        self._rng = np.random.default_rng(self._seed)
        return self

    def seed(self):
        """Reseed from fresh entropy; returns the new seed."""
        self.manual_seed(int(np.random.SeedSequence().entropy) & 0xFFFFFFFFFFFFFFFF)
        return self._seed

    def initial_seed(self):
        return self._seed

    def get_state(self):
        return self._rng.bit_generator.state

    def set_state(self, state):
        self._rng.bit_generator.state = state
        return self

    def __repr__(self):
        return f"<cunn.Generator object, initial_seed={self._seed}>"


def generator(source=None):
    """The numpy Generator to draw from: ``source``'s stream when a ``cunn.Generator`` is
    given, else the shared one (replaced by manual_seed)."""
    if source is None:
        return _generator
    if not isinstance(source, Generator):
        raise TypeError(f"generator must be a cunn.Generator or None, got "
                        f"{type(source).__name__}")
    return source._rng


def dropout_mask(shape, p):
    """A bool mask keeping each element with probability 1 - p."""
    return _generator.random(shape, dtype=np.float32) >= np.float32(p)


def device_seed():
    """(seed, offset) for a mask drawn on the GPU by the runtime's counter-based generator
    (element i from (seed, offset + i)): the seed comes from the shared stream, so
    manual_seed makes device masks reproducible too."""
    return int(_generator.integers(0, 1 << 63)), 0
