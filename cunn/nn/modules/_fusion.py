"""Sequential's forward: its runs of Linear and ReLU modules go through one linear_chain op.

A run is consecutive Linear modules, each optionally followed by one ReLU (the MLPs of
this library's use). One op and one graph node for the run, instead of one per module,
saves the Python and kernel-call cost of each layer; the results are the ones the modules
give one by one, bit for bit (cunn/ops/linear_chain.py). Only modules that are exactly
Linear and ReLU (not subclasses, no forward set on the instance, no forward hooks) take
part, and only when every check of Linear.forward / F.linear would pass: a 2-D float32
Tensor input and float32 parameters of the declared shapes. Anything else runs module by
module, which also raises their usual errors.
"""
import numpy as np

from cunn._tensor import Tensor
from cunn.nn.modules import _hooks
from cunn.nn.modules.activation import ReLU
from cunn.nn.modules.linear import Linear
from cunn.ops.linear_chain import linear_chain

__all__ = ["run_modules"]

_FLOAT32 = np.dtype(np.float32)


def _plain(module, kind):
    # A module with hooks runs on its own, so that its hooks see its input and output.
    return type(module) is kind and "forward" not in module.__dict__ and \
        not _hooks.has_hooks(module)


def _fusable_parameters(run, input):
    """The run's weights and biases if the chain can take ``input``, else None."""
    if not isinstance(input, Tensor) or input._data.dtype != _FLOAT32 or input._data.ndim != 2:
        return None
    features = input._data.shape[1]
    # Arrays of another type live on another device: module by module raises that error.
    kind = type(input._data)
    weights, biases = [], []
    for linear, _ in run:
        parameters = linear.__dict__["_parameters"]
        weight, bias = parameters.get("weight"), parameters.get("bias")
        shape = (linear.out_features, linear.in_features)
        if not isinstance(weight, Tensor) or weight._data.dtype != _FLOAT32 or \
                weight._data.shape != shape or shape[1] != features or \
                type(weight._data) is not kind:
            return None
        if bias is not None and (not isinstance(bias, Tensor) or bias._data.dtype != _FLOAT32
                                 or bias._data.shape != (shape[0],)
                                 or type(bias._data) is not kind):
            return None
        weights.append(weight)
        biases.append(bias)
        features = shape[0]
    return weights, biases


def _run_chain(run, input):
    if len(run) == 1 and run[0][1] is None:
        return run[0][0](input)
    parameters = _fusable_parameters(run, input)
    if parameters is None:
        for linear, relu in run:
            input = linear(input)
            if relu is not None:
                input = relu(input)
        return input
    return linear_chain(input, parameters[0], parameters[1],
                        tuple(relu is not None for _, relu in run))


def run_modules(modules, input):
    """``input`` through ``modules`` in order, runs of Linear and ReLU as one op."""
    run = []  # [linear, relu module or None] pairs not yet applied
    for module in modules:
        if _plain(module, Linear):
            run.append([module, None])
            continue
        if run and run[-1][1] is None and _plain(module, ReLU):
            run[-1][1] = module
            continue
        if run:
            input = _run_chain(run, input)
            run = []
        input = module(input)
    return _run_chain(run, input) if run else input
