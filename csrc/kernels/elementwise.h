// Binary float32 arithmetic with NumPy broadcasting: out = a (op) b, where out
// has the broadcast shape and is C-contiguous. The caller (the binding) works
// out the broadcast shape and gives each input element strides over it, with
// stride 0 on broadcast axes. Must match numpy's float32 + - * / exactly
// (one IEEE operation per element, no reciprocal tricks).
#pragma once

#include <cstdint>

namespace cunn::kernels {

enum class BinaryOp { add, sub, mul, div };

void binary(BinaryOp op, int64_t ndim, const int64_t* shape, const float* a,
            const int64_t* a_strides, const float* b, const int64_t* b_strides, float* out);

}  // namespace cunn::kernels
