"""cunn.onnx.export: trace, emit, check, write."""
import os

import numpy as np

from cunn.onnx._graph import GraphBuilder, UnsupportedOp
from cunn.onnx._trace import trace
from cunn.onnx.emitters import emitter_for

__all__ = ["export"]

DEFAULT_OPSET = 17
MINIMUM_OPSET = 13  # Softmax along one axis, Unsqueeze/ReduceSum axes as inputs


def _require_onnx():
    try:
        import onnx
    except ImportError as error:
        raise ImportError('cunn.onnx.export needs the optional package onnx: '
                          'pip install "cunn[onnx]"') from error
    return onnx


def _opset(opset_version, onnx):
    if opset_version is None:
        return DEFAULT_OPSET
    newest = onnx.defs.onnx_opset_version()
    if isinstance(opset_version, bool) or not isinstance(opset_version, int) or \
            not MINIMUM_OPSET <= opset_version <= newest:
        raise ValueError(f"onnx.export: opset_version must be an int from {MINIMUM_OPSET} to "
                         f"{newest} (the installed onnx's newest), got {opset_version!r}")
    return opset_version


def _input_tensors(args):
    from cunn._tensor import Tensor

    items = args if isinstance(args, (tuple, list)) else (args,)
    tensors = []
    for index, item in enumerate(items):
        if isinstance(item, np.ndarray):
            item = Tensor(item)
        if not isinstance(item, Tensor):
            raise TypeError(f"onnx.export: args must be a Tensor, a NumPy array or a tuple of "
                            f"them (the model's inputs), got {type(item).__name__} at "
                            f"position {index}")
        tensors.append(item)
    if not tensors:
        raise ValueError("onnx.export: args must hold at least one input")
    return tensors


def _flat_outputs(output):
    """[(default name, Tensor)] for a Tensor, a tuple/list of them, or a dict of them."""
    from cunn._tensor import Tensor

    if isinstance(output, Tensor):
        return [("output", output)]
    if isinstance(output, dict):
        items = [(str(key), value) for key, value in output.items()]
    elif isinstance(output, (tuple, list)):
        items = [(f"output_{index}", value) for index, value in enumerate(output)]
    else:
        items = [("output", output)]
    for name, value in items:
        if not isinstance(value, Tensor):
            raise TypeError(f"onnx.export: the model's outputs must be Tensors (or a tuple, "
                            f"list or dict of them), got {type(value).__name__} for {name!r}")
    return items


def _names(what, given, defaults):
    if given is None:
        return list(defaults)
    if not isinstance(given, (list, tuple)) or not all(isinstance(name, str) for name in given):
        raise TypeError(f"onnx.export: {what} must be a list of str, got {given!r}")
    if len(given) > len(defaults):
        raise ValueError(f"onnx.export: {len(given)} {what} for {len(defaults)} "
                         f"{what.split('_')[0]}s")
    names = list(given) + list(defaults[len(given):])
    if len(set(names)) != len(names):
        raise ValueError(f"onnx.export: {what} must be distinct, got {names}")
    return names


def _dynamic_shapes(dynamic_axes, specs):
    """specs: {name: shape}; returns {name: shape with a str where a dim is dynamic}."""
    shapes = {name: list(shape) for name, shape in specs.items()}
    if dynamic_axes is None:
        return shapes
    if not isinstance(dynamic_axes, dict):
        raise TypeError(f"onnx.export: dynamic_axes must be a dict of input/output name to "
                        f"axes, got {type(dynamic_axes).__name__}")
    for name, axes in dynamic_axes.items():
        if name not in shapes:
            raise ValueError(f"onnx.export: dynamic_axes names {name!r}, which is neither an "
                             f"input nor an output (names: {sorted(shapes)})")
        labels = axes if isinstance(axes, dict) else \
            {axis: f"{name}_dynamic_axes_{index + 1}" for index, axis in enumerate(axes)}
        for axis, label in labels.items():
            rank = len(shapes[name])
            if isinstance(axis, bool) or not isinstance(axis, int) or not -rank <= axis < rank:
                raise IndexError(f"onnx.export: dynamic_axes[{name!r}] has axis {axis!r}, out "
                                 f"of range for rank {rank}")
            shapes[name][axis] = str(label)
    return shapes


def _run_in_eval_mode(model, inputs):
    from cunn.autograd import no_grad

    modules = list(model.modules()) if hasattr(model, "modules") else []
    modes = [module.training for module in modules]
    try:
        if modules:
            model.eval()
        with no_grad():
            return trace(lambda: model(*inputs))
    finally:
        for module, mode in zip(modules, modes):
            module.training = mode


def _needed(ops, outputs):
    """The ops an output depends on, in trace order (the rest are left out)."""
    wanted = {id(tensor) for _, tensor in outputs}
    keep = []
    for op in reversed(ops):
        if id(op.result) in wanted:
            keep.append(op)
            wanted.update(id(tensor) for tensor in op.inputs if tensor is not None)
    return keep[::-1]


