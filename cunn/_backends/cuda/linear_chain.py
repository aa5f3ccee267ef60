"""linear_chain on the cuda backend: the single-layer kernels in turn, as the twin."""
from cunn._backends.cuda.activation import relu_backward
from cunn._backends.cuda.gemm import linear_backward, linear_forward

__all__ = ["linear_chain_forward", "linear_chain_backward"]


def _check_lengths(op, count, **lists):
    for name, values in lists.items():
        if len(values) != count:
            raise ValueError(f"{op}: {name} must have one entry per layer ({count}), got "
                             f"{len(values)}")


def linear_chain_forward(x, weights, biases, relus):
    _check_lengths("linear_chain_forward", len(weights), biases=biases, relus=relus)
    outputs = []
    h = x
    for weight, bias, relu in zip(weights, biases, relus):
        h = linear_forward(h, weight, bias)
        if relu and h.size:  # in place: each element reads only itself
            h.runtime.activation_forward("relu", h.ptr, h.ptr, h.size, 0.0, 0.0)
        outputs.append(h)
    return outputs[-1], outputs


def linear_chain_backward(grad_output, x, outputs, weights, relus, need_x, need_weights,
                          need_biases):
    count = len(weights)
    _check_lengths("linear_chain_backward", count, outputs=outputs, relus=relus,
                   need_weights=need_weights, need_biases=need_biases)
    grad_weights, grad_biases = [None] * count, [None] * count
    grad = grad_output
    for i in range(count - 1, -1, -1):
        if relus[i]:
            grad = relu_backward(grad, outputs[i])
        grad, grad_weights[i], grad_biases[i] = linear_backward(
            grad, outputs[i - 1] if i > 0 else x, weights[i], i > 0 or need_x,
            need_weights[i], need_biases[i])
    return grad, grad_weights, grad_biases
