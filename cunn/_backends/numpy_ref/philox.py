"""The counter-based generator of the CUDA dropout mask (csrc/cuda/dropout.h), reference.

uniform(seed, k) = (word >> 8) * 2^-24 in [0, 1): word k % 4 of Philox-4x32-10 (Salmon et al.,
SC 2011) for counter (k // 4 as two 32-bit words, low first, 0, 0) and key (seed's low and
high 32 bits). dropout_mask keeps element i when uniform(seed, offset + i) >= p, so a
(seed, offset) stream is the same however it is cut into calls. Not imported by the numpy
backend (its masks come from cunn/random.py); the CUDA tests and the simulated runtime use it
to reproduce the device's masks bit for bit.
"""
import numpy as np

__all__ = ["philox4x32", "uniform", "dropout_mask"]

_MULTIPLIERS = (np.uint64(0xD2511F53), np.uint64(0xCD9E8D57))
_WEYL = (0x9E3779B9, 0xBB67AE85)
_LOW = np.uint64(0xFFFFFFFF)
_SHIFT = np.uint64(32)


def philox4x32(counter, key):
    """The four output words (uint32 arrays) of Philox-4x32-10 for counter words
    (c0, c1, c2, c3) (arrays or ints) and key (k0, k1) (ints)."""
    x = [np.asarray(word, dtype=np.uint64) & _LOW for word in counter]
    k0, k1 = int(key[0]) & 0xFFFFFFFF, int(key[1]) & 0xFFFFFFFF
    for round_index in range(10):
        if round_index:
            k0, k1 = (k0 + _WEYL[0]) & 0xFFFFFFFF, (k1 + _WEYL[1]) & 0xFFFFFFFF
        product0 = _MULTIPLIERS[0] * x[0]  # < 2^64: both factors are below 2^32
        product1 = _MULTIPLIERS[1] * x[2]
        x = [(product1 >> _SHIFT) ^ x[1] ^ np.uint64(k0), product1 & _LOW,
             (product0 >> _SHIFT) ^ x[3] ^ np.uint64(k1), product0 & _LOW]
    return [word.astype(np.uint32) for word in x]


def uniform(seed, offset, count):
    """float32 uniform(seed, offset + i) for i in [0, count)."""
    seed, offset, count = int(seed), int(offset), int(count)
    if count <= 0:
        return np.empty(0, np.float32)
    first_group = offset // 4
    groups = np.arange(first_group, (offset + count + 3) // 4, dtype=np.uint64)
    words = philox4x32((groups & _LOW, groups >> _SHIFT, 0, 0), (seed, seed >> 32))
    stream = np.stack(words, axis=1).reshape(-1)  # word k % 4 of group k // 4
    start = offset - 4 * first_group
    chosen = stream[start:start + count] >> np.uint32(8)
    return chosen.astype(np.float32) * np.float32(1.0 / 16777216.0)


def dropout_mask(count, p, seed, offset):
    """uint8 mask (count,): 1 where uniform(seed, offset + i) >= p (float32 p)."""
    return (uniform(seed, offset, count) >= np.float32(p)).astype(np.uint8)
