"""The NumPy reference of the CUDA dropout generator (cunn/_backends/numpy_ref/philox.py):
Philox-4x32-10's published known-answer vectors (Random123's kat_vectors), and the stream
properties the device mask relies on. Runs everywhere; the device is compared with this
reference in test_layer_kernels.py."""
import numpy as np
import pytest

from cunn._backends.numpy_ref import philox


@pytest.mark.parametrize("counter, key, expected", [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF, 0xFFFFFFFF), (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
])
def test_philox4x32_known_answers(counter, key, expected):
    assert tuple(int(word) for word in philox.philox4x32(counter, key)) == expected


def test_uniform_is_a_function_of_position():
    stream = philox.uniform(12345, 0, 1000)
    assert stream.dtype == np.float32 and stream.min() >= 0 and stream.max() < 1
    for offset in (1, 2, 3, 4, 5, 997):
        np.testing.assert_array_equal(philox.uniform(12345, offset, 1000 - offset),
                                      stream[offset:])
    # Element k is word k % 4 of the block for counter k // 4 (top 24 bits, scaled).
    words = philox.philox4x32((1, 0, 0, 0), (12345, 0))
    np.testing.assert_array_equal(stream[4:8], np.array(
        [int(word) >> 8 for word in words], np.float32) / np.float32(2 ** 24))


def test_dropout_mask_keeps_about_one_minus_p():
    mask = philox.dropout_mask(100_000, 0.25, 7, 0)
    assert mask.dtype == np.uint8 and set(np.unique(mask)) == {0, 1}
    assert abs(mask.mean() - 0.75) < 0.01
