"""Finite-difference gradient checks and backend comparisons for differentiable ops.

``check_gradients`` runs a function of float64 tensors on the NumPy reference and
compares every input's ``.grad`` with central differences of a random projection of
the output; ``compare_backends`` runs a function of float32 tensors on each backend
and compares outputs and gradients with the NumPy reference's.
"""
import numpy as np

import cunn


def _scalar(output, projection):
    return float((np.asarray(output._data, dtype=np.float64) * projection).sum())


def check_gradients(function, *arrays, step=1e-6, tolerance=1e-6, seed=0):
    """``function(*tensors) -> Tensor``; arrays are float64 inputs that all get gradients."""
    rng = np.random.default_rng(seed)
    with cunn.backend("numpy"):
        tensors = [cunn.tensor(np.asarray(a, dtype=np.float64), dtype=cunn.float64,
                               requires_grad=True) for a in arrays]
        output = function(*tensors)
        projection = rng.standard_normal(output.shape)
        output.backward(cunn.tensor(projection, dtype=cunn.float64))
        for index, array in enumerate(arrays):
            array = np.asarray(array, dtype=np.float64)
            numeric = np.zeros_like(array)
            for position in np.ndindex(array.shape):
                values = []
                for delta in (step, -step):
                    shifted = [np.asarray(a, dtype=np.float64).copy() for a in arrays]
                    shifted[index][position] += delta
                    with cunn.no_grad():
                        result = function(*[cunn.tensor(s, dtype=cunn.float64) for s in shifted])
                    values.append(_scalar(result, projection))
                numeric[position] = (values[0] - values[1]) / (2 * step)
            analytic = tensors[index].grad
            assert analytic is not None, f"input {index} got no gradient"
            np.testing.assert_allclose(analytic.numpy(), numeric, rtol=tolerance,
                                       atol=tolerance, err_msg=f"gradient of input {index}")


def compare_backends(function, *arrays, rtol=1e-5, atol=1e-5, seed=0):
    """Outputs and gradients of ``function`` on every backend equal the NumPy reference's."""
    rng = np.random.default_rng(seed)
    results = {}
    projection = None
    for name in cunn.available_backends():
        with cunn.backend(name):
            tensors = [cunn.tensor(np.asarray(a, dtype=np.float32), requires_grad=True)
                       for a in arrays]
            output = function(*tensors)
            if projection is None:
                projection = rng.standard_normal(output.shape).astype(np.float32)
            output.backward(cunn.tensor(projection))
            results[name] = (output.numpy().copy(),
                             [None if t.grad is None else t.grad.numpy().copy() for t in tensors])
    reference_output, reference_grads = results["numpy"]
    for name, (output, grads) in results.items():
        np.testing.assert_allclose(output, reference_output, rtol=rtol, atol=atol,
                                   err_msg=f"{name} output")
        for index, (grad, expected) in enumerate(zip(grads, reference_grads)):
            assert (grad is None) == (expected is None)
            if grad is not None:
                np.testing.assert_allclose(grad, expected, rtol=rtol, atol=atol,
                                           err_msg=f"{name} gradient of input {index}")
    return results
