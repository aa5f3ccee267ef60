// 2-D average pooling, NCHW float32, C-contiguous, over `planes` = N * C planes of H x W.
//   avg_pool2d: window (i, j) covers rows [i*sh - ph, i*sh - ph + kh) and columns likewise;
//     out = Σ of the window's values inside the plane / divisor, the divisor kh * kw with
//     count_include_pad (PyTorch's default; ceil_mode is off, so no window leaves the padded
//     input), else the number of positions inside the plane.
//     backward: each input position gets grad_out / divisor from every window holding it.
//   adaptive_avg_pool2d: window (i, j) covers rows [floor(i * H / OH), ceil((i + 1) * H / OH))
//     and columns likewise (PyTorch's split, so windows may overlap); out = Σ / area.
// Sums run in the window's row-major order in float, as PyTorch's CPU kernel; the backward
// adds each output's share in output order, one plane per thread, so results do not depend
// on the thread count. Must match cunn/_backends/numpy_ref/avg_pool.py to float32 rounding.
#pragma once

#include <cstdint>

#include "kernels/pool.h"

namespace cunn::kernels {

void avg_pool2d_forward(const Pool2dShape& shape, bool count_include_pad, const float* x,
                        float* out);
void avg_pool2d_backward(const Pool2dShape& shape, bool count_include_pad,
                         const float* grad_output, float* grad_input);

void adaptive_avg_pool2d_forward(int64_t planes, int64_t height, int64_t width, int64_t out_h,
                                 int64_t out_w, const float* x, float* out);
void adaptive_avg_pool2d_backward(int64_t planes, int64_t height, int64_t width, int64_t out_h,
                                  int64_t out_w, const float* grad_output, float* grad_input);

}  // namespace cunn::kernels
