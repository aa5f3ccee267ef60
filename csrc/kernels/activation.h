// Pointwise activations on contiguous float32 arrays of n elements, forward
// and backward, matching PyTorch's definitions:
//   relu(x) = x > 0 ? x : 0 (NaN passes through), grad = x > 0 ? g : 0
//   leaky_relu(x) = x > 0 ? x : slope * x,       grad = x > 0 ? g : slope * g
//   sigmoid(x) = 1 / (1 + exp(-x)),              grad = g * y * (1 - y)
//   tanh(x),                                      grad = g * (1 - y * y)
// (y is the forward output). Also the vector exp used by softmax and the losses.
// sigmoid, tanh and exp have AVX2 / AVX-512 versions chosen by active_isa().
#pragma once

#include <cstdint>

namespace cunn::kernels {

void relu_forward(const float* x, float* out, int64_t n);
void relu_backward(const float* grad_output, const float* x, float* grad_input, int64_t n);
void leaky_relu_forward(const float* x, float* out, int64_t n, float negative_slope);
void leaky_relu_backward(const float* grad_output, const float* x, float* grad_input, int64_t n,
                         float negative_slope);
void sigmoid_forward(const float* x, float* out, int64_t n);
void sigmoid_backward(const float* grad_output, const float* output, float* grad_input,
                      int64_t n);
void tanh_forward(const float* x, float* out, int64_t n);
void tanh_backward(const float* grad_output, const float* output, float* grad_input, int64_t n);

// data[i] = exp(data[i]) on the calling thread (callers parallelise around it).
// exp(-inf) = 0; results below FLT_MIN may flush to 0 on the SIMD paths.
void exp_inplace(float* data, int64_t n);

// The per-ISA versions (defined in activation_avx2.cpp / activation_avx512.cpp).
namespace avx2 {
void sigmoid(const float* x, float* out, int64_t n);
void tanh(const float* x, float* out, int64_t n);
void exp_inplace(float* data, int64_t n);
}  // namespace avx2
namespace avx512 {
void sigmoid(const float* x, float* out, int64_t n);
void tanh(const float* x, float* out, int64_t n);
void exp_inplace(float* data, int64_t n);
}  // namespace avx512

}  // namespace cunn::kernels
