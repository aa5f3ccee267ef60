"""Parameter: a Tensor that a Module registers as one of its learnable weights.

It is an ordinary Tensor (``isinstance(p, cunn.Tensor)``) whose ``requires_grad``
defaults to True; assigning one to a Module attribute registers it.
"""
import copy

import numpy as np

from cunn._tensor import Tensor
from cunn.device import is_device_array

__all__ = ["Parameter"]


def _parameter_array(data, requires_grad):
    if data is None:
        return np.empty((0,), dtype=np.float32)
    if isinstance(data, Tensor):
        return data._data  # shared, as PyTorch's Parameter(tensor) shares storage
    if isinstance(data, np.ndarray) or is_device_array(data):
        array = data
    elif isinstance(data, (bool, int, float, list, tuple, np.generic)):
        array = np.asarray(data)
        if array.dtype.kind in "iub" and requires_grad:
            array = array.astype(np.float32)  # Parameter([1, 2]) is meant as weights
    else:
        raise TypeError(f"Parameter: data must be a Tensor or a NumPy array, got "
                        f"{type(data).__name__}")
    if array.dtype.kind == "f" and array.dtype != np.float32:
        array = array.astype(np.float32)
    return array


class Parameter(Tensor):
    """``Parameter(data=None, requires_grad=True)``.

    Given a Tensor it shares that tensor's array; given an array it uses it (floating
    arrays of another precision are converted to float32 once, here).
    """

    def __init__(self, data=None, requires_grad=True):
        array = _parameter_array(data, requires_grad)
        if requires_grad and array.dtype.kind not in "fc":
            raise TypeError(f"Parameter: only floating-point data can require gradients, got "
                            f"dtype {array.dtype} (pass requires_grad=False)")
        super().__init__(array, requires_grad=bool(requires_grad))

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        result = type(self)(self._data.copy(), self.requires_grad)
        memo[id(self)] = result
        if self.grad is not None:
            result.grad = copy.deepcopy(self.grad, memo)
        return result

    def __reduce_ex__(self, protocol):
        # Pickles (and copy.copy) rebuild a Parameter from its array, never the autograd state.
        return (_rebuild_parameter, (self._data, self.requires_grad))


def _rebuild_parameter(array, requires_grad):
    return Parameter(array, requires_grad)
