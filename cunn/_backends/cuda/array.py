"""DeviceArray: an n-d array in GPU memory, the ``_data`` of a cuda Tensor.

A storage owns one block from the runtime's caching allocator and returns it (free) when
the last array viewing it goes. An array is a view of a storage: a shape, a dtype, element
strides (0 on broadcast axes, negative after a reversing slice) and an element offset, so
reshape, transpose, broadcasting and basic indexing copy nothing. Computation goes through
the runtime's kernels (runtime.py), which read strided inputs where they take strides and
contiguous buffers otherwise.

The NumPy protocol makes the ufuncs and functions cunn's ops call on arrays work on device
arrays too (``__array_ufunc__`` in ufuncs.py, ``__array_function__`` in functions.py); the others
raise TypeError naming the function. Nothing copies to the host behind the user's back:
``np.asarray(device_array)`` raises, as PyTorch's ``numpy()`` of a cuda tensor does;
``.get()`` (``Tensor.cpu()``) is the way to the host.
"""
import math
import numbers
import operator

import numpy as np

from cunn._backends.cuda.runtime import runtime

__all__ = ["DeviceArray", "to_device", "empty", "zeros", "full", "is_scalar"]

# The dtypes device memory holds, and the name the runtime's kernels give each; bool is
# stored as uint8 0/1.
RUNTIME_DTYPES = {np.dtype(np.float32): "float32", np.dtype(np.int64): "int64",
                  np.dtype(np.uint8): "uint8", np.dtype(np.bool_): "uint8"}
FLOAT32 = np.dtype(np.float32)
INT64 = np.dtype(np.int64)
BOOL = np.dtype(np.bool_)


def device_dtype(dtype, op="cuda"):
    """``dtype`` as one of the dtypes device memory holds; TypeError naming ``op`` otherwise."""
    dtype = np.dtype(dtype)
    if dtype not in RUNTIME_DTYPES:
        raise TypeError(f"{op}: dtype {dtype} is not supported on cuda (float32, int64, uint8 "
                        "and bool are)")
    return dtype


class _Storage:
    """One device block; freed when the last array viewing it goes."""
    __slots__ = ("ptr", "nbytes", "runtime")

    def __init__(self, nbytes):
        self.runtime = runtime()
        self.nbytes = nbytes
        self.ptr = self.runtime.malloc(nbytes)

    def __del__(self):
        ptr, self.ptr = getattr(self, "ptr", 0), 0
        if ptr:
            self.runtime.free(ptr)

    def __reduce__(self):
        # A copied storage would free its block a second time.
        raise TypeError("a device storage cannot be copied or pickled; copy its arrays")


def _contiguous_strides(shape):
    strides, step = [], 1
    for size in reversed(shape):
        strides.append(step)
        step *= size
    return tuple(reversed(strides))


def is_scalar(value):
    """A number, a NumPy scalar or a 0-d host array: what may meet a device array in an op
    (PyTorch allows 0-d CPU tensors beside cuda ones)."""
    return isinstance(value, (numbers.Number, np.generic)) or (
        type(value) is np.ndarray and value.ndim == 0)


class Flags:
    """The part of ndarray.flags that cunn reads."""
    __slots__ = ("c_contiguous", "f_contiguous", "writeable")

    def __init__(self, c_contiguous, f_contiguous, writeable):
        self.c_contiguous, self.f_contiguous, self.writeable = \
            c_contiguous, f_contiguous, writeable

    @property
    def forc(self):
        return self.c_contiguous or self.f_contiguous


