// 2-D max pooling on the device (NCHW seen as planes of H x W); the twin is
// cunn/_backends/numpy_ref/pool.py. Plain C++ so the binding needs no CUDA headers.
#pragma once

#include <cstdint>

#include "cuda/pool_shape.h"

namespace cunn::cuda {

// out and indices (planes, OH, OW): each window's maximum and its position h * W + w in the
// plane. Padding is -inf; the first maximum wins ties and a NaN wins over numbers.
void max_pool2d_forward(const PoolShape& s, float* out, std::int64_t* indices, const float* x);
// grad_input (planes, H, W), every element written: the sum of grad_output over the
// windows whose index points at it.
void max_pool2d_backward(const PoolShape& s, float* grad_input, const float* grad_output,
                         const std::int64_t* indices);

}  // namespace cunn::cuda
