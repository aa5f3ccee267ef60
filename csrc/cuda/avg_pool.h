// Average pooling on the device (NCHW seen as planes of H x W); the twin is
// cunn/_backends/numpy_ref/avg_pool.py. Plain C++ so the binding needs no CUDA headers.
#pragma once

#include <cstdint>

#include "cuda/pool_shape.h"

namespace cunn::cuda {

// out (planes, OH, OW): window sums over the zero-padded input divided by kh * kw
// (count_include_pad) or by the number of window positions inside the input.
void avg_pool2d_forward(const PoolShape& s, float* out, const float* x, bool count_include_pad);
void avg_pool2d_backward(const PoolShape& s, float* grad_input, const float* grad_output,
                         bool count_include_pad);

// PyTorch's adaptive windows [floor(i * H / OH), ceil((i + 1) * H / OH)) (likewise for
// columns), each averaged over its own area. Only planes, height, width, out_h and out_w
// of `s` are read.
void adaptive_avg_pool2d_forward(const PoolShape& s, float* out, const float* x);
void adaptive_avg_pool2d_backward(const PoolShape& s, float* grad_input,
                                  const float* grad_output);

}  // namespace cunn::cuda
