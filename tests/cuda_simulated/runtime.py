"""SimulatedRuntime: every function of ``cunn._C.cuda`` (the spec is docs/cuda.md) in NumPy,
with host memory standing in for device memory, so the cuda backend and device tensors run
and are tested on a machine without a GPU.

Pointers are the real addresses of aligned host blocks, so the Python side computes with
them exactly as it does with device pointers. Every pointer a function reads or writes is
checked to lie inside a block handed out by ``malloc`` (an out-of-bounds access raises here,
where on a GPU it would corrupt memory). New blocks are filled with 0xFF bytes (NaN as
float32), so a kernel that leaves part of its output unwritten shows up as NaN. The math is
the NumPy twins' (cunn/_backends/numpy_ref) on views of those blocks. A caching allocator is
emulated: freed blocks are kept per rounded size and handed out again, and
``memory_stats`` counts the mallocs that missed the cache.
"""
import numpy as np

from cunn._backends import numpy_ref as twin

__all__ = ["SimulatedRuntime"]

_ALIGNMENT = 256
_ROUNDING = 512  # block sizes are rounded up, as the caching allocator does
_DTYPES = {"float32": np.float32, "int64": np.int64, "uint8": np.uint8}
_ITEM_DTYPES = {1: np.uint8, 4: np.uint32, 8: np.uint64}  # copies move bits, not values
_BINARY = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide,
           "maximum": np.maximum, "minimum": np.minimum, "pow": np.power, "eq": np.equal,
           "ne": np.not_equal, "lt": np.less, "le": np.less_equal, "gt": np.greater,
           "ge": np.greater_equal}
_COMPARISONS = ("eq", "ne", "lt", "le", "gt", "ge")
_UNARY = {"neg": np.negative, "exp": np.exp, "log": np.log, "sqrt": np.sqrt, "abs": np.abs,
          "sign": np.sign, "square": np.square, "reciprocal": np.reciprocal}
_SCALAR_OPS = ("add", "sub", "mul", "div", "pow", "maximum", "minimum") + _COMPARISONS


def _choice(name, value, allowed, what="kind"):
    if value not in allowed:
        raise ValueError(f"{name}: unknown {what} {value!r} (expected one of "
                         f"{', '.join(map(str, allowed))})")
    return value


def _host(name, array, writeable=False):
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{name}: expected a NumPy array, got {type(array).__name__}")
    if not array.flags.c_contiguous or (writeable and not array.flags.writeable):
        raise ValueError(f"{name}: the host array must be C-contiguous"
                         + (" and writeable" if writeable else ""))
    return array


