"""batch_norm and layer_norm on the backend's normalization kernels.

Batch norm normalises with the batch's statistics (training, or no running statistics) or
with the running ones (eval). With batch statistics the running buffers, when given, are
updated in place as PyTorch does: running = (1 - momentum) * running + momentum * batch,
the variance unbiased (times M / (M - 1)). Those are C-element updates, next to the kernels'
passes over the whole input, so they stay in NumPy here. The backward is one kernel call
for the input, weight and bias gradients.
"""
import numpy as np

from cunn.autograd.function import Function
from cunn.ops._util import kernels_for

__all__ = ["batch_norm", "layer_norm"]


def _data(tensor):
    return None if tensor is None else tensor._data


class BatchNormBackward(Function):
    __slots__ = ()
    fresh_gradients = True

    def backward(self, grad_output):
        x, mean, invstd, weight, batch_statistics = self.saved
        grad_x, grad_weight, grad_bias = kernels_for(x).batch_norm_backward(
            grad_output, x, mean, invstd, weight, batch_statistics)
        needs = self.needs_input_grad
        return (grad_x if needs[0] else None, grad_weight if needs[1] else None,
                grad_bias if needs[2] else None)


def _update_running(running, batch_value, momentum):
    data = running._data
    data *= data.dtype.type(1 - momentum)
    data += (batch_value * momentum).astype(data.dtype)


def batch_norm(x, running_mean, running_var, weight, bias, use_batch_statistics, momentum, eps):
    """``x`` (N, C, *); ``running_mean`` / ``running_var`` Tensors (C,) or None (then
    ``use_batch_statistics``); ``momentum`` a float (the cumulative average's 1 / num_batches
    is computed by the caller)."""
    data = x._data
    kernels = kernels_for(data)
    if use_batch_statistics:
        mean, var = kernels.batch_norm_statistics(data)
        if running_mean is not None:
            count = data.size // data.shape[1]
            # float64 on the host; device arrays hold float32 only
            wide = np.float64 if type(var) is np.ndarray else var.dtype
            unbiased = var.astype(wide) * (count / (count - 1)) if count > 1 else \
                np.full_like(var, np.nan, dtype=wide)
            _update_running(running_mean, mean.astype(wide), momentum)
            _update_running(running_var, unbiased, momentum)
    else:
        mean, var = running_mean._data, running_var._data
    weight_data = _data(weight)
    out, invstd = kernels.batch_norm_forward(data, mean, var, weight_data, _data(bias), eps)
    return BatchNormBackward.record(out, (x, weight, bias), data, mean, invstd, weight_data,
                                    bool(use_batch_statistics))


class LayerNormBackward(Function):
    __slots__ = ()
    fresh_gradients = True

    def backward(self, grad_output):
        x, mean, invstd, weight, normalized_shape = self.saved
        grad_x, grad_weight, grad_bias = kernels_for(x).layer_norm_backward(
            grad_output, x, mean, invstd, weight, normalized_shape)
        needs = self.needs_input_grad
        return (grad_x if needs[0] else None, grad_weight if needs[1] else None,
                grad_bias if needs[2] else None)


def layer_norm(x, normalized_shape, weight, bias, eps):
    data = x._data
    weight_data = _data(weight)
    out, mean, invstd = kernels_for(data).layer_norm_forward(
        data, normalized_shape, weight_data, _data(bias), eps)
    return LayerNormBackward.record(out, (x, weight, bias), data, mean, invstd, weight_data,
                                    tuple(normalized_shape))
