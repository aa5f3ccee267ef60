// Elementwise kernels; each element is one formula, matching NumPy's ufunc of the same
// name (maximum/minimum propagate NaN, sign(NaN) is NaN, integer ops wrap).
// The op is a kernel argument: every thread takes the same branch of the switch.
#include <cuda_runtime.h>

#include <stdexcept>

#include "cuda/elementwise.h"
#include "cuda/launch.cuh"
#include "cuda/strided.cuh"

namespace cunn::cuda {
namespace {

__device__ inline float arithmetic(BinaryOp op, float a, float b) {
  switch (op) {
    case BinaryOp::add: return a + b;
    case BinaryOp::sub: return a - b;
    case BinaryOp::mul: return a * b;
    case BinaryOp::div: return a / b;
    case BinaryOp::maximum: return nan_maximum(a, b);
    case BinaryOp::minimum: return nan_minimum(a, b);
    default: return powf(a, b);  // BinaryOp::pow
  }
}

__device__ inline std::int64_t arithmetic(BinaryOp op, std::int64_t a, std::int64_t b) {
  // Through unsigned so overflow wraps as in NumPy instead of being undefined.
  const auto ua = static_cast<unsigned long long>(a), ub = static_cast<unsigned long long>(b);
  switch (op) {
    case BinaryOp::add: return static_cast<std::int64_t>(ua + ub);
    case BinaryOp::sub: return static_cast<std::int64_t>(ua - ub);
    case BinaryOp::mul: return static_cast<std::int64_t>(ua * ub);
    case BinaryOp::maximum: return a > b ? a : b;
    default: return a < b ? a : b;  // BinaryOp::minimum (div and pow refused by the host)
  }
}

template <class T>
__device__ inline std::uint8_t compare(BinaryOp op, T a, T b) {
  switch (op) {
    case BinaryOp::eq: return a == b;
    case BinaryOp::ne: return a != b;
    case BinaryOp::lt: return a < b;
    case BinaryOp::le: return a <= b;
    case BinaryOp::gt: return a > b;
    default: return a >= b;  // BinaryOp::ge
  }
}

template <class T>
__global__ void binary_kernel(BinaryOp op, T* out, const T* a, const T* b, std::int64_t count,
                              StridedLayout<2> layout) {
  for (std::int64_t i = global_thread_index(); i < count; i += grid_stride()) {
    std::int64_t offsets[2];
    offsets_of<2>(i, layout, offsets);
    out[i] = arithmetic(op, a[offsets[0]], b[offsets[1]]);
  }
}

template <class T>
__global__ void compare_kernel(BinaryOp op, std::uint8_t* out, const T* a, const T* b,
                               std::int64_t count, StridedLayout<2> layout) {
  for (std::int64_t i = global_thread_index(); i < count; i += grid_stride()) {
    std::int64_t offsets[2];
    offsets_of<2>(i, layout, offsets);
    out[i] = compare(op, a[offsets[0]], b[offsets[1]]);
  }
}

template <class T>
void launch_binary(BinaryOp op, void* out, const void* a, const void* b, std::int64_t count,
                   const StridedLayout<2>& layout) {
  const T* a_data = static_cast<const T*>(a);
  const T* b_data = static_cast<const T*>(b);
  if (is_comparison(op)) {
    compare_kernel<T><<<blocks_for(count), kThreads>>>(op, static_cast<std::uint8_t*>(out),
                                                       a_data, b_data, count, layout);
    check_launch("binary (comparison)");
  } else {
    binary_kernel<T><<<blocks_for(count), kThreads>>>(op, static_cast<T*>(out), a_data, b_data,
                                                      count, layout);
    check_launch("binary");
  }
}

__device__ inline float apply_unary(UnaryOp op, float x) {
  switch (op) {
    case UnaryOp::neg: return -x;
    case UnaryOp::exp: return expf(x);
    case UnaryOp::log: return logf(x);
    case UnaryOp::sqrt: return sqrtf(x);
    case UnaryOp::abs: return fabsf(x);
    case UnaryOp::sign: return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : x);  // keeps 0, -0, NaN
    case UnaryOp::square: return x * x;
    default: return 1.0f / x;  // UnaryOp::reciprocal
  }
}

__global__ void unary_kernel(UnaryOp op, float* out, const float* x, std::int64_t count) {
  for (std::int64_t i = global_thread_index(); i < count; i += grid_stride())
    out[i] = apply_unary(op, x[i]);
}

__global__ void scalar_kernel(BinaryOp op, float* out, const float* x, std::int64_t count,
                              float value, bool reverse) {
  for (std::int64_t i = global_thread_index(); i < count; i += grid_stride())
    out[i] = reverse ? arithmetic(op, value, x[i]) : arithmetic(op, x[i], value);
}

__global__ void scalar_compare_kernel(BinaryOp op, std::uint8_t* out, const float* x,
                                      std::int64_t count, float value, bool reverse) {
  for (std::int64_t i = global_thread_index(); i < count; i += grid_stride())
    out[i] = reverse ? compare(op, value, x[i]) : compare(op, x[i], value);
}

template <class Out, class In>
__global__ void cast_kernel(Out* out, const In* x, std::int64_t count) {
  for (std::int64_t i = global_thread_index(); i < count; i += grid_stride())
    out[i] = static_cast<Out>(x[i]);
}

// float -> uint8 goes through int64 (truncate, then keep the low byte) as NumPy does for
// values in range; a direct float -> uint8 conversion of a negative value is undefined.
template <>
__global__ void cast_kernel<std::uint8_t, float>(std::uint8_t* out, const float* x,
                                                 std::int64_t count) {
  for (std::int64_t i = global_thread_index(); i < count; i += grid_stride())
    out[i] = static_cast<std::uint8_t>(static_cast<std::int64_t>(x[i]));
}

template <class Out, class In>
void launch_cast(void* out, const void* x, std::int64_t count) {
  cast_kernel<Out, In><<<blocks_for(count), kThreads>>>(static_cast<Out*>(out),
                                                        static_cast<const In*>(x), count);
  check_launch("cast");
}

template <class Out>
void cast_from(DType x_dtype, void* out, const void* x, std::int64_t count) {
  switch (x_dtype) {
    case DType::float32: launch_cast<Out, float>(out, x, count); break;
    case DType::int64: launch_cast<Out, std::int64_t>(out, x, count); break;
    case DType::uint8: launch_cast<Out, std::uint8_t>(out, x, count); break;
  }
}

__global__ void where_kernel(float* out, const std::uint8_t* condition, const float* a,
                             const float* b, std::int64_t count) {
  for (std::int64_t i = global_thread_index(); i < count; i += grid_stride())
    out[i] = condition[i] ? a[i] : b[i];
}

}  // namespace

