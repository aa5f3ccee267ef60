"""The graph node: what one op saved for its backward, and the tensors it came from.

An op computes its result on the backend, then calls ``Function.record``: when grad
mode is on and some input requires grad, a node of the op's Function subclass holds
the inputs and whatever the op saved, and the result points at it as ``grad_fn``.
``backward(grad_output)`` returns one gradient (an ndarray, or None) per input; the
engine sums them into the inputs' nodes or, for leaves, into ``.grad``.
"""
from cunn.autograd import grad_mode

__all__ = ["Function"]

# Set by cunn.onnx while it traces a forward pass: called as tracer(cls, result, inputs,
# saved) for every op, whether or not a graph node is recorded.
tracer = None


class Function:
    __slots__ = ("inputs", "saved", "needs_input_grad")
    tensor_class = None  # cunn.Tensor, set by cunn/_tensor.py (which imports this module)
    # True where backward returns, per input, None or a new C-contiguous array that
    # nothing else holds (a kernel's output): the engine then adopts one as a leaf's first
    # .grad after a dtype and shape check only, and looks for no array sent to two inputs.
    fresh_gradients = False

    def backward(self, grad_output):
        raise NotImplementedError(f"{type(self).__name__}: backward is not defined")

    def name(self):
        return type(self).__name__

    @classmethod
    def record(cls, data, inputs, *saved):
        """The op's result as a Tensor, with a node of this class when the graph is recorded."""
        result = Function.tensor_class(data)
        if tracer is not None:
            tracer(cls, result, inputs, saved)
        if grad_mode._state["enabled"]:
            needs = tuple([tensor is not None and tensor.requires_grad for tensor in inputs])
            if True in needs:
                node = cls()
                node.inputs = inputs
                node.saved = saved
                node.needs_input_grad = needs
                result.requires_grad = True
                result.grad_fn = node
        return result

    def release(self):
        """Drops what the node holds once its backward has run (the graph is freed)."""
        self.inputs = ()
        self.saved = None

    def __repr__(self):
        return f"<{self.name()}>"
