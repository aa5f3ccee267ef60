// softmax / log_softmax along one axis of a C-contiguous float32 array viewed
// as (outer, n, inner), the softmax axis in the middle (inner = 1 for the
// last axis). Max-subtracted, so logits of +-100 are fine; -inf entries give 0
// (log: -inf); a slice that is all -inf, or holds a NaN or +inf, gives NaN,
// as PyTorch does.
//   softmax:      y = exp(x - max) / sum exp(x - max)
//                 grad_x = y * (g - sum(g * y))
//   log_softmax:  y = x - max - log(sum exp(x - max))
//                 grad_x = g - exp(y) * sum(g)
// Sums over the axis are accumulated in double. Must match the NumPy
// reference (cunn/_backends/numpy_ref/softmax.py) within float32 rounding.
#pragma once

#include <cstdint>

namespace cunn::kernels {

void softmax_forward(const float* x, float* out, int64_t outer, int64_t n, int64_t inner);
void log_softmax_forward(const float* x, float* out, int64_t outer, int64_t n, int64_t inner);
void softmax_backward(const float* grad_output, const float* output, float* grad_input,
                      int64_t outer, int64_t n, int64_t inner);
void log_softmax_backward(const float* grad_output, const float* output, float* grad_input,
                          int64_t outer, int64_t n, int64_t inner);

}  // namespace cunn::kernels
