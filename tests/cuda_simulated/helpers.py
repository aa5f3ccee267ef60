"""Moving test data to the (simulated) device and back, and comparing results."""
import numpy as np

from cunn._backends.cuda.array import DeviceArray, to_device


def on_device(value):
    """Host arrays in ``value`` (nested in lists, tuples and dicts) as device arrays."""
    if isinstance(value, np.ndarray):
        return to_device(value)
    if isinstance(value, (list, tuple)):
        return type(value)(on_device(item) for item in value)
    if isinstance(value, dict):
        return {key: on_device(item) for key, item in value.items()}
    return value


def on_host(value):
    """Device arrays in ``value`` (nested in lists and tuples) as host arrays."""
    if isinstance(value, DeviceArray):
        return value.get()
    if isinstance(value, (list, tuple)):
        return type(value)(on_host(item) for item in value)
    return value


def assert_same(actual, expected, rtol=1e-5, atol=1e-6, path="result"):
    """``actual`` (device results) matches ``expected`` (the twin's) in structure, shape,
    dtype and values (NaN where NaN)."""
    if expected is None:
        assert actual is None, f"{path}: expected None"
        return
    if isinstance(expected, (list, tuple)):
        assert isinstance(actual, (list, tuple)) and len(actual) == len(expected), path
        for index, (got, want) in enumerate(zip(actual, expected)):
            assert_same(got, want, rtol, atol, f"{path}[{index}]")
        return
    assert isinstance(actual, DeviceArray), f"{path}: expected a device array, got {type(actual)}"
    assert actual.is_contiguous(), f"{path}: a kernel's output must be contiguous"
    got, want = actual.get(), np.asarray(expected)
    assert got.shape == want.shape, f"{path}: shape {got.shape} != {want.shape}"
    if want.dtype == np.bool_ or want.dtype.kind in "iu":
        assert got.dtype.kind == want.dtype.kind or {got.dtype.kind, want.dtype.kind} <= {"b", "u"}
        np.testing.assert_array_equal(got, want, err_msg=path)
        return
    assert got.dtype == want.dtype, f"{path}: dtype {got.dtype} != {want.dtype}"
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, equal_nan=True, err_msg=path)