class DeviceArray:
    __slots__ = ("_storage", "shape", "dtype", "strides", "offset", "base", "__weakref__")
    # NumPy defers `host_array + device_array` to the device array's operators.
    __array_priority__ = 1000

    def __init__(self, storage, shape, dtype, strides=None, offset=0, base=None):
        self._storage = storage
        self.shape = tuple(shape)
        self.dtype = dtype
        self.strides = _contiguous_strides(self.shape) if strides is None else tuple(strides)
        self.offset = offset
        self.base = base

    # ---- attributes ----

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return math.prod(self.shape)

    @property
    def itemsize(self):
        return self.dtype.itemsize

    @property
    def nbytes(self):
        return self.size * self.dtype.itemsize

    @property
    def ptr(self):
        """The device address of element [0, ..., 0]."""
        return self._storage.ptr + self.offset * self.dtype.itemsize

    @property
    def runtime(self):
        """The runtime that owns this memory."""
        return self._storage.runtime

    @property
    def runtime_dtype(self):
        return RUNTIME_DTYPES[self.dtype]

    @property
    def device(self):
        from cunn.device import device
        return device("cuda", self.runtime.current_device())

    @property
    def flags(self):
        # A broadcast view (stride 0 on an axis longer than 1) is read-only, as NumPy's.
        return Flags(self.is_contiguous(), self._f_contiguous(),
                     all(stride or size <= 1 for size, stride in zip(self.shape, self.strides)))

    def is_contiguous(self):
        """C-contiguous: element i of the flattened array is at ptr + i (axes of size 1 and
        empty arrays have any strides)."""
        if self.size == 0:
            return True
        step = 1
        for size, stride in zip(reversed(self.shape), reversed(self.strides)):
            if size != 1:
                if stride != step:
                    return False
                step *= size
        return True

    def _f_contiguous(self):
        return self.ndim <= 1 and self.is_contiguous() or self.transpose().is_contiguous()

    # ---- to and from the host ----

    def get(self):
        """A new host ndarray with this array's values (a synchronous copy)."""
        host = np.empty(self.shape, self.dtype)
        if self.size:
            source = self.contiguous()  # held: a temporary's block would be freed at once
            self.runtime.copy_to_host(host, source.ptr)
        return host

    def __array__(self, dtype=None, copy=None):
        raise TypeError("can't convert a cuda device array to a NumPy array; call .cpu() first "
                        "(a Tensor) or .get() (a DeviceArray) to copy it to the host")

    def tolist(self):
        return self.get().tolist()

    def item(self):
        if self.size != 1:
            raise ValueError(f"item: only one-element arrays can be converted to a Python "
                             f"scalar, got shape {self.shape}")
        return self.get().reshape(()).item()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.dtype.kind not in "iub":
            raise TypeError("only integer arrays can be used as an index")
        return operator.index(self.item())

    def __bool__(self):
        if self.size != 1:
            raise ValueError(f"the truth value of a cuda array of shape {self.shape} is "
                             "ambiguous; use .any() or .all()")
        return bool(self.item())

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a 0-d array")
        return self.shape[0]

    def __repr__(self):
        return f"DeviceArray({np.array2string(self.get(), separator=', ')}, dtype={self.dtype}, " \
               f"device='{self.device}')"

    def __iter__(self):
        if not self.shape:
            raise TypeError("iteration over a 0-d array")
        return (self[index] for index in range(self.shape[0]))

    # ---- copies and conversions ----

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):
        return self.copy()

    def __reduce__(self):
        """Pickled through the host: unpickling makes a device copy on the runtime then in
        use (as a pickled cuda tensor comes back on the GPU)."""
        return to_device, (self.get(),)

    def contiguous(self):
        """This array if C-contiguous, else a contiguous copy."""
        return self if self.is_contiguous() else self.copy()

    def copy(self, order="C"):
        out = empty(self.shape, self.dtype)
        out._copy_from(self)
        return out

    def _copy_from(self, source):
        """Writes ``source`` (same dtype, broadcastable to this contiguous array's shape)."""
        if not self.size:
            return
        strides = broadcast_strides(source, self.shape)
        if source.size == self.size and source.is_contiguous():
            self.runtime.copy_device(self.ptr, source.ptr, self.nbytes)
        else:
            self.runtime.copy_strided(self.ptr, source.ptr, self.itemsize, self.shape, strides)

    def astype(self, dtype, order="K", casting="unsafe", subok=True, copy=True):
        dtype = device_dtype(dtype, "astype")
        if dtype == self.dtype:
            return self.copy() if copy or (order == "C" and not self.is_contiguous()) else self
        if dtype == BOOL:  # a cast to bool is != 0, not truncation
            from cunn._backends.cuda import ufuncs
            return ufuncs.ufunc(np.not_equal, self, 0)
        source = self.contiguous()
        if self.dtype == BOOL and dtype == np.uint8:  # the same bytes
            source = source.copy() if source is self else source
            return DeviceArray(source._storage, self.shape, dtype)
        out = empty(self.shape, dtype)
        if self.size:
            self.runtime.cast(out.ptr, out.runtime_dtype, source.ptr, source.runtime_dtype,
                              self.size)
        return out

    def fill(self, value):
        """Sets every element to ``value`` in place."""
        if not self.is_contiguous():
            self[...] = value
            return
        if self.size:
            self.runtime.fill(self.ptr, self.size, _fill_value(value, self.dtype),
                              self.runtime_dtype)

    # ---- views ----

    def _view(self, shape, strides, offset=None):
        return DeviceArray(self._storage, shape, self.dtype, strides,
                           self.offset if offset is None else offset, base=self)

    def reshape(self, *shape, order="C"):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        shape = _resolve_shape(shape, self.size)
        source = self.contiguous()
        if source is self:
            return self._view(shape, None)
        return DeviceArray(source._storage, shape, self.dtype)

    def view(self, *shape):
        """reshape without a copy; refused for a non-contiguous array (PyTorch's rule)."""
        if not self.is_contiguous():
            raise RuntimeError("view: the array is not contiguous; use reshape")
        return self.reshape(*shape)

    def ravel(self):
        return self.reshape(-1)

    def flatten(self):
        return self.reshape(-1).copy() if self.is_contiguous() else self.reshape(-1)

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list, np.ndarray)):
            axes = tuple(int(axis) for axis in axes[0])
        if not axes or axes[0] is None:
            axes = tuple(reversed(range(self.ndim)))
        axes = tuple(_normalise_axis(axis, self.ndim) for axis in axes)
        if sorted(axes) != list(range(self.ndim)):
            raise ValueError(f"transpose: axes {axes} are not a permutation of the array's "
                             f"{self.ndim} dims")
        return self._view(tuple(self.shape[axis] for axis in axes),
                          tuple(self.strides[axis] for axis in axes))

    @property
    def T(self):  # noqa: N802  (NumPy's name)
        return self.transpose()

    def swapaxes(self, axis1, axis2):
        axes = list(range(self.ndim))
        first, second = _normalise_axis(axis1, self.ndim), _normalise_axis(axis2, self.ndim)
        axes[first], axes[second] = axes[second], axes[first]
        return self.transpose(axes)

    def squeeze(self, axis=None):
        if axis is None:
            keep = [dim for dim, size in enumerate(self.shape) if size != 1]
        else:
            axes = axis if isinstance(axis, tuple) else (axis,)
            axes = {_normalise_axis(a, self.ndim) for a in axes}
            for a in axes:
                if self.shape[a] != 1:
                    raise ValueError("cannot select an axis to squeeze out which has size not "
                                     "equal to one")
            keep = [dim for dim in range(self.ndim) if dim not in axes]
        return self._view(tuple(self.shape[d] for d in keep), tuple(self.strides[d] for d in keep))

    def __getitem__(self, key):
        rows = _row_index(key)
        if rows is not None:
            from cunn._backends.cuda import ufuncs
            return ufuncs.take_rows(self, rows)
        shape, strides, offset = [], [], self.offset
        dim = 0
        for part in _expand_key(key, self.ndim):
            if part is None:
                shape.append(1)
                strides.append(0)
                continue
            size, stride = self.shape[dim], self.strides[dim]
            if isinstance(part, slice):
                start, stop, step = part.indices(size)
                length = len(range(start, stop, step))
                if length:
                    offset += start * stride
                shape.append(length)
                strides.append(stride * step)
            else:
                index = int(part)
                if not -size <= index < size:
                    raise IndexError(f"index {index} is out of bounds for axis {dim} with size "
                                     f"{size}")
                offset += (index % size) * stride
            dim += 1
        return self._view(tuple(shape), tuple(strides), offset)

    def __setitem__(self, key, value):
        target = self[key]
        if not target.is_contiguous():
            raise TypeError("setitem: writing into a non-contiguous part of a cuda array is not "
                            "supported; write into a contiguous slice or build a new array")
        if is_scalar(value):
            target.fill(np.asarray(value).item())
            return
        if not isinstance(value, DeviceArray):
            raise RuntimeError(f"setitem: expected a cuda array or a number, got a "
                               f"{type(value).__name__} on the cpu; move it with .cuda() first")
        if value.dtype != target.dtype:
            value = value.astype(target.dtype)
        np.broadcast_shapes(value.shape, target.shape)
        target._copy_from(value)

    # ---- the NumPy protocol: ufuncs.py and functions.py do the work ----
    # (imported on first use: they import this module)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        from cunn._backends.cuda import ufuncs
        return ufuncs.array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        from cunn._backends.cuda import functions
        return functions.array_function(func, args, kwargs)

    def sum(self, axis=None, dtype=None, out=None, keepdims=False):
        return np.sum(self, axis=axis, dtype=dtype, out=out, keepdims=keepdims)

    def mean(self, axis=None, dtype=None, out=None, keepdims=False):
        return np.mean(self, axis=axis, dtype=dtype, out=out, keepdims=keepdims)

    def max(self, axis=None, out=None, keepdims=False):
        return np.max(self, axis=axis, out=out, keepdims=keepdims)

    def min(self, axis=None, out=None, keepdims=False):
        return np.min(self, axis=axis, out=out, keepdims=keepdims)

    def argmax(self, axis=None, out=None, keepdims=False):
        return np.argmax(self, axis=axis, out=out, keepdims=keepdims)

    def argmin(self, axis=None, out=None, keepdims=False):
        return np.argmin(self, axis=axis, out=out, keepdims=keepdims)

    def any(self, axis=None, keepdims=False):
        return np.any(self, axis=axis, keepdims=keepdims)

    def all(self, axis=None, keepdims=False):
        return np.all(self, axis=axis, keepdims=keepdims)

    def clip(self, min=None, max=None):  # noqa: A002
        return np.clip(self, min, max)


