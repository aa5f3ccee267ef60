// Softmax and log-softmax over the middle axis of (outer, length, inner) on the device
// (twin: numpy_ref/softmax.py). Backward takes the forward's output y:
//   softmax:     dx = y * (dy - sum(dy * y))
//   log_softmax: dx = dy - exp(y) * sum(dy)
#pragma once

#include <cstdint>

namespace cunn::cuda {

void softmax_forward(float* out, const float* x, std::int64_t outer, std::int64_t length,
                     std::int64_t inner, bool log);
void softmax_backward(float* grad_input, const float* grad_output, const float* output,
                      std::int64_t outer, std::int64_t length, std::int64_t inner, bool log);

}  // namespace cunn::cuda
