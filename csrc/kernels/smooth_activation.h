// Smooth pointwise activations on contiguous float32 arrays of n elements, forward and
// backward (the backward from the forward's input x), as PyTorch defines them:
//   gelu(x)            = x * Φ(x) = 0.5 x (1 + erf(x / √2)),
//                        grad = g * (Φ(x) + x * exp(-x² / 2) / √(2π))
//   gelu tanh form     = 0.5 x (1 + tanh(u)), u = √(2/π) (x + 0.044715 x³),
//                        grad = g * (0.5 (1 + t) + 0.5 x (1 - t²) √(2/π) (1 + 3 · 0.044715 x²))
//   elu(x; α)          = x > 0 ? x : α (exp(x) - 1),       grad = x > 0 ? g : g α exp(x)
//   silu(x)            = x σ(x),                            grad = g σ(x) (1 + x (1 - σ(x)))
//   softplus(x; β, τ)  = β x > τ ? x : log1p(exp(β x)) / β, grad = β x > τ ? g : g σ(β x)
// Must match cunn/_backends/numpy_ref/smooth_activation.py to a few float32 ulps (both
// call the C library's erf / exp / log1p / tanh in float).
#pragma once

#include <cstdint>

namespace cunn::kernels {

void gelu_forward(const float* x, float* out, int64_t n, bool tanh_form);
void gelu_backward(const float* grad_output, const float* x, float* grad_input, int64_t n,
                   bool tanh_form);
void elu_forward(const float* x, float* out, int64_t n, float alpha);
void elu_backward(const float* grad_output, const float* x, float* grad_input, int64_t n,
                  float alpha);
void silu_forward(const float* x, float* out, int64_t n);
void silu_backward(const float* grad_output, const float* x, float* grad_input, int64_t n);
void softplus_forward(const float* x, float* out, int64_t n, float beta, float threshold);
void softplus_backward(const float* grad_output, const float* x, float* grad_input, int64_t n,
                       float beta, float threshold);

}  // namespace cunn::kernels
