"""A run of Linear layers, each optionally followed by ReLU, as one op on the backend's
linear_chain kernels: one graph node and one kernel call each way for a whole MLP, with
the results the layers give one by one (the kernels compose the single-layer ones).

nn.Sequential uses it for its runs of Linear and ReLU modules (cunn/nn/modules/container.py);
the checks are the caller's.
"""
from cunn.autograd.function import Function
from cunn.ops._util import kernels_for

__all__ = ["linear_chain"]


class LinearChainBackward(Function):
    __slots__ = ()
    fresh_gradients = True  # the backend kernel's new arrays

    @property
    def checked_inputs(self):
        """What backward reads, as in PyTorch's layer-by-layer graph: x for the first
        weight's gradient, and each weight for the gradient of its layer's input (which
        is needed once x or anything in an earlier layer requires grad); never a bias."""
        needs = self.needs_input_grad
        checked = (0,) if needs[1] else ()
        for weight_index in range(1, len(needs), 2):
            if True in needs[:weight_index]:
                checked += (weight_index,)
        return checked

    def backward(self, grad_output):
        outputs, relus = self.saved
        inputs, needs = self.inputs, self.needs_input_grad
        weights = [weight._data for weight in inputs[1::2]]
        grad_x, grad_weights, grad_biases = kernels_for(grad_output).linear_chain_backward(
            grad_output, inputs[0]._data, outputs, weights, relus, needs[0], needs[1::2],
            needs[2::2])
        grads = [grad_x]
        for grad_weight, grad_bias in zip(grad_weights, grad_biases):
            grads.append(grad_weight)
            grads.append(grad_bias)
        return tuple(grads)


def linear_chain(inputs, weights, biases, relus):
    """x (N, in) through Linear(weight_i, bias_i) (+ ReLU where relus[i]) in turn.
    inputs = [x, weight_0, bias_0, weight_1, ...] as Tensors (a bias may be None),
    weights and biases their arrays (nn.Sequential's checks collect both as they go),
    relus a tuple of bools."""
    data = inputs[0]._data
    output, outputs = kernels_for(data).linear_chain_forward(data, weights, biases, relus)
    return LinearChainBackward.record(output, tuple(inputs), outputs, relus)
