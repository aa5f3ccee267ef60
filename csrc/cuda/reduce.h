// Reductions along one axis on the device (twin: numpy_ref/reduce.py). x is contiguous and
// viewed as (outer, length, inner); results are (outer, inner). Fixed summation order (no
// atomics), so a result is the same on every run.
#pragma once

#include <cstdint>

#include "cuda/elementwise.h"

namespace cunn::cuda {

// out = x summed over `length`; dtype float32 (accumulated in double) or int64 (wraps).
// length 0 writes zeros.
void sum(void* out, const void* x, std::int64_t outer, std::int64_t length, std::int64_t inner,
         DType dtype);
// values (float32) and indices (int64, may be nullptr) of the maximum over `length` >= 1:
// the first index among equal maxima; a NaN is the maximum, the first NaN's index.
void max(float* values, std::int64_t* indices, const float* x, std::int64_t outer,
         std::int64_t length, std::int64_t inner);

}  // namespace cunn::cuda
