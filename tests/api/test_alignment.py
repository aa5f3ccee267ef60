"""Weights and optimizer state start on a 64-byte boundary (cunn/_memory.py)."""
import numpy as np
import pytest

import cunn
import cunn.nn as nn
import cunn.optim as optim
from cunn._memory import aligned_empty, aligned_zeros


def offset(array):
    return array.ctypes.data % 64


@pytest.mark.parametrize("shape", [(), (0,), (1,), (3,), (17, 5), (128, 784), (2, 3, 5, 7)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_aligned_arrays(shape, dtype):
    for _ in range(8):  # several allocations, so a lucky 16-byte address cannot pass alone
        array = aligned_zeros(shape, dtype)
        assert array.shape == shape and array.dtype == dtype
        assert array.flags.c_contiguous and array.flags.writeable
        if array.size:
            assert offset(array) == 0
        assert not array.any()
        empty = aligned_empty(shape, dtype)
        empty[...] = 7
        assert (empty == 7).all() and (array == 0).all()


def test_layer_parameters_and_adam_state_are_aligned():
    cunn.manual_seed(0)
    for _ in range(4):
        model = nn.Sequential(nn.Conv2d(1, 3, 3), nn.Flatten(), nn.Linear(3 * 26 * 26, 10))
        optimizer = optim.Adam(model.parameters())
        images = cunn.randn(2, 1, 28, 28)
        model(images).sum().backward()
        optimizer.step()
        for param in model.parameters():
            assert offset(param._data) == 0
            state = optimizer.state[param]
            assert offset(state["exp_avg"]) == 0 and offset(state["exp_avg_sq"]) == 0


def test_load_state_dict_keeps_the_aligned_arrays():
    model = nn.Linear(33, 7)
    before = [param._data for param in model.parameters()]
    model.load_state_dict({"weight": np.ones((7, 33), np.float32),
                           "bias": np.zeros(7, np.float32)})
    for param, array in zip(model.parameters(), before):
        assert param._data is array and offset(array) == 0
    assert (model.weight._data == 1).all()
