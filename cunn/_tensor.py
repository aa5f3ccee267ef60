"""Tensor: a NumPy array with reverse-mode autograd and PyTorch's methods.

The array lives in ``_data`` (optimizers update it in place); ``grad_fn`` is the graph
node that made it (None for leaves). ``_version`` stamps its last in-place change (a
one-item list, shared with detach() and the views an op returns) so that backward can
refuse gradients computed from values changed since the forward pass. Every method that
computes is a thin call into cunn/ops, where each op's forward and backward are written
once.
"""
import importlib

import numpy as np

from cunn.autograd import engine, grad_mode
from cunn.autograd.function import Function, mark_changed_in_place
from cunn._backends.cuda.array import DeviceArray
from cunn.device import (CPU, check_device, check_same_device, copy_into, device_of, filled,
                         is_device_array, transfer)
from cunn.ops import elementwise, linalg, reduce, shape
from cunn.ops import broadcast, selection, statistics
from cunn.ops._util import as_array
from cunn.ops.dim_alias import accepts_axis

__all__ = ["Tensor", "to_array", "from_numpy"]

_KINDS = {"f": np.float32, "i": np.int64, "u": np.int64, "b": np.bool_}


def to_array(data, dtype=None):
    """``data`` as an ndarray with one of cunn's dtypes: floating data becomes float32 and
    integer data int64 unless ``dtype`` says otherwise (a new array, as ``cunn.tensor``)."""
    if isinstance(data, Tensor):
        data = data._data
    if dtype is not None:
        try:
            return np.array(data, dtype=np.dtype(dtype))
        except (TypeError, ValueError) as error:
            raise TypeError(f"tensor: cannot make a {np.dtype(dtype)} tensor from "
                            f"{type(data).__name__}: {error}") from None
    try:
        array = np.array(data)
    except ValueError as error:  # ragged nested lists
        raise ValueError(f"tensor: data must be rectangular: {error}") from None
    target = _KINDS.get(array.dtype.kind)
    if target is None:
        raise TypeError(f"tensor: cannot make a tensor from data of dtype {array.dtype} "
                        "(expected numbers or bools)")
    return array.astype(target, copy=False)


def _functional():
    # cunn.nn.functional imports this module, so it is looked up when first called.
    return importlib.import_module("cunn.nn.functional")