void binary(BinaryOp op, void* out, const void* a, const std::int64_t* a_strides,
            const void* b, const std::int64_t* b_strides, int ndim, const std::int64_t* shape,
            DType dtype) {
  std::int64_t count = 1;
  for (int d = 0; d < ndim; ++d) count *= shape[d];
  if (count == 0) return;
  const std::int64_t* strides[2] = {a_strides, b_strides};
  const StridedLayout<2> layout = collapse<2>(ndim, shape, strides);
  if (dtype == DType::float32) {
    launch_binary<float>(op, out, a, b, count, layout);
  } else if (dtype == DType::int64) {
    if (op == BinaryOp::div || op == BinaryOp::pow)
      throw std::invalid_argument("binary: div and pow take float32 operands only");
    launch_binary<std::int64_t>(op, out, a, b, count, layout);
  } else {
    throw std::invalid_argument("binary: dtype must be float32 or int64");
  }
}

void unary(UnaryOp op, float* out, const float* x, std::int64_t count) {
  if (count == 0) return;
  unary_kernel<<<blocks_for(count), kThreads>>>(op, out, x, count);
  check_launch("unary");
}

void scalar(BinaryOp op, void* out, const float* x, std::int64_t count, float value,
            bool reverse) {
  if (count == 0) return;
  if (is_comparison(op)) {
    scalar_compare_kernel<<<blocks_for(count), kThreads>>>(
        op, static_cast<std::uint8_t*>(out), x, count, value, reverse);
    check_launch("scalar (comparison)");
  } else {
    scalar_kernel<<<blocks_for(count), kThreads>>>(op, static_cast<float*>(out), x, count, value,
                                                   reverse);
    check_launch("scalar");
  }
}

void cast(void* out, DType out_dtype, const void* x, DType x_dtype, std::int64_t count) {
  if (count == 0) return;
  switch (out_dtype) {
    case DType::float32: cast_from<float>(x_dtype, out, x, count); break;
    case DType::int64: cast_from<std::int64_t>(x_dtype, out, x, count); break;
    case DType::uint8: cast_from<std::uint8_t>(x_dtype, out, x, count); break;
  }
}

void where(float* out, const std::uint8_t* condition, const float* a, const float* b,
           std::int64_t count) {
  if (count == 0) return;
  where_kernel<<<blocks_for(count), kThreads>>>(out, condition, a, b, count);
  check_launch("where");
}

}  // namespace cunn::cuda
