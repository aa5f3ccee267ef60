"""The graph node: what one op saved for its backward, and the tensors it came from.

An op computes its result on the backend, then calls ``Function.record``: when grad
mode is on and some input requires grad, a node of the op's Function subclass holds
the inputs and whatever the op saved, and the result points at it as ``grad_fn``.
``backward(grad_output)`` returns one gradient (an ndarray, or None) per input; the
engine sums them into the inputs' nodes or, for leaves, into ``.grad``.

Every Tensor carries a version counter (``_version``, a one-item list shared by the
tensors that view one array) that in-place changes bump. A node notes the versions of
the inputs (and, where it saved it, the output) its backward reads; the engine calls
``check_versions`` before running it, so a change between forward and backward raises
instead of giving wrong gradients, as in PyTorch.
"""
import numpy as np

from cunn.autograd import grad_mode

__all__ = ["Function", "product_operands"]


class Function:
    __slots__ = ("inputs", "saved", "needs_input_grad", "versions", "output_version")
    tensor_class = None  # cunn.Tensor, set by cunn/_tensor.py (which imports this module)
    # True where backward returns, per input, None or a new C-contiguous array that
    # nothing else holds (a kernel's output): the engine then adopts one as a leaf's first
    # .grad after a dtype and shape check only, and looks for no array sent to two inputs.
    fresh_gradients = False
    # Indices of the inputs whose values backward reads (None: all of them), and whether
    # it reads the op's own result: only those are version-checked.
    checked_inputs = None
    saves_output = False

    def backward(self, grad_output):
        raise NotImplementedError(f"{type(self).__name__}: backward is not defined")

    def name(self):
        return type(self).__name__

    @classmethod
    def record(cls, data, inputs, *saved):
        """The op's result as a Tensor, with a node of this class when the graph is recorded."""
        result = Function.tensor_class(data)
        if len(inputs) == 1 and type(data) is np.ndarray and data.base is not None:
            source = inputs[0]
            # A view of the input (reshape, indexing...) shares its version counter, so
            # changing either in place is seen by the nodes that saved the other.
            if source is not None and (data.base is source._data
                                       or data.base is source._data.base):
                result._version = source._version
        if grad_mode._state["enabled"]:
            needs = tuple([tensor is not None and tensor.requires_grad for tensor in inputs])
            if True in needs:
                node = cls()
                node.inputs = inputs
                node.saved = saved
                node.needs_input_grad = needs
                checked = cls.checked_inputs
                node.versions = None if checked == () else \
                    [0 if tensor is None else tensor._version[0] for tensor in inputs]
                node.output_version = (result._version, result._version[0]) \
                    if cls.saves_output else None
                result.requires_grad = True
                result.grad_fn = node
        return result

    def check_versions(self):
        """Raises RuntimeError if a tensor this node's backward reads was changed in place
        since the forward pass (the gradient would silently use the new values)."""
        versions = self.versions
        if versions is not None:
            inputs = self.inputs
            for index in range(len(inputs)) if self.checked_inputs is None \
                    else self.checked_inputs:
                tensor = inputs[index]
                if tensor is not None and tensor._version[0] != versions[index]:
                    self._raise_modified(f"input {index}", tensor._data, tensor._version[0],
                                         versions[index])
        if self.output_version is not None:
            counter, expected = self.output_version
            if counter[0] != expected:
                self._raise_modified("the output", None, counter[0], expected)

    def _raise_modified(self, which, data, version, expected):
        what = "" if data is None else f" (a {data.dtype} tensor of shape {tuple(data.shape)})"
        raise RuntimeError(
            f"backward: one of the tensors needed for gradient computation has been modified "
            f"by an in-place operation: {which} of {self.name()}{what} is at version "
            f"{version}; expected version {expected}. Change it after backward(), or work "
            "on a clone()")

    def release(self):
        """Drops what the node holds once its backward has run (the graph is freed)."""
        self.inputs = ()
        self.saved = None
        self.versions = self.output_version = None

    def __repr__(self):
        return f"<{self.name()}>"


@property
def product_operands(node):
    """``checked_inputs`` of a product (mul, matmul, linear, conv2d): each of the first two
    operands is read only for the other's gradient (as PyTorch saves them)."""
    needs = node.needs_input_grad
    return tuple(index for index, other in ((0, 1), (1, 0)) if needs[other])
