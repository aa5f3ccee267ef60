// Elementwise kernels on the device (twins: NumPy's ufuncs; numpy_ref/elementwise.py).
// Plain C++: the binding parses op and dtype names into these enums.
#pragma once

#include <cstdint>

namespace cunn::cuda {

enum class DType { float32, int64, uint8 };

// Arithmetic ops keep the operand dtype; comparisons (eq .. ge) write uint8 0/1.
enum class BinaryOp { add, sub, mul, div, maximum, minimum, pow, eq, ne, lt, le, gt, ge };
inline bool is_comparison(BinaryOp op) { return op >= BinaryOp::eq; }

enum class UnaryOp { neg, exp, log, sqrt, abs, sign, square, reciprocal };

// out (contiguous, `shape`, ndim <= 8) = a op b, a and b read with element strides
// (0 on broadcast axes). dtype float32 or int64 (div and pow: float32 only).
void binary(BinaryOp op, void* out, const void* a, const std::int64_t* a_strides,
            const void* b, const std::int64_t* b_strides, int ndim, const std::int64_t* shape,
            DType dtype);
void unary(UnaryOp op, float* out, const float* x, std::int64_t count);
// out = x op value, or value op x when `reverse`; out is float32, or uint8 for comparisons.
void scalar(BinaryOp op, void* out, const float* x, std::int64_t count, float value,
            bool reverse);
// out = x converted as C++ (and NumPy's astype) converts: float -> int truncates toward 0.
void cast(void* out, DType out_dtype, const void* x, DType x_dtype, std::int64_t count);
// out = condition ? a : b (condition uint8, nonzero is true).
void where(float* out, const std::uint8_t* condition, const float* a, const float* b,
           std::int64_t count);

}  // namespace cunn::cuda