def from_numpy(array):
    """A Tensor sharing memory with ``array``, keeping its dtype."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected an ndarray, got {type(array).__name__}")
    if not array.dtype.isnative:  # the kernels read native order; sharing rules out a copy
        raise ValueError(f"from_numpy: the array's byte order is not the machine's "
                         f"({array.dtype.str}); convert it with "
                         f"array.astype(array.dtype.newbyteorder('='))")
    return Tensor(array)


def _legacy_array(data, sizes):
    """PyTorch's legacy ``Tensor(...)`` constructor: ``Tensor(2, 3)`` is an uninitialised
    float32 tensor of that shape, ``Tensor([1, 2])`` float32 data. A NumPy scalar (what a
    ufunc returns for 0-d inputs, which ops wrap this way) or a Tensor is taken as
    ``cunn.tensor`` takes it."""
    if isinstance(data, np.generic) and not sizes:  # a NumPy scalar, as ufuncs return
        return to_array(data)
    if isinstance(data, (int, np.integer)) and not isinstance(data, (bool, np.bool_)):
        shape = (data,) + sizes
        for size in shape:
            if isinstance(size, (bool, np.bool_)) or not isinstance(size, (int, np.integer)):
                raise TypeError(f"Tensor: sizes must be ints, got {shape!r}")
            if size < 0:
                raise ValueError(f"Tensor: sizes must be >= 0, got {shape!r}")
        return np.empty(tuple(int(size) for size in shape), dtype=np.float32)
    if sizes:
        raise TypeError(f"Tensor: expected data or sizes as ints, got {type(data).__name__} "
                        f"followed by {sizes!r}")
    if isinstance(data, Tensor):
        return to_array(data)
    if isinstance(data, (float, bool)):
        raise TypeError(f"Tensor: a single number is read as a size and must be an int, got "
                        f"{data!r}; use cunn.tensor({data!r}) for a 0-d tensor")
    array = to_array(data)
    return array if array.dtype == np.float32 else array.astype(np.float32)


class CastBackward(Function):
    __slots__ = ()
    checked_inputs = ()

    def backward(self, grad_output):
        (dtype,) = self.saved
        return (grad_output.astype(dtype),)


class ToDeviceBackward(Function):
    """``.to(device)``: the gradient goes back to the device the input came from."""
    __slots__ = ()
    checked_inputs = ()
    fresh_gradients = True  # transfer() always returns a new array of its own

    def backward(self, grad_output):
        (source,) = self.saved
        return (transfer(grad_output, source),)


def _to_arguments(args, kwargs):
    """(device or None, dtype or None, copy) from PyTorch's forms of ``Tensor.to``:
    ``to(device, dtype)``, ``to(dtype)``, ``to(other)``, with keywords ``device``, ``dtype``,
    ``non_blocking`` and ``copy``."""
    unknown = set(kwargs) - {"device", "dtype", "non_blocking", "copy", "memory_format"}
    if unknown:
        raise TypeError(f"to: unexpected keyword arguments {sorted(unknown)}")
    target, dtype = kwargs.get("device"), kwargs.get("dtype")
    flags = []
    for value in args:
        if isinstance(value, Tensor):
            target, dtype = value.device, value.dtype
        elif isinstance(value, bool):
            flags.append(value)  # non_blocking, copy
        elif isinstance(value, (str, type(CPU))):
            target = value
        elif isinstance(value, (int, np.integer)):
            target = f"cuda:{int(value)}"  # PyTorch reads a bare int as a GPU index
        elif value is not None:
            dtype = value
    copy = kwargs.get("copy", flags[1] if len(flags) > 1 else False)
    return target, dtype, bool(copy)


class CloneBackward(Function):
    __slots__ = ()
    checked_inputs = ()

    def backward(self, grad_output):
        return (grad_output,)


_OPERANDS = (int, float, bool, np.number, np.ndarray, list)


def _arithmetic(op):
    """The operator and its reflected form (``a - b`` and ``b - a`` for a non-Tensor b)."""
    def method(self, other):
        if isinstance(other, Tensor) or isinstance(other, _OPERANDS):
            return op(self, other)
        return NotImplemented

    def reflected(self, other):
        if isinstance(other, _OPERANDS):
            return op(other, self)
        return NotImplemented

    return method, reflected


def _comparison(ufunc):
    """A comparison: a bool Tensor, never recorded in the graph."""
    def method(self, other):
        return Tensor(ufunc(self._data, _as_data(other, self, ufunc.__name__)))
    return method


class Tensor:
    __slots__ = ("_data", "requires_grad", "_grad", "grad_fn", "_version", "__weakref__",
                 "__dict__")
    # numpy gives way to Tensor's operators in `array + tensor`
    __array_priority__ = 1000

    def __init__(self, data=(), *sizes, requires_grad=False):
        if not isinstance(data, (np.ndarray, DeviceArray)):
            data = _legacy_array(data, sizes)
        elif sizes:
            raise TypeError(f"Tensor: expected one array or sizes as ints, got an array and "
                            f"{sizes!r}")
        self._data = data
        self._grad = None
        self.grad_fn = None
        self._version = [0]
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    # ---- attributes ----

    @property
    def shape(self):
        return self._data.shape

    @property
    def dtype(self):
        return self._data.dtype

    @property
    def ndim(self):
        return self._data.ndim

    @property
    def device(self):
        return CPU if isinstance(self._data, np.ndarray) else device_of(self._data)

    @property
    def is_cuda(self):
        return not isinstance(self._data, np.ndarray)

    @property
    def grad(self):
        """The gradient summed into this leaf by backward(), or None."""
        return self._grad

    @grad.setter
    def grad(self, value):
        # Checked here, as PyTorch does, not at the optimizer step that would trip over it.
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"grad: assigned grad must be a Tensor or None, got "
                                f"{type(value).__name__}")
            if value._data.dtype != self._data.dtype:
                raise TypeError(f"grad: assigned grad has dtype {value._data.dtype}, the "
                                f"tensor has {self._data.dtype}")
            if value._data.shape != self._data.shape:
                raise ValueError(f"grad: assigned grad has shape {value._data.shape}, the "
                                 f"tensor has {self._data.shape}")
        self._grad = value

    @property
    def is_leaf(self):
        return self.grad_fn is None

    @property
    def data(self):
        """A Tensor sharing this one's array, outside autograd; as in PyTorch, in-place
        changes made through it are not seen by the version check (``detach()``'s are)."""
        return Tensor(self._data)

    @data.setter
    def data(self, value):
        self._data = value._data if isinstance(value, Tensor) else to_array(value)

    @property
    def T(self):  # noqa: N802  (PyTorch's name)
        return shape.permute(self, tuple(reversed(range(self._data.ndim))))

    def size(self, dim=None):
        if dim is None:
            return self._data.shape
        return self._data.shape[shape.normalise_dim("size", dim, self._data.ndim)]

    def dim(self):
        return self._data.ndim

    def numel(self):
        return self._data.size

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def requires_grad_(self, requires_grad=True):
        if requires_grad and self._data.dtype.kind != "f":
            raise TypeError(f"requires_grad: only floating tensors can require gradients, "
                            f"got {self._data.dtype}")
        self.requires_grad = bool(requires_grad)
        return self

    # ---- conversion ----

    def numpy(self):
        if not isinstance(self._data, np.ndarray):
            raise TypeError(self._on_device_message("numpy"))
        return self._data

    def _on_device_message(self, op):
        return (f"{op}: can't convert a {self.device} tensor to NumPy; use Tensor.cpu() to copy "
                "the tensor to host memory first")

    def __array__(self, dtype=None, copy=None):
        if not isinstance(self._data, np.ndarray):
            raise TypeError(self._on_device_message("__array__"))
        if dtype is not None and np.dtype(dtype) != self._data.dtype:
            return self._data.astype(dtype)
        return self._data.copy() if copy else self._data

    def item(self):
        if self._data.size != 1:
            raise ValueError(f"item: only a tensor with one element can be converted to a "
                             f"Python number, got shape {self._data.shape}")
        return self._data.item()

    def tolist(self):
        data = self._data
        return (data if isinstance(data, np.ndarray) else data.get()).tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        if self._data.size != 1:
            raise ValueError(f"the truth value of a tensor with {self._data.size} elements is "
                             "ambiguous; use .any() or .all()")
        return bool(self._data.item())

    def __index__(self):
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        return int(self._data.item())

    def _cast(self, dtype):
        dtype = np.dtype(dtype)
        if dtype == self._data.dtype:
            return self
        if dtype.kind != "f":
            return Tensor(self._data.astype(dtype))
        return CastBackward.record(self._data.astype(dtype), (self,), self._data.dtype)

    def to(self, *args, **kwargs):
        """``.to(device)``, ``.to(dtype)``, both, or ``.to(other)`` (its device and dtype), as
        in PyTorch: self when nothing changes (unless ``copy=True``), else a new tensor that
        backward() follows to the source device and dtype."""
        target, dtype, copy = _to_arguments(args, kwargs)
        result = self
        if target is None:
            result = result if dtype is None else result._cast(dtype)
        else:
            target = check_device("to", target)
            # GPU arrays hold float32, int64, uint8 and bool only: cast on the host side.
            if target.type == "cpu":
                result = result._moved(target)
                result = result if dtype is None else result._cast(dtype)
            else:
                result = result if dtype is None else result._cast(dtype)
                result = result._moved(target)
        return result.clone() if copy and result is self else result

    def _moved(self, target):
        """This tensor on the checked device ``target`` (self when it is there already)."""
        source = self.device
        if source == target:
            return self
        return ToDeviceBackward.record(transfer(self._data, target), (self,), source)

    def cpu(self):
        return self if isinstance(self._data, np.ndarray) else self._moved(CPU)

    def cuda(self, device=None, non_blocking=False):
        """A copy in GPU memory (self when it is there already); ``device``: an index,
        "cuda:1" or a device, the current GPU by default."""
        if device is None:
            device = "cuda"
        elif isinstance(device, (int, np.integer)) and not isinstance(device, bool):
            device = f"cuda:{int(device)}"
        target = check_device("cuda", device)
        if target.type != "cuda":
            raise ValueError(f"cuda: expected a CUDA device, got {target}")
        return self._moved(target)

    def float(self):
        return self._cast(np.float32)

    def double(self):
        return self._cast(np.float64)

    def long(self):
        return self._cast(np.int64)

    def int(self):
        return self._cast(np.int32)

    def bool(self):
        return self._cast(np.bool_)

    def type_as(self, other):
        return self._cast(other.dtype)

    def detach(self):
        view = Tensor(self._data)
        view._version = self._version
        return view

    def detach_(self):
        self.grad_fn = None
        self.requires_grad = False
        return self

    def clone(self):
        return CloneBackward.record(self._data.copy(), (self,))

    def contiguous(self):
        data = self._data
        if data.flags.c_contiguous:
            return self
        # np.ascontiguousarray would ask a GPU array for a host copy: it copies itself
        return CloneBackward.record(np.ascontiguousarray(data) if isinstance(data, np.ndarray)
                                    else data.copy(), (self,))

    # ---- autograd ----

    def backward(self, gradient=None, retain_graph=False):
        """Sums d(self)/d(leaf) · gradient into the ``.grad`` of every leaf that requires grad."""
        if not self.requires_grad:
            raise RuntimeError("backward: this tensor does not require grad and has no "
                               "grad_fn (was it computed under no_grad, or from tensors that "
                               "do not require grad?)")
        if gradient is None:
            if self._data.size != 1:
                raise RuntimeError(f"backward: grad can be implicitly created only for a "
                                   f"tensor with one element, got shape {self._data.shape}; "
                                   "pass gradient=")
            # np.array(1) for the usual 0-d loss: a third of np.ones' cost.
            if isinstance(self._data, np.ndarray):
                gradient = (np.array(1, dtype=self._data.dtype) if self._data.ndim == 0
                            else np.ones(self._data.shape, dtype=self._data.dtype))
            else:
                gradient = filled(self.device, self._data.shape, 1, self._data.dtype,
                                  "backward")
        elif not isinstance(self._data, np.ndarray):
            source = gradient._data if isinstance(gradient, Tensor) else gradient
            given = tuple(source.shape) if is_device_array(source) else np.shape(source)
            if given != self._data.shape:
                raise ValueError(f"backward: gradient has shape {given}, expected "
                                 f"{self._data.shape}")
            # A new GPU array of its own: the engine may keep it as a leaf's .grad.
            gradient = filled(self.device, given, 0, self._data.dtype, "backward")
            copy_into(gradient, source, "backward")
        else:
            # A copy: the engine may hand this array on as a leaf's .grad.
            gradient = np.array(gradient._data if isinstance(gradient, Tensor) else gradient,
                                dtype=self._data.dtype)
            if gradient.shape != self._data.shape:
                raise ValueError(f"backward: gradient has shape {gradient.shape}, expected "
                                 f"{self._data.shape}")
        engine.backward(self, gradient, retain_graph)

    # ---- arithmetic ----

    __add__, __radd__ = _arithmetic(elementwise.add)
    __sub__, __rsub__ = _arithmetic(elementwise.sub)
    __mul__, __rmul__ = _arithmetic(elementwise.mul)
    __truediv__, __rtruediv__ = _arithmetic(elementwise.div)
    __pow__, __rpow__ = _arithmetic(elementwise.pow)

    def __matmul__(self, other):
        return linalg.matmul(self, other)

    def __rmatmul__(self, other):
        return linalg.matmul(other, self)

    def __floordiv__(self, other):
        return Tensor(np.floor_divide(self._data, _as_data(other, self)))

    def __mod__(self, other):
        return Tensor(np.mod(self._data, _as_data(other, self)))

    def __neg__(self):
        return elementwise.neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return elementwise.abs(self)

    # In place, outside autograd (initialisation, manual updates such as p.data -= lr * g).
    def _in_place(self, op, other):
        if self.requires_grad and grad_mode._state["enabled"]:
            raise RuntimeError(f"{op}: a tensor that requires grad cannot be changed in place "
                               "while gradients are recorded; use .data or no_grad()")
        value = _as_data(other, self, op)
        getattr(np, op)(self._data, value, out=self._data, casting="same_kind")
        mark_changed_in_place(self)
        return self

    def __iadd__(self, other):
        return self._in_place("add", other)

    def __isub__(self, other):
        return self._in_place("subtract", other)

    def __imul__(self, other):
        return self._in_place("multiply", other)

    def __itruediv__(self, other):
        return self._in_place("divide", other)

    def add_(self, other, alpha=1):
        return self._in_place("add", other if alpha == 1 else _as_data(other, self) * alpha)

    def sub_(self, other, alpha=1):
        return self._in_place("subtract", other if alpha == 1 else _as_data(other, self) * alpha)

    def mul_(self, other):
        return self._in_place("multiply", other)

    def div_(self, other):
        return self._in_place("divide", other)

    # Comparisons give bool tensors and never record a graph.
    __eq__ = _comparison(np.equal)
    __ne__ = _comparison(np.not_equal)
    __lt__ = _comparison(np.less)
    __le__ = _comparison(np.less_equal)
    __gt__ = _comparison(np.greater)
    __ge__ = _comparison(np.greater_equal)

    __hash__ = object.__hash__  # identity, so tensors can key dicts despite elementwise ==

    def eq(self, other):
        return self == other

    def ne(self, other):
        return self != other

    def lt(self, other):
        return self < other

    def le(self, other):
        return self <= other

    def gt(self, other):
        return self > other

    def ge(self, other):
        return self >= other

    def equal(self, other):
        other_data = _as_data(other, self, "equal")
        if isinstance(self._data, np.ndarray):
            return bool(np.array_equal(self._data, other_data))
        return tuple(self._data.shape) == tuple(np.shape(other_data) if isinstance(
            other_data, np.ndarray) else other_data.shape) and bool((self == other).all())

    def any(self):
        return Tensor(as_array(self._data.any()))

    def all(self):
        return Tensor(as_array(self._data.all()))

    # ---- functions ----

    def add(self, other):
        return elementwise.add(self, other)

    def sub(self, other):
        return elementwise.sub(self, other)

    def mul(self, other):
        return elementwise.mul(self, other)

    def div(self, other):
        return elementwise.div(self, other)

    def pow(self, exponent):
        return elementwise.pow(self, exponent)

    def matmul(self, other):
        return linalg.matmul(self, other)

    def mm(self, other):
        return linalg.matmul(self, other)

    def abs(self):
        return elementwise.abs(self)

    def exp(self):
        return elementwise.exp(self)

    def log(self):
        return elementwise.log(self)

    def sqrt(self):
        return elementwise.sqrt(self)

    def clamp(self, min=None, max=None):  # noqa: A002
        return elementwise.clamp(self, min, max)

    clip = clamp

    # The layer functions run through cunn.nn.functional, as cunn.relu does, so that a
    # method and its function form check their input the same way.
    def relu(self):
        return _functional().relu(self)

    def sigmoid(self):
        return _functional().sigmoid(self)

    def tanh(self):
        return _functional().tanh(self)

    def softmax(self, dim):
        return _functional().softmax(self, dim)

    def log_softmax(self, dim):
        return _functional().log_softmax(self, dim)

    def sum(self, dim=None, keepdim=False):
        return reduce.sum(self, dim, keepdim)

    def mean(self, dim=None, keepdim=False):
        return reduce.mean(self, dim, keepdim)

    def max(self, dim=None, keepdim=False):
        return reduce.max(self, dim, keepdim)

    def min(self, dim=None, keepdim=False):
        return reduce.min(self, dim, keepdim)

    def argmax(self, dim=None, keepdim=False):
        return reduce.argmax(self, dim, keepdim)

    def argmin(self, dim=None, keepdim=False):
        return reduce.argmin(self, dim, keepdim)

    # ---- shape ----

    def reshape(self, *shape_):
        return shape.reshape(self, *shape_)

    def view(self, *shape_):
        return shape.reshape(self, *shape_, op="view")

    def view_as(self, other):
        return shape.reshape(self, other.shape, op="view_as")

    def reshape_as(self, other):
        return shape.reshape(self, other.shape)

    def flatten(self, start_dim=0, end_dim=-1):
        return shape.flatten(self, start_dim, end_dim)

    def transpose(self, dim0, dim1):
        return shape.transpose(self, dim0, dim1)

    def t(self):
        if self._data.ndim > 2:
            raise ValueError(f"t: expects a tensor with at most 2 dims, got {self._data.ndim}")
        return self.T

    def permute(self, *dims):
        return shape.permute(self, *dims)

    def squeeze(self, dim=None):
        return shape.squeeze(self, dim)

    def unsqueeze(self, dim):
        return shape.unsqueeze(self, dim)

    def __getitem__(self, key):
        return shape.index(self, key)

    def __setitem__(self, key, value):
        if self.requires_grad and grad_mode._state["enabled"]:
            raise RuntimeError("setitem: a tensor that requires grad cannot be changed in place "
                               "while gradients are recorded; use .data or no_grad()")
        self._data[shape._index_key(key)] = _as_data(value, self)
        mark_changed_in_place(self)

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    # ---- in place, for initialisation (no graph) ----

    def _check_floating(self, op):
        if self._data.dtype.kind != "f":
            raise TypeError(f"{op}: expects a floating tensor, got {self._data.dtype}")

    def normal_(self, mean=0.0, std=1.0):
        from cunn import random

        self._check_floating("normal_")
        copy_into(self._data, random.generator().normal(mean, std, self._data.shape), "normal_")
        mark_changed_in_place(self)
        return self

    def uniform_(self, a=0.0, b=1.0):
        from cunn import random

        self._check_floating("uniform_")
        copy_into(self._data, random.generator().uniform(a, b, self._data.shape), "uniform_")
        mark_changed_in_place(self)
        return self

    def zero_(self):
        if isinstance(self._data, np.ndarray):
            self._data.fill(0)
        else:
            copy_into(self._data, 0, "zero_")
        mark_changed_in_place(self)
        return self

    def fill_(self, value):
        value = value.item() if isinstance(value, Tensor) else value
        if isinstance(self._data, np.ndarray):
            self._data.fill(value)
        else:
            copy_into(self._data, value, "fill_")
        mark_changed_in_place(self)
        return self

    def copy_(self, src):
        source = src._data if isinstance(src, Tensor) else _as_data(src, self)
        try:
            copy_into(self._data, source)  # from either device, as PyTorch's copy_
        except ValueError:
            given = tuple(source.shape) if hasattr(source, "shape") else np.shape(source)
            raise ValueError(f"copy_: source of shape {given} cannot be copied into "
                             f"a tensor of shape {self._data.shape}") from None
        mark_changed_in_place(self)
        return self

    # ---- printing ----

    def __repr__(self):
        data = self._data
        on_device = not isinstance(data, np.ndarray)
        if on_device:
            data = data.get()
        options = {"separator": ", ", "prefix": "tensor("}
        if data.dtype.kind == "f":
            finite = data[np.isfinite(data)]
            if finite.size and np.all(finite == np.round(finite)) and np.abs(finite).max() < 1e8:
                options["formatter"] = {"float_kind": lambda value: f"{value:.0f}."
                                        if np.isfinite(value) else str(value)}
            else:
                options.update(precision=4, floatmode="fixed")
        body = np.array2string(data, **options)
        extras = [f"device='{self.device}'"] if on_device else []
        if data.dtype not in (np.float32, np.int64, np.bool_):
            extras.append(f"dtype=cunn.{data.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{self.grad_fn.name()}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + extra for extra in extras) + ")"

    # ---- statistics, broadcasting, selection (cunn/ops/statistics, broadcast, selection) ----

    def norm(self, p="fro", dim=None, keepdim=False):
        return statistics.norm(self, p, dim, keepdim)

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        if isinstance(dim, (bool, np.bool_)):  # x.var(False): PyTorch's unbiased overload
            dim, unbiased = None, dim
        return statistics.var(self, dim, correction, keepdim, unbiased)

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        if isinstance(dim, (bool, np.bool_)):
            dim, unbiased = None, dim
        return statistics.std(self, dim, correction, keepdim, unbiased)

    def expand(self, *sizes):
        return broadcast.expand(self, *sizes)

    def expand_as(self, other):
        return broadcast.expand(self, other.shape)

    def repeat(self, *repeats):
        return broadcast.repeat(self, *repeats)

    def topk(self, k, dim=-1, largest=True, sorted=True):  # noqa: A002
        return selection.topk(self, k, dim, largest, sorted)

    def where(self, condition, other):
        return selection.where(condition, self, other)

    def is_floating_point(self):
        return self._data.dtype.kind == "f"

    def type(self, dtype=None):
        """The type name (``"cunn.FloatTensor"``) without ``dtype``; else a cast to it
        (a dtype, or a name such as ``"torch.LongTensor"``)."""
        if dtype is None:
            name = _TYPE_NAMES.get(self._data.dtype)
            return f"cunn.{name}" if name else f"cunn.Tensor[{self._data.dtype}]"
        if isinstance(dtype, str):
            short = dtype.rsplit(".", 1)[-1]
            matches = [key for key, name in _TYPE_NAMES.items() if name == short]
            if not matches:
                raise ValueError(f"type: unknown tensor type {dtype!r}; expected a dtype or one "
                                 f"of {', '.join(sorted(_TYPE_NAMES.values()))}")
            dtype = matches[0]
        return self._cast(dtype)


_TYPE_NAMES = {np.dtype(dtype): name for dtype, name in (
    (np.float32, "FloatTensor"), (np.float64, "DoubleTensor"), (np.float16, "HalfTensor"),
    (np.int64, "LongTensor"), (np.int32, "IntTensor"), (np.int16, "ShortTensor"),
    (np.int8, "CharTensor"), (np.uint8, "ByteTensor"), (np.bool_, "BoolTensor"))}

# `axis=` works wherever `dim` does, as in PyTorch.
for _name in ("size", "sum", "mean", "max", "min", "argmax", "argmin", "softmax", "log_softmax",
              "squeeze", "unsqueeze", "norm", "var", "std", "topk"):
    setattr(Tensor, _name, accepts_axis(getattr(Tensor, _name)))
del _name


_new_object = object.__new__


def _wrap(data):
    """Tensor(data) for an op's result or a gradient, without the argument checks when
    ``data`` is an ndarray or a DeviceArray: every op's result and every gradient is made
    this way, and for a tiny op the checks are a tenth of its cost. (Some kernels give a
    NumPy scalar for a reduction; Tensor() turns that into a 0-d array.)"""
    if type(data) is not np.ndarray and type(data) is not DeviceArray:
        return Tensor(data)
    tensor = _new_object(Tensor)
    tensor._data = data
    tensor._grad = None
    tensor.grad_fn = None
    tensor._version = [0]
    tensor.requires_grad = False
    return tensor


Function.tensor_class = Tensor
Function.wrap = staticmethod(_wrap)


def _as_data(value, like, op="tensor"):
    """The array of a Tensor, or a number/array in ``like``'s dtype where it is floating;
    RuntimeError for a Tensor on another device than ``like``."""
    if isinstance(value, Tensor):
        if type(value._data) is not type(like._data):  # one comparison on the host path
            check_same_device(op, like._data, value._data)
        return value._data
    if isinstance(value, (int, float, bool)) and like._data.dtype.kind == "f":
        return like._data.dtype.type(value)
    return np.asarray(value)
