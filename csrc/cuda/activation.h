// Activations and their gradients on the device (twins: numpy_ref/activation.py and
// numpy_ref/smooth_activation.py). `saved` is what the backward reads: the output for
// sigmoid and tanh, the input x for every other kind.
#pragma once

#include <cstdint>

namespace cunn::cuda {

// param0 / param1: leaky_relu (negative_slope, -), gelu (0 exact erf | 1 tanh form, -),
// elu (alpha, -), softplus (beta, threshold); unused otherwise.
enum class Activation { relu, leaky_relu, sigmoid, tanh, gelu, elu, silu, softplus };

void activation_forward(Activation kind, float* out, const float* x, std::int64_t count,
                        float param0, float param1);
void activation_backward(Activation kind, float* grad_input, const float* grad_output,
                         const float* saved, std::int64_t count, float param0, float param1);

}  // namespace cunn::cuda
