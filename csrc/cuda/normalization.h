// Batch and layer normalisation on the device; the twin is
// cunn/_backends/numpy_ref/normalization.py (math in csrc/kernels/normalization.h). Plain C++
// so the binding needs no CUDA headers.
//
// Batch norm: x (n, c, inner), per-channel statistics over the n * inner elements of a
// channel. Layer norm: x (rows, cols), normalised over each row. Sums are taken in double,
// in a fixed order (no atomics), and rounded to float where the twin rounds them.
#pragma once

#include <cstdint>

namespace cunn::cuda {

// mean, var (c,): biased variance taken around the rounded mean.
void batch_norm_statistics(float* mean, float* var, const float* x, std::int64_t n,
                           std::int64_t c, std::int64_t inner);
// out = x * scale[c] + shift[c], scale = invstd * weight, shift = bias - mean * scale;
// invstd (c,) = 1 / sqrt(var + eps) is written too. weight / bias may be null (1 / 0).
void batch_norm_forward(float* out, float* invstd, const float* x, const float* mean,
                        const float* var, const float* weight, const float* bias, std::int64_t n,
                        std::int64_t c, std::int64_t inner, float eps);
// grad_bias = Σ g, grad_weight = Σ g (x - mean) * invstd; grad_x as the twin for batch
// statistics (training) or fixed ones (eval). weight may be null.
void batch_norm_backward(float* grad_x, float* grad_weight, float* grad_bias,
                         const float* grad_output, const float* x, const float* mean,
                         const float* invstd, const float* weight, std::int64_t n,
                         std::int64_t c, std::int64_t inner, bool batch_statistics);

// out (rows, cols), mean and invstd (rows,). weight / bias (cols,) may be null.
void layer_norm_forward(float* out, float* mean, float* invstd, const float* x,
                        const float* weight, const float* bias, std::int64_t rows,
                        std::int64_t cols, float eps);
// grad_x (rows, cols); grad_weight and grad_bias (cols,) are both written or both null.
void layer_norm_backward(float* grad_x, float* grad_weight, float* grad_bias,
                         const float* grad_output, const float* x, const float* mean,
                         const float* invstd, const float* weight, std::int64_t rows,
                         std::int64_t cols);

}  // namespace cunn::cuda
