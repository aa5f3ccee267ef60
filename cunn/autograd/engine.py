"""The backward pass: an iterative topological order over the graph, gradients summed.

Depth-first search with an explicit stack (a chain of thousands of ops must not hit
Python's recursion limit) counts how many consumers each node has; nodes then run
in Kahn order, each once all the gradients flowing into it have been summed. That
summing (``+``, never overwrite) is what makes fan-out and parameter reuse right.
"""
import numpy as np

from cunn.autograd.function import Function

__all__ = ["backward", "queue_callback"]

# Callbacks that run once the backward pass now running has finished.
_after_backward = []


def queue_callback(callback):
    """Runs ``callback()`` when the current backward pass ends (PyTorch's
    ``Variable._execution_engine.queue_callback``): DistributedDataParallel averages the
    gradients there, once every node has written its own."""
    _after_backward.append(callback)


def _consumer_counts(root):
    counts = {root: 0}
    stack = [root]
    while stack:
        node = stack.pop()
        for tensor in node.inputs:
            child = None if tensor is None else tensor.grad_fn
            if child is None:
                continue
            if child in counts:
                counts[child] += 1
            else:
                counts[child] = 1
                stack.append(child)
    return counts


def _accumulate_leaf(tensor, gradient, shared, fresh=False):
    """Adds ``gradient`` into ``tensor.grad``. A first gradient is adopted without a copy
    when nothing else can see it: an array of its own (not a view), writeable, of the
    leaf's dtype and layout, and not ``shared`` with another destination of this node;
    ``fresh`` (the node's fresh_gradients) vouches for all but dtype and shape.
    Copying every one costs a fresh allocation per parameter per step. (``_grad`` rather
    than the ``grad`` property: the dtype and shape its setter checks are checked here,
    and the property calls cost about a microsecond per step.)"""
    data = tensor._data
    if tensor._grad is None:
        if gradient.dtype == data.dtype and gradient.shape == data.shape and (
                fresh or (not shared and gradient.base is None
                          and (flags := gradient.flags).writeable and flags.c_contiguous)):
            tensor._grad = Function.wrap(gradient)
            return
        if gradient.shape != data.shape:
            gradient = np.broadcast_to(gradient, data.shape)
        # astype, not np.array: a device gradient stays on its device
        tensor._grad = Function.wrap(gradient.astype(data.dtype, order="C", copy=True))
        return
    if gradient.shape != data.shape:
        gradient = np.broadcast_to(gradient, data.shape)
    np.add(tensor._grad._data, gradient, out=tensor._grad._data, casting="unsafe")


def _shared_ids(gradients):
    """ids of the arrays a node sends to more than one place (``a + b`` passes one
    array to both inputs); usually none."""
    ids = [id(gradient) for gradient in gradients if gradient is not None]
    if len(set(ids)) == len(ids):
        return ()
    seen, shared = set(), set()
    for key in ids:
        (shared if key in seen else seen).add(key)
    return shared


def backward(root_tensor, gradient, retain_graph=False):
    """Runs the graph behind ``root_tensor`` backwards from ``gradient``, an ndarray the
    engine may keep (it can end up as a leaf's ``.grad``)."""
    root = root_tensor.grad_fn
    if root is None:
        if root_tensor.requires_grad:
            _accumulate_leaf(root_tensor, gradient, True)
        return
    if root.saved is None:
        raise RuntimeError("backward: the graph has already been freed by an earlier "
                           "backward(); use backward(retain_graph=True) to run it twice")
    # Whatever a failed earlier pass queued is stale.
    _after_backward.clear()
    counts = _consumer_counts(root)
    pending = {root: gradient}
    ready = [root]
    while ready:
        node = ready.pop()
        grad_output = pending.pop(node)
        if node.saved is None:
            raise RuntimeError(f"backward: {node.name()} was freed by an earlier backward(); "
                               "use backward(retain_graph=True) to go through it again")
        node.check_versions()
        input_grads = node.backward(grad_output)
        fresh = node.fresh_gradients
        shared = _shared_ids(input_grads) if not fresh and len(input_grads) > 1 else ()
        for tensor, needs, input_grad in zip(node.inputs, node.needs_input_grad, input_grads):
            child = None if tensor is None else tensor.grad_fn
            if child is None:
                if needs and input_grad is not None:
                    _accumulate_leaf(tensor, input_grad, id(input_grad) in shared, fresh)
                continue
            if needs and input_grad is not None:
                if child in pending:
                    pending[child] = pending[child] + input_grad
                else:
                    pending[child] = input_grad
            counts[child] -= 1
            if counts[child] == 0 and child in pending:
                ready.append(child)
        if not retain_graph:
            node.release()
    while _after_backward:
        _after_backward.pop(0)()
