"""Sequential's forward: its runs of Linear and ReLU modules go through one linear_chain op,
and each Conv2d, ReLU, MaxPool2d(2) triple through one conv2d_relu_pool op.

A run is consecutive Linear modules, each optionally followed by one ReLU (the MLPs of
this library's use). One op and one graph node for the run, instead of one per module,
saves the Python and kernel-call cost of each layer; the results are the ones the modules
give one by one, bit for bit (cunn/ops/linear_chain.py). Only modules that are exactly
Linear and ReLU (not subclasses, no forward set on the instance, no forward hooks) take
part, and only when every check of Linear.forward / F.linear would pass: a 2-D float32
Tensor input and float32 parameters of the declared shapes. Anything else runs module by
module, which also raises their usual errors.

Which modules fuse depends only on the modules (their types, instance forwards, hooks), so
a Sequential works it out once into a plan and keeps it while its modules are the same
objects and no hook, forward or class changed anywhere (_hooks.structure_version); the
checks on the input and the parameters run every call. That saves a batch-1 inference
a fifth of its Python time.
"""
import numpy as np

from cunn._tensor import Tensor
from cunn.nn.modules import _hooks
from cunn.nn.modules.activation import ReLU
from cunn.nn.modules.conv import Conv2d
from cunn.nn.modules.linear import Linear
from cunn.nn.modules.pooling import MaxPool2d
from cunn.ops.conv2d import conv2d_relu_pool
from cunn.ops.linear_chain import linear_chain

__all__ = ["run_modules"]

_FLOAT32 = np.dtype(np.float32)


def _plain(module, kind):
    # A module with hooks runs on its own, so that its hooks see its input and output.
    return type(module) is kind and "forward" not in module.__dict__ and \
        not _hooks.has_hooks(module)


def _chain_operands(run, input):
    """What the linear_chain op takes for the run on ``input`` (its inputs, weight arrays
    and bias arrays), or None if the chain cannot take it."""
    if not isinstance(input, Tensor):
        return None
    data = input._data
    if data.dtype != _FLOAT32 or data.ndim != 2:
        return None
    features = data.shape[1]
    # Arrays of another type live on another device: module by module raises that error.
    kind = type(data)
    inputs, weights, biases = [input], [], []
    for linear, _ in run:
        parameters = linear.__dict__["_parameters"]
        weight, bias = parameters.get("weight"), parameters.get("bias")
        if not isinstance(weight, Tensor):
            return None
        weight_data = weight._data
        shape = (linear.out_features, linear.in_features)
        if weight_data.dtype != _FLOAT32 or weight_data.shape != shape or \
                shape[1] != features or type(weight_data) is not kind:
            return None
        if bias is None:
            biases.append(None)
        else:
            if not isinstance(bias, Tensor):
                return None
            bias_data = bias._data
            if bias_data.dtype != _FLOAT32 or bias_data.shape != shape[:1] or \
                    type(bias_data) is not kind:
                return None
            biases.append(bias_data)
        inputs.append(weight)
        inputs.append(bias)
        weights.append(weight_data)
        features = shape[0]
    return inputs, weights, biases


def _run_chain(run, input):
    if len(run) == 1 and run[0][1] is None:
        return run[0][0](input)
    operands = _chain_operands(run, input)
    if operands is None:
        for linear, relu in run:
            input = linear(input)
            if relu is not None:
                input = relu(input)
        return input
    return linear_chain(operands[0], operands[1], operands[2],
                        tuple([relu is not None for _, relu in run]))


_POOL_2X2 = ((2, 2), (2, 2), (0, 0))
_PLAN = "_fusion_plan"  # MaxPool2d's (kernel, stride, padding)


def _conv_relu_pool(modules, index, input):
    """The pooled output if modules[index:index + 3] are Conv2d, ReLU, MaxPool2d(2) and
    their checks would pass on ``input``, else None."""
    if index + 3 > len(modules):
        return None
    conv, relu, pool = modules[index:index + 3]
    if not (_plain(conv, Conv2d) and _plain(relu, ReLU) and _plain(pool, MaxPool2d)
            and pool._pairs == _POOL_2X2):
        return None
    if not isinstance(input, Tensor) or input._data.dtype != _FLOAT32 or input._data.ndim != 4:
        return None
    parameters = conv.__dict__["_parameters"]
    weight, bias = parameters.get("weight"), parameters.get("bias")
    shape = (conv.out_channels, conv.in_channels) + conv.kernel_size
    if not isinstance(weight, Tensor) or weight._data.dtype != _FLOAT32 or \
            weight._data.shape != shape or input._data.shape[1] != conv.in_channels:
        return None
    if bias is not None and (not isinstance(bias, Tensor) or bias._data.dtype != _FLOAT32
                             or bias._data.shape != (shape[0],)):
        return None
    (stride_h, stride_w), (pad_h, pad_w) = conv.stride, conv._padding
    padded_h = input._data.shape[2] + 2 * pad_h - shape[2]
    padded_w = input._data.shape[3] + 2 * pad_w - shape[3]
    # The pool needs a convolution output of at least 2x2 (the kernel fits when both are >= 0).
    if min(padded_h, padded_w) < 0 or padded_h // stride_h < 1 or padded_w // stride_w < 1:
        return None
    return conv2d_relu_pool(input, weight, bias, conv.stride, conv._padding)


def _plan(modules):
    """The modules as steps: ("chain", run, None) for a run of Linear (+ ReLU) pairs,
    ("triple", index, None) where a Conv2d, ReLU, MaxPool2d(2) triple starts (fused if the
    input allows), ("module", module, None) for the rest."""
    steps = []
    run = []  # [linear, relu module or None] pairs not yet closed
    index = 0
    while index < len(modules):
        module = modules[index]
        index += 1
        if _plain(module, Linear):
            run.append([module, None])
            continue
        if run and run[-1][1] is None and _plain(module, ReLU):
            run[-1][1] = module
            continue
        if run:
            steps.append(("chain", run, None))
            run = []
        if _is_triple(modules, index - 1):
            steps.append(("triple", index - 1, None))
            index += 2
            continue
        steps.append(("module", module, None))
    if run:
        steps.append(("chain", run, None))
    return steps


def _is_triple(modules, index):
    if index + 3 > len(modules):
        return False
    conv, relu, pool = modules[index:index + 3]
    return _plain(conv, Conv2d) and _plain(relu, ReLU) and _plain(pool, MaxPool2d)


def run_modules(modules, input, cache=None):
    """``input`` through ``modules`` in order, runs of Linear and ReLU as one op, and
    Conv2d, ReLU, MaxPool2d(2) triples as another. ``cache``: a dict (the Sequential's
    __dict__) that keeps the plan between calls, under _PLAN."""
    modules = tuple(modules)
    version = _hooks.structure_version[0]
    cached = None if cache is None else cache.get(_PLAN)
    if cached is not None and cached[0] == version and cached[1] == modules:
        steps = cached[2]
    else:
        steps = _plan(modules)
        if cache is not None:
            cache[_PLAN] = (version, modules, steps)
    for kind, item, _ in steps:
        if kind == "chain":
            input = _run_chain(item, input)
        elif kind == "module":
            input = item(input)
        else:
            pooled = _conv_relu_pool(modules, item, input)
            if pooled is None:
                for module in modules[item:item + 3]:
                    input = module(input)
            else:
                input = pooled
    return input
