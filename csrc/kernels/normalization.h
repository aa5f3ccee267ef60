// Batch and layer normalisation, float32, C-contiguous, forward and backward.
//
// Batch norm: x is (N, C, L) (L = H * W for images, 1 for (N, C) features); per channel c,
//   statistics:  mean[c] = Σ x / M,  var[c] = Σ (x - mean)² / M   (M = N * L, biased)
//   forward:     y = x * scale[c] + shift[c],  scale = invstd * weight, shift = bias - mean * scale,
//                invstd = 1 / sqrt(var + eps)  (PyTorch's CPU transform, weight 1 / bias 0 if absent)
//   backward:    grad_bias = Σ g,  grad_weight = Σ g * (x - mean) * invstd, and
//                batch statistics: grad_x = (g - Σg / M - (x - mean) * invstd² * Σ g(x - mean) / M)
//                                           * invstd * weight
//                fixed statistics (eval): grad_x = g * invstd * weight
// Layer norm: x is (M, D), normalised over each row of D:
//   forward:  mean[m], invstd[m] = 1 / sqrt(biased var + eps), y = (x - mean) * invstd * w + b
//   backward: xhat = (x - mean) * invstd, h = g * w,
//             grad_x = invstd * (h - Σh / D - xhat * Σ(h * xhat) / D),
//             grad_weight = Σ_m g * xhat, grad_bias = Σ_m g
// Sums run in a fixed order (double accumulators over rows, 8 float lanes inside a row), so
// results do not depend on the thread count. Must match cunn/_backends/numpy_ref/
// normalization.py to float32 rounding.
#pragma once

#include <cstdint>

namespace cunn::kernels {

struct ChannelShape {
  int64_t batch, channels, inner;  // N, C, L
};

// mean and biased var (C,) of each channel.
void batch_norm_statistics(const ChannelShape& s, const float* x, float* mean, float* var);
// weight / bias may be null (1 / 0). invstd (C,) is written too.
void batch_norm_forward(const ChannelShape& s, const float* x, const float* mean, const float* var,
                        const float* weight, const float* bias, float eps, float* out,
                        float* invstd);
void batch_norm_backward(const ChannelShape& s, const float* grad_output, const float* x,
                         const float* mean, const float* invstd, const float* weight,
                         bool batch_statistics, float* grad_x, float* grad_weight,
                         float* grad_bias);

void layer_norm_forward(int64_t rows, int64_t size, const float* x, const float* weight,
                        const float* bias, float eps, float* out, float* mean, float* invstd);
void layer_norm_backward(int64_t rows, int64_t size, const float* grad_output, const float* x,
                         const float* mean, const float* invstd, const float* weight,
                         float* grad_x, float* grad_weight, float* grad_bias);

}  // namespace cunn::kernels
