"""The function forms cunn.relu, cunn.max, cunn.cat, ... (PyTorch's torch.* names), each
calling the same op as the Tensor method."""
from cunn.ops import activation, elementwise, linalg, reduce, shape, softmax as _softmax
from cunn.ops import selection as _selection, statistics as _statistics
from cunn.ops._util import as_tensor
from cunn.ops.dim_alias import accepts_axis
from cunn import _tensor

__all__ = ["abs", "argmax", "argmin", "cat", "clamp", "exp", "flatten", "log", "log_softmax",
           "matmul", "max", "mean", "min", "permute", "relu", "reshape", "sigmoid", "softmax",
           "sqrt", "squeeze", "stack", "sum", "tanh", "transpose", "unsqueeze"]


def relu(input):
    from cunn.nn import functional

    return functional.relu(input)


def sigmoid(input):
    from cunn.nn import functional

    return functional.sigmoid(input)


def tanh(input):
    from cunn.nn import functional

    return functional.tanh(input)


def softmax(input, dim):
    from cunn.nn import functional

    return functional.softmax(input, dim)


def log_softmax(input, dim):
    from cunn.nn import functional

    return functional.log_softmax(input, dim)


def flatten(input, start_dim=0, end_dim=-1):
    return shape.flatten(as_tensor(input), start_dim, end_dim)


def reshape(input, shape_):
    return shape.reshape(as_tensor(input), shape_)


def transpose(input, dim0, dim1):
    return shape.transpose(as_tensor(input), dim0, dim1)


def permute(input, dims):
    return shape.permute(as_tensor(input), dims)


def squeeze(input, dim=None):
    return shape.squeeze(as_tensor(input), dim)


def unsqueeze(input, dim):
    return shape.unsqueeze(as_tensor(input), dim)


def max(input, dim=None, keepdim=False):  # noqa: A001
    """The maximum alone, or (values, indices) along ``dim``."""
    return reduce.max(input, dim, keepdim)


def min(input, dim=None, keepdim=False):  # noqa: A001
    return reduce.min(input, dim, keepdim)


def sum(input, dim=None, keepdim=False):  # noqa: A001
    return reduce.sum(input, dim, keepdim)


def mean(input, dim=None, keepdim=False):
    return reduce.mean(input, dim, keepdim)


def argmax(input, dim=None, keepdim=False):
    return reduce.argmax(input, dim, keepdim)


def argmin(input, dim=None, keepdim=False):
    return reduce.argmin(input, dim, keepdim)


def matmul(input, other):
    return linalg.matmul(input, other)


def abs(input):  # noqa: A001
    return elementwise.abs(input)


def exp(input):
    return elementwise.exp(input)


def log(input):
    return elementwise.log(input)


def sqrt(input):
    return elementwise.sqrt(input)


def clamp(input, min=None, max=None):  # noqa: A002
    return elementwise.clamp(input, min, max)


cat = shape.cat
stack = shape.stack


def norm(input, p="fro", dim=None, keepdim=False):
    return _statistics.norm(input, p, dim, keepdim)


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return as_tensor(input).var(dim, unbiased, keepdim, correction=correction)


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return as_tensor(input).std(dim, unbiased, keepdim, correction=correction)


def topk(input, k, dim=-1, largest=True, sorted=True):  # noqa: A002
    return _selection.topk(input, k, dim, largest, sorted)


def where(condition, input=None, other=None):
    return _selection.where(condition, input, other)


def is_tensor(obj):
    return isinstance(obj, _tensor.Tensor)


def eq(input, other):
    return as_tensor(input) == other


def ne(input, other):
    return as_tensor(input) != other


def lt(input, other):
    return as_tensor(input) < other


def le(input, other):
    return as_tensor(input) <= other


def gt(input, other):
    return as_tensor(input) > other


def ge(input, other):
    return as_tensor(input) >= other


__all__ += ["norm", "var", "std", "topk", "where", "is_tensor", "eq", "ne", "lt", "le", "gt",
            "ge"]

# `axis=` works wherever `dim` does, as in PyTorch.
for _name in ("sum", "mean", "max", "min", "argmax", "argmin", "softmax", "log_softmax",
              "squeeze", "unsqueeze", "cat", "stack", "norm", "var", "std", "topk"):
    globals()[_name] = accepts_axis(globals()[_name])
del _name
