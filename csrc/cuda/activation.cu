// Activations, forward and backward, one formula per kind written as in the twin (same
// branches, same operation order), so results differ from NumPy only by the rounding of
// expf/tanhf/erff/log1pf.
#include <cuda_runtime.h>

#include "cuda/activation.h"
#include "cuda/launch.cuh"

namespace cunn::cuda {
namespace {

constexpr float kSqrtHalf = 0.70710678118654752f;        // sqrt(0.5)
constexpr float kSqrtTwoOverPi = 0.79788456080286536f;   // sqrt(2 / pi)
constexpr float kInvSqrtTwoPi = 0.39894228040143268f;    // 1 / sqrt(2 pi)
constexpr float kCubic = 0.044715f;
constexpr float kThreeCubic = 0.134145f;                // 3 * kCubic, rounded once as the twin

__device__ inline float forward(Activation kind, float x, float param0, float param1) {
  switch (kind) {
    case Activation::relu: return x < 0.0f ? 0.0f : x;  // keeps -0 and NaN, as the twin
    case Activation::leaky_relu: return x > 0.0f ? x : x * param0;
    case Activation::sigmoid: return sigmoid(x);
    case Activation::tanh: return tanhf(x);
    case Activation::gelu:
      if (param0 != 0.0f) {
        const float inner = kSqrtTwoOverPi * (x + kCubic * x * x * x);
        return 0.5f * x * (1.0f + tanhf(inner));
      }
      return 0.5f * x * (1.0f + erff(x * kSqrtHalf));
    case Activation::elu: return x > 0.0f ? x : param0 * expm1f(x);
    case Activation::silu: return x * sigmoid(x);
    default: {  // Activation::softplus: x itself above the threshold (as the twin's where)
      const float scaled = x * param0;
      return scaled > param1 ? x : log1pf(expf(scaled)) / param0;
    }
  }
}

// d out / d x times grad, from x, or from the output y for sigmoid and tanh.
__device__ inline float backward(Activation kind, float grad, float saved, float param0,
                                 float param1) {
  const float x = saved;
  switch (kind) {
    case Activation::relu: return x > 0.0f ? grad : 0.0f;
    case Activation::leaky_relu: return x > 0.0f ? grad : grad * param0;
    case Activation::sigmoid: return grad * saved * (1.0f - saved);
    case Activation::tanh: return grad * (1.0f - saved * saved);
    case Activation::gelu:
      if (param0 != 0.0f) {
        // d/dx of 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + c x^3)
        const float inner = kSqrtTwoOverPi * (x + kCubic * x * x * x);
        const float t = tanhf(inner);
        const float slope = kSqrtTwoOverPi * (1.0f + kThreeCubic * x * x);
        return grad * (0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * slope);
      } else {
        // d/dx of x Phi(x) = Phi(x) + x phi(x)
        const float cdf = 0.5f * (1.0f + erff(x * kSqrtHalf));
        const float pdf = kInvSqrtTwoPi * expf(-0.5f * x * x);
        return grad * (cdf + x * pdf);
      }
    case Activation::elu: return x > 0.0f ? grad : grad * param0 * expf(x);
    case Activation::silu: {
      // d/dx of x s(x) = s (1 + x (1 - s))
      const float s = sigmoid(x);
      return grad * (s * (1.0f + x * (1.0f - s)));
    }
    default: {  // Activation::softplus: d/dx log1p(e^(beta x)) / beta = sigmoid(beta x)
      const float scaled = x * param0;
      return scaled > param1 ? grad : grad * sigmoid(scaled);
    }
  }
}

__global__ void forward_kernel(Activation kind, float* out, const float* x, std::int64_t count,
                               float param0, float param1) {
  for (std::int64_t i = global_thread_index(); i < count; i += grid_stride())
    out[i] = forward(kind, x[i], param0, param1);
}

__global__ void backward_kernel(Activation kind, float* grad_input, const float* grad_output,
                                const float* saved, std::int64_t count, float param0,
                                float param1) {
  for (std::int64_t i = global_thread_index(); i < count; i += grid_stride())
    grad_input[i] = backward(kind, grad_output[i], saved[i], param0, param1);
}

}  // namespace

void activation_forward(Activation kind, float* out, const float* x, std::int64_t count,
                        float param0, float param1) {
  if (count == 0) return;
  forward_kernel<<<blocks_for(count), kThreads>>>(kind, out, x, count, param0, param1);
  check_launch("activation_forward");
}

void activation_backward(Activation kind, float* grad_input, const float* grad_output,
                         const float* saved, std::int64_t count, float param0, float param1) {
  if (count == 0) return;
  backward_kernel<<<blocks_for(count), kThreads>>>(kind, grad_input, grad_output, saved, count,
                                                   param0, param1);
  check_launch("activation_backward");
}

}  // namespace cunn::cuda