class SimulatedRuntime:
    """An object with the functions of ``cunn._C.cuda``; install it with
    ``cunn._backends.cuda.runtime.use_runtime(SimulatedRuntime())``."""

    def __init__(self):
        self._live = {}     # pointer -> the block handed out there
        self._cached = {}   # rounded size -> blocks freed and kept for reuse
        self.device_malloc_calls = 0
        self.cache_hits = 0
        self.launches = 0   # kernel launches (any function that computes on the device)

    # ---- runtime ----

    def device_count(self):
        return 1

    def device_name(self, index):
        self._check_device(index)
        return "Simulated GPU (NumPy)"

    def current_device(self):
        return 0

    def set_device(self, index):
        self._check_device(index)

    def synchronize(self):
        pass

    @staticmethod
    def _check_device(index):
        if index != 0:
            raise IndexError(f"invalid device index {index} (1 device)")

    # ---- memory ----

    def malloc(self, nbytes):
        if nbytes < 0:
            raise ValueError(f"malloc: nbytes must be >= 0, got {nbytes}")
        if nbytes == 0:
            return 0
        size = -(-nbytes // _ROUNDING) * _ROUNDING
        cached = self._cached.get(size)
        if cached:
            block = cached.pop()
            self.cache_hits += 1
        else:
            raw = np.empty(size + _ALIGNMENT, np.uint8)
            start = -raw.ctypes.data % _ALIGNMENT
            block = raw[start:start + size]
            self.device_malloc_calls += 1
        block.fill(0xFF)
        pointer = block.ctypes.data
        self._live[pointer] = block
        return pointer

    def free(self, pointer):
        if pointer == 0:
            return
        block = self._live.pop(pointer, None)
        if block is None:
            raise ValueError(f"free: {pointer:#x} is not a live block (freed twice?)")
        self._cached.setdefault(block.size, []).append(block)

    def empty_cache(self):
        self._cached.clear()

    def memory_stats(self):
        allocated = sum(block.size for block in self._live.values())
        cached = sum(block.size for blocks in self._cached.values() for block in blocks)
        return {"allocated_bytes": allocated, "reserved_bytes": allocated + cached,
                "device_malloc_calls": self.device_malloc_calls, "cache_hits": self.cache_hits}

    def _bytes(self, pointer, nbytes):
        """The live device bytes [pointer, pointer + nbytes) as a writeable uint8 view."""
        if nbytes < 0:
            raise ValueError(f"negative size {nbytes}")
        if nbytes == 0:
            return np.empty(0, np.uint8)
        if pointer == 0:
            raise ValueError("null device pointer")
        for start, block in self._live.items():
            if start <= pointer and pointer + nbytes <= start + block.size:
                return block[pointer - start:pointer - start + nbytes]
        raise ValueError(f"device access [{pointer:#x}, +{nbytes}) is outside every live block")

    def _array(self, pointer, count, dtype=np.float32, shape=None):
        """``count`` elements of ``dtype`` at ``pointer`` (shaped ``shape`` if given)."""
        dtype = np.dtype(dtype)
        array = self._bytes(pointer, count * dtype.itemsize).view(dtype)
        return array.reshape(shape) if shape is not None else array

    def _optional(self, pointer, count, dtype=np.float32, shape=None):
        return None if pointer == 0 else self._array(pointer, count, dtype, shape)

    def _strided(self, pointer, dtype, shape, strides):
        """A view of ``shape`` reading element strides (0 or negative allowed)."""
        dtype = np.dtype(dtype)
        shape, strides = tuple(shape), tuple(strides)
        if len(shape) != len(strides) or len(shape) > 8:
            raise ValueError(f"shape {shape} and strides {strides}: at most 8 dims, one stride "
                             "per dim")
        if 0 in shape:
            return np.empty(shape, dtype)
        low = sum(min(0, (size - 1) * stride) for size, stride in zip(shape, strides))
        high = sum(max(0, (size - 1) * stride) for size, stride in zip(shape, strides))
        span = self._array(pointer + low * dtype.itemsize, high - low + 1, dtype)
        return np.lib.stride_tricks.as_strided(
            span[-low:], shape, tuple(stride * dtype.itemsize for stride in strides))

    def _launch(self):
        self.launches += 1

    # ---- copies and fill ----

    def copy_from_host(self, dst, host_array):
        _host("copy_from_host", host_array)
        self._bytes(dst, host_array.nbytes)[:] = host_array.reshape(-1).view(np.uint8)

    def copy_to_host(self, host_array, src):
        _host("copy_to_host", host_array, writeable=True)
        host_array.reshape(-1).view(np.uint8)[:] = self._bytes(src, host_array.nbytes)

    def copy_device(self, dst, src, nbytes):
        self._launch()
        self._bytes(dst, nbytes)[:] = self._bytes(src, nbytes)

    def copy_strided(self, dst, src, itemsize, shape, strides):
        self._launch()
        dtype = _ITEM_DTYPES[_choice("copy_strided", itemsize, _ITEM_DTYPES, "itemsize")]
        count = int(np.prod(shape))
        self._array(dst, count, dtype, tuple(shape))[...] = self._strided(src, dtype, shape,
                                                                          strides)

    def fill(self, pointer, count, value, dtype):
        self._launch()
        self._array(pointer, count, _DTYPES[_choice("fill", dtype, _DTYPES, "dtype")])[:] = value

    # ---- elementwise ----

    def binary(self, op, out, a, a_strides, b, b_strides, shape, dtype):
        self._launch()
        function = _BINARY[_choice("binary", op, _BINARY, "op")]
        _choice("binary", dtype, ("float32", "int64"), "dtype")
        if op in ("div", "pow") and dtype != "float32":
            raise ValueError(f"binary: {op} takes float32 only")
        x = self._strided(a, _DTYPES[dtype], shape, a_strides)
        y = self._strided(b, _DTYPES[dtype], shape, b_strides)
        out_dtype = np.uint8 if op in _COMPARISONS else _DTYPES[dtype]
        with np.errstate(all="ignore"):
            result = function(x, y)
        self._array(out, int(np.prod(shape)), out_dtype, tuple(shape))[...] = result

    def unary(self, op, out, x, count):
        self._launch()
        function = _UNARY[_choice("unary", op, _UNARY, "op")]
        with np.errstate(all="ignore"):
            self._array(out, count)[:] = function(self._array(x, count))

    def scalar(self, op, out, x, count, value, reverse):
        self._launch()
        function = _BINARY[_choice("scalar", op, _SCALAR_OPS, "op")]
        values, number = self._array(x, count), np.float32(value)
        with np.errstate(all="ignore"):
            result = function(number, values) if reverse else function(values, number)
        self._array(out, count, np.uint8 if op in _COMPARISONS else np.float32)[:] = result

    def cast(self, out, out_dtype, x, x_dtype, count):
        self._launch()
        source = self._array(x, count, _DTYPES[_choice("cast", x_dtype, _DTYPES, "dtype")])
        with np.errstate(all="ignore"):
            self._array(out, count, _DTYPES[_choice("cast", out_dtype, _DTYPES, "dtype")])[:] = \
                source

    def where(self, out, condition, a, b, count):
        self._launch()
        self._array(out, count)[:] = np.where(self._array(condition, count, np.uint8) != 0,
                                              self._array(a, count), self._array(b, count))

    # ---- reduce ----

    def sum(self, out, x, outer, length, inner, dtype):
        self._launch()
        values = self._array(x, outer * length * inner,
                             _DTYPES[_choice("sum", dtype, ("float32", "int64"), "dtype")],
                             (outer, length, inner))
        self._array(out, outer * inner, values.dtype, (outer, inner))[...] = twin.sum(values, 1)

    def max(self, values, indices, x, outer, length, inner):
        self._launch()
        data = self._array(x, outer * length * inner, shape=(outer, length, inner))
        maxima, positions = twin.max(data, 1)
        self._array(values, outer * inner, shape=(outer, inner))[...] = maxima
        if indices:
            self._array(indices, outer * inner, np.int64, (outer, inner))[...] = positions

    # ---- GEMM and bias ----

    def _matrix(self, pointer, rows, cols, leading, transposed):
        """op(X) of the row-major matrix stored at ``pointer`` with leading dimension
        ``leading``: X is (rows, cols), or (cols, rows) read transposed."""
        if transposed:
            return self._strided(pointer, np.float32, (cols, rows), (leading, 1)).T
        return self._strided(pointer, np.float32, (rows, cols), (leading, 1))

    def gemm(self, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
        self.gemm_strided_batched(trans_a, trans_b, m, n, k, alpha, a, lda, 0, b, ldb, 0,
                                  beta, c, ldc, 0, 1)

    def gemm_strided_batched(self, trans_a, trans_b, m, n, k, alpha, a, lda, stride_a, b, ldb,
                             stride_b, beta, c, ldc, stride_c, batch):
        self._launch()
        for name, leading, row in (("lda", lda, m if trans_a else k), ("ldb", ldb, k if trans_b else n),
                                   ("ldc", ldc, n)):
            if min(m, n, k, batch) < 0 or leading < max(row, 1):
                raise ValueError(f"gemm: {name} ({leading}) must be >= {max(row, 1)} and sizes "
                                 f">= 0")
        if not (m and n):
            return
        for index in range(batch):
            product = np.zeros((m, n), np.float32)
            if k:
                product = self._matrix(a + 4 * index * stride_a, m, k, lda, trans_a) @ \
                    self._matrix(b + 4 * index * stride_b, k, n, ldb, trans_b)
            out = self._strided(c + 4 * index * stride_c, np.float32, (m, n), (ldc, 1))
            result = np.float32(alpha) * product
            if beta != 0:  # beta == 0 never reads C (NaN there must not leak)
                result += np.float32(beta) * out
            out[...] = result

    def bias_add(self, out, bias, outer, channels, inner):
        self._launch()
        values = self._array(out, outer * channels * inner, shape=(outer, channels, inner))
        values += self._array(bias, channels)[None, :, None]

    def bias_grad(self, out, grad, outer, channels, inner):
        self._launch()
        grads = self._array(grad, outer * channels * inner, shape=(outer, channels, inner))
        # Summed in double, as the kernel does (NumPy's float32 sum over 10^5 rows drifts).
        self._array(out, channels)[:] = grads.sum(axis=(0, 2), dtype=np.float64)

    # ---- activations and softmax ----

    _ACTIVATIONS = ("relu", "leaky_relu", "sigmoid", "tanh", "gelu", "elu", "silu", "softplus")

    @staticmethod
    def _activation_arguments(kind, param0, param1):
        return {"leaky_relu": (param0,), "gelu": ("none" if param0 == 0 else "tanh",),
                "elu": (param0,), "softplus": (param0, param1)}.get(kind, ())

    def activation_forward(self, kind, out, x, count, param0, param1):
        self._launch()
        _choice("activation_forward", kind, self._ACTIVATIONS)
        function = getattr(twin, kind + "_forward")
        self._array(out, count)[:] = function(
            self._array(x, count), *self._activation_arguments(kind, param0, param1))

    def activation_backward(self, kind, grad_input, grad_output, saved, count, param0, param1):
        self._launch()
        _choice("activation_backward", kind, self._ACTIVATIONS)
        function = getattr(twin, kind + "_backward")
        self._array(grad_input, count)[:] = function(
            self._array(grad_output, count), self._array(saved, count),
            *self._activation_arguments(kind, param0, param1))

    def softmax_forward(self, out, x, outer, length, inner, log):
        self._launch()
        shape = (outer, length, inner)
        function = twin.log_softmax_forward if log else twin.softmax_forward
        self._array(out, outer * length * inner, shape=shape)[...] = function(
            self._array(x, outer * length * inner, shape=shape), 1)

    def softmax_backward(self, grad_input, grad_output, output, outer, length, inner, log):
        self._launch()
        count, shape = outer * length * inner, (outer, length, inner)
        function = twin.log_softmax_backward if log else twin.softmax_backward
        self._array(grad_input, count, shape=shape)[...] = function(
            self._array(grad_output, count, shape=shape), self._array(output, count, shape=shape),
            1)

    # ---- losses ----

    def nll_forward(self, losses, weights, error, log_probs, labels, class_weight, n, c,
                    ignore_index):
        self._launch()
        probabilities = self._array(log_probs, n * c, shape=(n, c))
        label = self._array(labels, n, np.int64)
        class_weights = self._optional(class_weight, c)
        loss_out, weight_out = self._array(losses, n), self._array(weights, n)
        for row in range(n):
            target = int(label[row])
            if target == ignore_index or not 0 <= target < c:
                if target != ignore_index:
                    self._array(error, 1, np.int32)[0] = 1
                loss_out[row] = weight_out[row] = 0
                continue
            weight = np.float32(1) if class_weights is None else class_weights[target]
            loss_out[row] = -weight * probabilities[row, target]
            weight_out[row] = weight

    def nll_backward(self, grad_log_probs, grad_output, grad_output_stride, divisor, labels,
                     class_weight, n, c, ignore_index):
        self._launch()
        grad = self._array(grad_log_probs, n * c, shape=(n, c))
        grad[...] = 0
        upstream = self._strided(grad_output, np.float32, (n,), (grad_output_stride,))
        label = self._array(labels, n, np.int64)
        class_weights = self._optional(class_weight, c)
        scale = np.float32(1) if divisor == 0 else self._array(divisor, 1)[0]
        for row in range(n):
            target = int(label[row])
            if target == ignore_index or not 0 <= target < c:
                continue
            weight = np.float32(1) if class_weights is None else class_weights[target]
            grad[row, target] = -weight * upstream[row] / scale

    _POINTWISE = {"mse": "mse_loss", "l1": "l1_loss", "smooth_l1": "smooth_l1_loss",
                  "huber": "huber_loss", "bce": "binary_cross_entropy",
                  "bce_with_logits": "binary_cross_entropy_with_logits", "kl_div": "kl_div",
                  "kl_div_log_target": "kl_div"}

    def _pointwise_options(self, kind, weight, pos_weight, count, param):
        """(keyword arguments for the twin, a weight the twin does not apply itself)."""
        weights = self._optional(weight, count)
        options, extra = {}, None
        if kind == "smooth_l1":
            options["beta"] = param
        elif kind == "huber":
            options["delta"] = param
        elif kind.startswith("kl_div"):
            options["log_target"] = kind == "kl_div_log_target"
        if kind == "bce_with_logits":
            options["pos_weight"] = self._optional(pos_weight, count)
        if kind.startswith("bce"):
            options["weight"] = weights
        else:
            extra = weights
        return options, extra

    def pointwise_loss_forward(self, kind, out, input, target, weight, pos_weight, count, param):
        self._launch()
        name = self._POINTWISE[_choice("pointwise_loss_forward", kind, self._POINTWISE)]
        options, extra = self._pointwise_options(kind, weight, pos_weight, count, param)
        losses = getattr(twin, name + "_forward")(self._array(input, count),
                                                  self._array(target, count), "none", **options)
        self._array(out, count)[:] = losses if extra is None else losses * extra

    def pointwise_loss_backward(self, kind, grad_input, grad_output, grad_output_stride, input,
                                target, weight, pos_weight, count, param, scale):
        self._launch()
        name = self._POINTWISE[_choice("pointwise_loss_backward", kind, self._POINTWISE)]
        options, extra = self._pointwise_options(kind, weight, pos_weight, count, param)
        upstream = np.ascontiguousarray(
            self._strided(grad_output, np.float32, (count,), (grad_output_stride,)))
        grads = getattr(twin, name + "_backward")(upstream, self._array(input, count),
                                                  self._array(target, count), "none", **options)
        if extra is not None:
            grads = grads * extra
        self._array(grad_input, count)[:] = grads * np.float32(scale)

    # ---- conv2d and pooling (H2) ----

    def _images(self, pointer, n, c, h, w):
        return self._array(pointer, n * c * h * w, shape=(n, c, h, w))

    @staticmethod
    def _conv_out(h, w, kh, kw, stride_h, stride_w, pad_h, pad_w):
        return (h + 2 * pad_h - kh) // stride_h + 1, (w + 2 * pad_w - kw) // stride_w + 1

    def conv2d_forward(self, out, x, weight, bias, n, c, h, w, o, kh, kw, stride_h, stride_w,
                       pad_h, pad_w):
        self._launch()
        inputs, weights = self._images(x, n, c, h, w), self._images(weight, o, c, kh, kw)
        oh, ow = self._conv_out(h, w, kh, kw, stride_h, stride_w, pad_h, pad_w)
        self._array(out, n * o * oh * ow, shape=(n, o, oh, ow))[...] = twin.conv2d_forward(
            inputs, weights, self._optional(bias, o), (stride_h, stride_w), (pad_h, pad_w))

    def conv2d_backward_input(self, grad_input, grad_output, weight, n, c, h, w, o, kh, kw,
                              stride_h, stride_w, pad_h, pad_w):
        self._launch()
        weights = self._images(weight, o, c, kh, kw)
        oh, ow = self._conv_out(h, w, kh, kw, stride_h, stride_w, pad_h, pad_w)
        grads = self._array(grad_output, n * o * oh * ow, shape=(n, o, oh, ow))
        self._array(grad_input, n * c * h * w, shape=(n, c, h, w))[...] = \
            twin.conv2d_backward_input(grads, weights, (n, c, h, w), (stride_h, stride_w),
                                       (pad_h, pad_w))

    def conv2d_backward_weight(self, grad_weight, grad_output, x, n, c, h, w, o, kh, kw,
                               stride_h, stride_w, pad_h, pad_w):
        self._launch()
        inputs = self._images(x, n, c, h, w)
        oh, ow = self._conv_out(h, w, kh, kw, stride_h, stride_w, pad_h, pad_w)
        grads = self._array(grad_output, n * o * oh * ow, shape=(n, o, oh, ow))
        self._array(grad_weight, o * c * kh * kw, shape=(o, c, kh, kw))[...] = \
            twin.conv2d_backward_weight(grads, inputs, (o, c, kh, kw), (stride_h, stride_w),
                                        (pad_h, pad_w))

    def _planes(self, pointer, planes, h, w, dtype=np.float32):
        return self._array(pointer, planes * h * w, dtype, (1, planes, h, w))

    def max_pool2d_forward(self, out, indices, x, planes, h, w, oh, ow, kh, kw, stride_h,
                           stride_w, pad_h, pad_w):
        self._launch()
        values, positions = twin.max_pool2d_forward(self._planes(x, planes, h, w), (kh, kw),
                                                    (stride_h, stride_w), (pad_h, pad_w))
        self._planes(out, planes, oh, ow)[...] = values
        self._planes(indices, planes, oh, ow, np.int64)[...] = positions

    def max_pool2d_backward(self, grad_input, grad_output, indices, planes, h, w, oh, ow, kh, kw,
                            stride_h, stride_w, pad_h, pad_w):
        self._launch()
        self._planes(grad_input, planes, h, w)[...] = twin.max_pool2d_backward(
            self._planes(grad_output, planes, oh, ow), self._planes(indices, planes, oh, ow,
                                                                    np.int64), (1, planes, h, w))

    def avg_pool2d_forward(self, out, x, planes, h, w, oh, ow, kh, kw, stride_h, stride_w, pad_h,
                           pad_w, count_include_pad):
        self._launch()
        self._planes(out, planes, oh, ow)[...] = twin.avg_pool2d_forward(
            self._planes(x, planes, h, w), (kh, kw), (stride_h, stride_w), (pad_h, pad_w),
            bool(count_include_pad))

    def avg_pool2d_backward(self, grad_input, grad_output, planes, h, w, oh, ow, kh, kw,
                            stride_h, stride_w, pad_h, pad_w, count_include_pad):
        self._launch()
        self._planes(grad_input, planes, h, w)[...] = twin.avg_pool2d_backward(
            self._planes(grad_output, planes, oh, ow), (1, planes, h, w), (kh, kw),
            (stride_h, stride_w), (pad_h, pad_w), bool(count_include_pad))

    def adaptive_avg_pool2d_forward(self, out, x, planes, h, w, oh, ow):
        self._launch()
        self._planes(out, planes, oh, ow)[...] = twin.adaptive_avg_pool2d_forward(
            self._planes(x, planes, h, w), (oh, ow))

    def adaptive_avg_pool2d_backward(self, grad_input, grad_output, planes, h, w, oh, ow):
        self._launch()
        self._planes(grad_input, planes, h, w)[...] = twin.adaptive_avg_pool2d_backward(
            self._planes(grad_output, planes, oh, ow), (1, planes, h, w))

    # ---- dropout ----

    @staticmethod
    def uniform(seed, offset, count):
        """uniform(seed, offset + i) in [0, 1) for i < count: the device generator's
        reference (numpy_ref/philox.py) where this tree has it, else splitmix64 of (seed,
        counter), top 24 bits, which has the same statistics but not the device's bits."""
        try:
            from cunn._backends.numpy_ref import philox
        except ImportError:
            pass
        else:
            return philox.uniform(seed, offset, count)
        counters = np.arange(offset, offset + count, dtype=np.uint64)
        with np.errstate(over="ignore"):
            z = np.uint64(seed & 0xFFFFFFFFFFFFFFFF) + \
                (counters + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15)
            z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            z = z ^ (z >> np.uint64(31))
        return (z >> np.uint64(40)).astype(np.float32) * np.float32(1.0 / (1 << 24))

    def dropout_mask(self, mask, count, p, seed, offset):
        self._launch()
        self._array(mask, count, np.uint8)[:] = self.uniform(seed, offset, count) >= np.float32(p)

    def dropout_forward(self, out, x, mask, count, scale):
        self._launch()
        self._array(out, count)[:] = twin.dropout_forward(
            self._array(x, count), self._array(mask, count, np.uint8), scale)

    def dropout_backward(self, grad_input, grad_output, mask, count, scale):
        self._launch()
        self._array(grad_input, count)[:] = twin.dropout_backward(
            self._array(grad_output, count), self._array(mask, count, np.uint8), scale)

    def dropout2d_forward(self, out, x, mask, planes, plane_size, scale):
        self._launch()
        self._array(out, planes * plane_size, shape=(1, planes, plane_size))[...] = \
            twin.dropout2d_forward(self._array(x, planes * plane_size,
                                               shape=(1, planes, plane_size)),
                                   self._array(mask, planes, np.uint8, (1, planes)), scale)

    def dropout2d_backward(self, grad_input, grad_output, mask, planes, plane_size, scale):
        self._launch()
        self._array(grad_input, planes * plane_size, shape=(1, planes, plane_size))[...] = \
            twin.dropout2d_backward(self._array(grad_output, planes * plane_size,
                                                shape=(1, planes, plane_size)),
                                    self._array(mask, planes, np.uint8, (1, planes)), scale)

    # ---- optimizer steps (one parameter tensor, in place) ----

    def _listed(self, pointer, count):
        return [] if pointer == 0 else [self._array(pointer, count)]

    def sgd_step(self, param, grad, momentum_buffer, count, lr, momentum, dampening,
                 weight_decay, nesterov, first_step):
        self._launch()
        twin.sgd_step_([self._array(param, count)], [self._array(grad, count)],
                       self._listed(momentum_buffer, count), lr, momentum, dampening,
                       weight_decay, nesterov, first_step)

    def adam_step(self, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, count, lr, beta1,
                  beta2, eps, weight_decay, step, decoupled_weight_decay):
        self._launch()
        twin.adam_step_([self._array(param, count)], [self._array(grad, count)],
                        [self._array(exp_avg, count)], [self._array(exp_avg_sq, count)], lr,
                        beta1, beta2, eps, weight_decay, step, decoupled_weight_decay,
                        self._listed(max_exp_avg_sq, count))

    def rmsprop_step(self, param, grad, square_avg, momentum_buffer, grad_avg, count, lr, alpha,
                     eps, weight_decay, momentum, centered):
        self._launch()
        twin.rmsprop_step_([self._array(param, count)], [self._array(grad, count)],
                           [self._array(square_avg, count)], self._listed(momentum_buffer, count),
                           self._listed(grad_avg, count), lr, alpha, eps, weight_decay, momentum,
                           centered)

    def adadelta_step(self, param, grad, square_avg, acc_delta, count, lr, rho, eps,
                      weight_decay):
        self._launch()
        twin.adadelta_step_([self._array(param, count)], [self._array(grad, count)],
                            [self._array(square_avg, count)], [self._array(acc_delta, count)],
                            lr, rho, eps, weight_decay)

    def adagrad_step(self, param, grad, state_sum, count, lr, lr_decay, weight_decay, eps, step):
        self._launch()
        twin.adagrad_step_([self._array(param, count)], [self._array(grad, count)],
                           [self._array(state_sum, count)], lr, lr_decay, weight_decay, eps, step)

    # ---- normalization ----

    def batch_norm_statistics(self, mean, var, x, n, c, inner):
        self._launch()
        means, variances = twin.batch_norm_statistics(
            self._array(x, n * c * inner, shape=(n, c, inner)))
        self._array(mean, c)[:] = means
        self._array(var, c)[:] = variances

    def batch_norm_forward(self, out, invstd, x, mean, var, weight, bias, n, c, inner, eps):
        self._launch()
        shape = (n, c, inner)
        result, inverse = twin.batch_norm_forward(
            self._array(x, n * c * inner, shape=shape), self._array(mean, c),
            self._array(var, c), self._optional(weight, c), self._optional(bias, c), eps)
        self._array(out, n * c * inner, shape=shape)[...] = result
        self._array(invstd, c)[:] = inverse

    def batch_norm_backward(self, grad_x, grad_weight, grad_bias, grad_output, x, mean, invstd,
                            weight, n, c, inner, batch_statistics):
        self._launch()
        shape = (n, c, inner)
        grads = twin.batch_norm_backward(
            self._array(grad_output, n * c * inner, shape=shape),
            self._array(x, n * c * inner, shape=shape), self._array(mean, c),
            self._array(invstd, c), self._optional(weight, c), bool(batch_statistics))
        for pointer, count, value in ((grad_x, n * c * inner, grads[0]), (grad_weight, c, grads[1]),
                                      (grad_bias, c, grads[2])):
            if pointer:
                self._array(pointer, count)[:] = value.reshape(-1)

    def layer_norm_forward(self, out, mean, invstd, x, weight, bias, rows, cols, eps):
        self._launch()
        result, means, inverses = twin.layer_norm_forward(
            self._array(x, rows * cols, shape=(rows, cols)), (cols,),
            self._optional(weight, cols), self._optional(bias, cols), eps)
        self._array(out, rows * cols, shape=(rows, cols))[...] = result
        self._array(mean, rows)[:] = means.reshape(-1)
        self._array(invstd, rows)[:] = inverses.reshape(-1)

    def layer_norm_backward(self, grad_x, grad_weight, grad_bias, grad_output, x, mean, invstd,
                            weight, rows, cols):
        self._launch()
        grads = twin.layer_norm_backward(
            self._array(grad_output, rows * cols, shape=(rows, cols)),
            self._array(x, rows * cols, shape=(rows, cols)), self._array(mean, rows),
            self._array(invstd, rows), self._optional(weight, cols), (cols,))
        for pointer, count, value in ((grad_x, rows * cols, grads[0]), (grad_weight, cols, grads[1]),
                                      (grad_bias, cols, grads[2])):
            if pointer and value is not None:
                self._array(pointer, count)[:] = value.reshape(-1)

    # ---- embedding ----

    def embedding_forward(self, out, error, weight, indices, count, num_embeddings, dim):
        self._launch()
        table = self._array(weight, num_embeddings * dim, shape=(num_embeddings, dim))
        rows = self._array(out, count * dim, shape=(count, dim))
        for position, index in enumerate(self._array(indices, count, np.int64)):
            if 0 <= index < num_embeddings:
                rows[position] = table[index]
            else:
                self._array(error, 1, np.int32)[0] = 1
                rows[position] = 0

    def embedding_backward(self, grad_weight, grad_output, indices, count, num_embeddings, dim,
                           padding_idx):
        self._launch()
        grads = self._array(grad_weight, num_embeddings * dim, shape=(num_embeddings, dim))
        grads[...] = 0
        rows = self._array(grad_output, count * dim, shape=(count, dim))
        for position, index in enumerate(self._array(indices, count, np.int64)):
            if 0 <= index < num_embeddings and index != padding_idx:
                grads[index] += rows[position]
