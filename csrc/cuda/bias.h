// Bias of a linear or convolution layer on the device, data viewed as (outer, channels,
// inner) (twin: numpy_ref/gemm.py bias_grad).
#pragma once

#include <cstdint>

namespace cunn::cuda {

// out[o, c, i] += bias[c]
void bias_add(float* out, const float* bias, std::int64_t outer, std::int64_t channels,
              std::int64_t inner);
// out[c] = sum over o and i of grad[o, c, i], in a fixed order (accumulated in double).
void bias_grad(float* out, const float* grad, std::int64_t outer, std::int64_t channels,
               std::int64_t inner);

}  // namespace cunn::cuda