def _operator(ufunc, reflected=False, in_place=False):
    if in_place:
        def method(self, other):
            return ufunc(self, other, out=self)
    elif reflected:
        def method(self, other):
            return ufunc(other, self)
    else:
        def method(self, other):
            return ufunc(self, other)
    return method


for _name, _ufunc in (("add", np.add), ("sub", np.subtract), ("mul", np.multiply),
                      ("truediv", np.true_divide), ("pow", np.power),
                      ("floordiv", np.floor_divide), ("mod", np.remainder),
                      ("and", np.bitwise_and), ("or", np.bitwise_or)):
    setattr(DeviceArray, f"__{_name}__", _operator(_ufunc))
    setattr(DeviceArray, f"__r{_name}__", _operator(_ufunc, reflected=True))
    setattr(DeviceArray, f"__i{_name}__", _operator(_ufunc, in_place=True))
for _name, _ufunc in (("eq", np.equal), ("ne", np.not_equal), ("lt", np.less),
                      ("le", np.less_equal), ("gt", np.greater), ("ge", np.greater_equal)):
    setattr(DeviceArray, f"__{_name}__", _operator(_ufunc))
DeviceArray.__matmul__ = _operator(np.matmul)
DeviceArray.__neg__ = lambda self: np.negative(self)
DeviceArray.__pos__ = lambda self: self.copy()
DeviceArray.__abs__ = lambda self: np.absolute(self)
DeviceArray.__invert__ = lambda self: np.logical_not(self)
DeviceArray.__hash__ = None  # __eq__ is elementwise


