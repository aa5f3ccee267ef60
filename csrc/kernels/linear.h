// Fully connected layer kernels, row-major float32.
//   linear_forward: out (batch, out_features) = x (batch, in_features) @ weight.T + bias,
//                   weight (out_features, in_features), bias (out_features,) or null.
//   linear_backward: for grad_output (batch, out_features), any of grad_x (batch, in) =
//                   grad_output @ weight, grad_weight (out, in) = grad_output.T @ x and
//                   grad_bias (out,) = bias_grad over the batch; a null output is skipped.
//   bias_grad:      out[c] = sum over o, i of grad_output[o, c, i], grad_output viewed as
//                   (outer, channels, inner) -- (batch, features) for Linear (inner = 1),
//                   (N, C, H*W) for Conv2d. The sum order is fixed, so the result does not
//                   depend on the thread count.
// Must match cunn/_backends/numpy_ref/gemm.py.
#pragma once

#include <cstdint>

namespace cunn::kernels {

// relu: out = relu(x @ weight.T + bias), the ReLU applied as the GEMM finishes each block.
void linear_forward(const float* x, const float* weight, const float* bias, float* out,
                    int64_t batch, int64_t in_features, int64_t out_features,
                    bool relu = false);

void linear_backward(const float* grad_output, const float* x, const float* weight,
                     float* grad_x, float* grad_weight, float* grad_bias, int64_t batch,
                     int64_t in_features, int64_t out_features);

void bias_grad(const float* grad_output, float* out, int64_t outer, int64_t channels,
               int64_t inner);

}  // namespace cunn::kernels
