"""linear_chain family on the compiled backend: a run of Linear (+ ReLU) layers in one call."""
import numpy as np

from cunn import _C

__all__ = ["linear_chain_forward", "linear_chain_backward"]


def linear_chain_forward(x, weights, biases, relus):
    return _C.linear_chain_forward(np.ascontiguousarray(x), weights, biases, relus)


def linear_chain_backward(grad_output, x, outputs, weights, relus, need_x, need_weights,
                          need_biases):
    return _C.linear_chain_backward(np.ascontiguousarray(grad_output), np.ascontiguousarray(x),
                                    outputs, weights, relus, need_x, need_weights, need_biases)