# ---- helpers shared with ufuncs.py, functions.py and the backend ----

def _normalise_axis(axis, ndim):
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"an axis must be an int, got {type(axis).__name__}")
    rank = max(ndim, 1)
    if not -rank <= axis < rank:
        raise np.exceptions.AxisError(int(axis), ndim)
    return int(axis) % rank


def _resolve_shape(shape, size):
    shape = tuple(int(operator.index(dim)) for dim in shape)
    if shape.count(-1) > 1 or any(dim < -1 for dim in shape):
        raise ValueError(f"reshape: invalid shape {shape}")
    known = math.prod(dim for dim in shape if dim != -1)
    if -1 in shape:
        if known == 0 or size % known:
            raise ValueError(f"cannot reshape an array of size {size} into shape {shape}")
        shape = tuple(size // known if dim == -1 else dim for dim in shape)
    elif known != size:
        raise ValueError(f"cannot reshape an array of size {size} into shape {shape}")
    return shape


def _row_index(key):
    """The integer index array of ``x[indices]`` (a device array, or host ints copied to
    the device, as PyTorch takes CPU index tensors for cuda ones), else None."""
    if isinstance(key, tuple) and len(key) == 1:
        key = key[0]
    if isinstance(key, DeviceArray):
        indices = key
    elif isinstance(key, list) or (isinstance(key, np.ndarray) and key.ndim):
        host = np.asarray(key)
        if host.dtype.kind not in "iu":
            return None  # masks and others: refused by _expand_key
        indices = to_device(host.astype(np.int64))
    else:
        return None
    if indices.dtype.kind not in "iu":
        raise TypeError("indexing a cuda array with a mask is not supported (its result's "
                        "size depends on the values); index with integers, or on the cpu")
    return indices


def _expand_key(key, ndim):
    """``key`` as a tuple of ints, slices and None covering every axis (Ellipsis expanded);
    TypeError for the advanced indexing a cuda array does not do."""
    if not isinstance(key, tuple):
        key = (key,)
    for part in key:
        if part is None or part is Ellipsis or isinstance(part, slice):
            continue
        if isinstance(part, (bool, np.bool_)) or not isinstance(part, (int, np.integer)):
            raise TypeError(f"indexing a cuda array with {type(part).__name__} (advanced "
                            "indexing by arrays, lists or masks) is not supported; use ints "
                            "and slices, or index on the cpu")
    if key.count(Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    indexed = sum(1 for part in key if part is not None and part is not Ellipsis)
    if indexed > ndim:
        raise IndexError(f"too many indices for array: array is {ndim}-dimensional, but "
                         f"{indexed} were indexed")
    fill = (slice(None),) * (ndim - indexed)
    if Ellipsis in key:
        position = key.index(Ellipsis)
        return key[:position] + fill + key[position + 1:]
    return key + fill


def broadcast_strides(array, shape):
    """Element strides reading ``array`` as if broadcast to ``shape`` (0 on new and
    stretched axes); ValueError when it does not broadcast."""
    lead = len(shape) - array.ndim
    if lead < 0:
        raise ValueError(f"operands could not be broadcast together: {array.shape} to {shape}")
    strides = [0] * lead
    for size, stride, target in zip(array.shape, array.strides, shape[lead:]):
        if size == target:
            strides.append(stride if size != 1 else 0)
        elif size == 1:
            strides.append(0)
        else:
            raise ValueError(f"operands could not be broadcast together: {array.shape} to "
                             f"{shape}")
    return tuple(strides)


def _fill_value(value, dtype):
    return float(value) if dtype.kind == "f" else int(value)


# ---- creation ----

def empty(shape, dtype=FLOAT32):
    """An uninitialised contiguous device array."""
    shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
    if any(size < 0 for size in shape):
        raise ValueError(f"empty: negative dimensions are not allowed, got {shape}")
    dtype = device_dtype(dtype, "empty")
    return DeviceArray(_Storage(math.prod(shape) * dtype.itemsize), shape, dtype)


def full(shape, value, dtype=FLOAT32):
    out = empty(shape, dtype)
    out.fill(value)
    return out


def zeros(shape, dtype=FLOAT32):
    return full(shape, 0, dtype)


def to_device(array, dtype=None):
    """A device copy of host data ``array`` (an ndarray, or anything np.asarray takes), in
    ``dtype`` when given."""
    if isinstance(array, DeviceArray):
        return array if dtype is None else array.astype(dtype, copy=False)
    host = np.asarray(array, dtype=dtype)
    device_dtype(host.dtype, "to_device")
    host = np.asarray(host, order="C")  # ascontiguousarray would make a 0-d array 1-d
    out = empty(host.shape, host.dtype)
    if host.size:
        out.runtime.copy_from_host(out.ptr, host)
    return out