def _refuse_in_place_changes(ops, inputs, snapshots):
    changed = [op.name for op in ops if op.changed_in_place()]
    changed += [f"input {index}" for index, (tensor, snapshot) in enumerate(zip(inputs, snapshots))
                if not np.array_equal(tensor._data, snapshot, equal_nan=True)]
    if changed:
        raise UnsupportedOp(f"onnx.export: the forward pass changed a value in place (the "
                            f"result of {changed[0]}), which records no op; write "
                            "x = x + y instead of x += y")


def _name_outputs(graph, outputs, names):
    """Gives each output's value its output name: a node's output is renamed; an input, a
    parameter or an output already named gets an Identity node under the new name."""
    produced = {name for node in graph.nodes for name in node.output}
    for (_, tensor), name in zip(outputs, names):
        value = graph.value_names.get(id(tensor))
        if value is None and id(tensor) in graph.named_constants:
            value = graph.value(tensor)
        if value is None:
            raise UnsupportedOp(f"onnx.export: output {name!r} was not computed by cunn ops "
                                "(was it made with NumPy, or detached from the input?)")
        if value in produced:
            graph.rename(value, name)
            produced.discard(value)
        else:
            graph.node("Identity", [value], outputs=1)
            graph.rename(graph.nodes[-1].output[0], name)
        graph.value_names[id(tensor)] = name


def export(model, args, f, input_names=None, output_names=None, dynamic_axes=None,
           opset_version=None):
    """Writes ``model`` (a Module, or any callable of Tensors) as an ONNX model to ``f``
    (a path or a binary file object), traced on ``args`` (one input or a tuple of them).

    Inputs are named ``input_names`` (default ``input``, or ``input_0``, ...), outputs
    ``output_names`` (default ``output``, ``output_0``, ..., or a dict output's keys);
    parameters and buffers keep their state-dict names. ``dynamic_axes`` maps an input
    or output name to the axes that vary, e.g. ``{"input": {0: "batch"}}``. The trace
    runs in eval mode (dropout off, running statistics), as PyTorch's export does, and
    follows the Python control flow this one input took.
    """
    onnx = _require_onnx()
    opset = _opset(opset_version, onnx)
    inputs = _input_tensors(args)
    if not callable(model):
        raise TypeError(f"onnx.export: model must be a Module or a callable, "
                        f"got {type(model).__name__}")
    if not isinstance(f, (str, os.PathLike)) and not hasattr(f, "write"):
        raise TypeError(f"onnx.export: f must be a path or a binary file object, "
                        f"got {type(f).__name__}")
    names_in = _names("input_names", input_names,
                      ["input"] if len(inputs) == 1 else
                      [f"input_{index}" for index in range(len(inputs))])

    snapshots = [tensor._data.copy() for tensor in inputs]
    output, ops = _run_in_eval_mode(model, inputs)
    outputs = _flat_outputs(output)
    names_out = _names("output_names", output_names, [name for name, _ in outputs])
    if set(names_in) & set(names_out):
        raise ValueError(f"onnx.export: input and output names must differ, both have "
                         f"{sorted(set(names_in) & set(names_out))}")

    graph = GraphBuilder(onnx, opset)
    graph.used_names.update(names_in + names_out)
    if hasattr(model, "named_parameters"):
        named = list(model.named_parameters())
        if hasattr(model, "named_buffers"):
            named += list(model.named_buffers())
        for name, tensor in named:
            graph.named_constants[id(tensor)] = (name, tensor)
    for name, tensor in zip(names_in, inputs):
        graph.bind(tensor, name)
    needed = _needed(ops, outputs)
    _refuse_in_place_changes(needed, inputs, snapshots)
    for op in needed:
        emit = emitter_for(op.function)
        if emit is None:
            raise UnsupportedOp(f"onnx.export: the model uses the op {op.name!r} "
                                f"({op.function.__module__}.{op.function.__name__}), which "
                                "cunn.onnx cannot express yet")
        graph.bind(op.result, emit(graph, op))

    _name_outputs(graph, outputs, names_out)
    shapes = _dynamic_shapes(
        dynamic_axes, {**{name: tensor.shape for name, tensor in zip(names_in, inputs)},
                       **{name: tensor.shape for name, (_, tensor) in zip(names_out, outputs)}})
    proto = graph.model(
        [(name, tensor._data.dtype, shapes[name]) for name, tensor in zip(names_in, inputs)],
        [(name, tensor._data.dtype, shapes[name])
         for name, (_, tensor) in zip(names_out, outputs)])
    onnx.save_model(proto, os.fspath(f) if isinstance(f, os.PathLike) else f)
    return proto
