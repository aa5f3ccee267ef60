"""linear_chain family, NumPy reference: the single-layer reference kernels in order.

Layer i computes h_i = h_{i-1} @ weights[i].T + biases[i] (h_{-1} = x), then ReLU where
relus[i]. The backward takes the ReLU mask from h_i itself: relu(z) > 0 exactly where z > 0.
"""
from .activation import relu_backward, relu_forward
from .gemm import linear_backward, linear_forward

__all__ = ["linear_chain_forward", "linear_chain_backward"]


def _check_lengths(op, count, **lists):
    if count == 0:
        raise ValueError(f"{op}: weights must not be empty")
    for name, values in lists.items():
        if len(values) != count:
            raise ValueError(f"{op}: {name} must have one entry per layer ({count}), got "
                             f"{len(values)}")


def linear_chain_forward(x, weights, biases, relus):
    """(output, outputs): every layer's output h_i, and the last of them."""
    _check_lengths("linear_chain_forward", len(weights), biases=biases, relus=relus)
    outputs = []
    h = x
    for weight, bias, relu in zip(weights, biases, relus):
        h = linear_forward(h, weight, bias)
        if relu:
            h = relu_forward(h)
        outputs.append(h)
    return outputs[-1], outputs


def linear_chain_backward(grad_output, x, outputs, weights, relus, need_x, need_weights,
                          need_biases):
    """(grad_x, grad_weights, grad_biases) from linear_chain_forward's outputs; what is not
    asked for is None."""
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
