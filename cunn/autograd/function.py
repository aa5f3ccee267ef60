"""The graph node: what one op saved for its backward, and the tensors it came from.

An op computes its result on the backend, then calls ``Function.record``: when grad
mode is on and some input requires grad, a node of the op's Function subclass holds
the inputs and whatever the op saved, and the result points at it as ``grad_fn``.
``backward(grad_output)`` returns one gradient (an ndarray, or None) per input; the
engine sums them into the inputs' nodes or, for leaves, into ``.grad``.

In-place changes are stamped, as PyTorch's version counters do: each one advances a
global clock and writes its tick into the changed tensor's ``_version`` (a one-item
list shared by the tensors that view one array). A node notes the clock when it is
recorded; before running it the engine calls ``check_versions``, which raises if an
input its backward reads (or the output, where it saved it) was stamped later, so a
change between forward and backward raises instead of giving wrong gradients. Without
any change since the forward pass that costs one comparison per node.
"""
import numpy as np

from cunn.autograd import grad_mode
from cunn._backends.cuda.array import DeviceArray

__all__ = ["Function"]

# Set by cunn.onnx while it traces a forward pass: called as tracer(cls, result, inputs,
# saved) for every op, whether or not a graph node is recorded.
tracer = None


class Function:
    __slots__ = ("inputs", "saved", "needs_input_grad", "recorded_at", "output_version")
    tensor_class = None  # cunn.Tensor, set by cunn/_tensor.py (which imports this module)
    wrap = None  # Tensor(array) without its checks, set there too
    # True where backward returns, per input, None or a new C-contiguous array that
    # nothing else holds (a kernel's output): the engine then adopts one as a leaf's first
    # .grad after a dtype and shape check only, and looks for no array sent to two inputs.
    fresh_gradients = False
    # Indices of the inputs whose values backward reads (None: all of them), and whether
    # it reads the op's own result: only those are checked for in-place changes.
    checked_inputs = None
    saves_output = False

    def backward(self, grad_output):
        raise NotImplementedError(f"{type(self).__name__}: backward is not defined")

    def name(self):
        return type(self).__name__

    @classmethod
    def record(cls, data, inputs, *saved):
        """The op's result as a Tensor, with a node of this class when the graph is recorded."""
        result = Function.wrap(data)
        if tracer is not None:
            tracer(cls, result, inputs, saved)
        if grad_mode._state["enabled"]:
            # A loop that stops at the first input requiring grad, before any tuple is
            # built: most calls outside training record nothing, and a tiny op's whole
            # cost is this kind of Python overhead.
            for tensor in inputs:
                if tensor is not None and tensor.requires_grad:
                    node = cls()
                    node.inputs = inputs
                    node.saved = saved
                    node.needs_input_grad = tuple([tensor is not None and tensor.requires_grad
                                                   for tensor in inputs])
                    node.recorded_at = _clock[0]
                    node.output_version = result._version if cls.saves_output else None
                    result.requires_grad = True
                    result.grad_fn = node
                    break
        if len(inputs) == 1 and (type(data) is np.ndarray or type(data) is DeviceArray) \
                and data.base is not None:
            source = inputs[0]
            # A view of the input (reshape, indexing...) shares its version counter, so
            # changing either in place is seen by the nodes that saved the other.
            if source is not None and (data.base is source._data
                                       or data.base is source._data.base):
                result._version = source._version
        return result

    def check_versions(self):
        """Raises RuntimeError if a tensor this node's backward reads was changed in place
        since the forward pass (the gradient would silently use the new values)."""
        recorded_at = self.recorded_at
        if _clock[0] == recorded_at:
            return  # nothing anywhere was changed in place since this node was recorded
        index = 0
        for tensor in self.inputs:
            if tensor is not None and tensor._version[0] > recorded_at and (
                    self.checked_inputs is None or index in self.checked_inputs):
                self._raise_modified(f"input {index} of {self.name()} (a {tensor._data.dtype} "
                                     f"tensor of shape {tuple(tensor._data.shape)})")
            index += 1
        if self.output_version is not None and self.output_version[0] > recorded_at:
            self._raise_modified(f"the output of {self.name()}")

    def _raise_modified(self, which):
        raise RuntimeError(
            f"backward: one of the tensors needed for gradient computation has been modified "
            f"by an in-place operation: {which} was changed after the forward pass that "
            "recorded it. Change it after backward(), or work on a clone()")

    def release(self):
        """Drops what the node holds once its backward has run (the graph is freed)."""
        self.inputs = ()
        self.saved = None
        self.output_version = None

    def __repr__(self):
        return f"<{self.name()}>"


@property
def product_operands(node):
    """``checked_inputs`` of a product (mul, matmul, linear, conv2d): each of the first two
    operands is read only for the other's gradient (as PyTorch saves them)."""
    needs = node.needs_input_grad
    return tuple(index for index, other in ((0, 1), (1, 0)) if needs[other])


_clock = [0]  # ticks of in-place changes so far


def mark_changed_in_place(*tensors):
    """Stamps each of ``tensors`` (anything with a ``_version``) as changed in place now:
    one tick for all of them (an optimizer step stamps every parameter at once)."""
    _clock[0] += 1
    now = _clock[0]
    for tensor in tensors:
        version = getattr(tensor, "_version", None)
        if version is not None:
            version[0] = now
