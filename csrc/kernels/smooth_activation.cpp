// Smooth activations (math in smooth_activation.h): scalar C-library calls per element,
// threaded over fixed chunks. None of them is hot in the networks we measure, so there is
// no SIMD version; the chunking alone makes results independent of the thread count.
#include "kernels/smooth_activation.h"

#include <cmath>

#include "dispatch/parallel.h"

namespace cunn::kernels {
namespace {

// Transcendental calls cost ~5-20 ns per element: threads pay off from a few thousand.
constexpr int64_t kGrain = 4096;
constexpr float kSqrtHalf = 0.70710678118654752440f;
constexpr float kInvSqrtTwoPi = 0.39894228040143267794f;
constexpr float kSqrtTwoOverPi = 0.79788456080286535588f;
constexpr float kCubic = 0.044715f;

float sigmoid(float x) {
  const float e = std::exp(-std::fabs(x));
  const float s = 1.0f / (1.0f + e);
  return x >= 0.0f ? s : e * s;
}

template <class Body>
void pointwise(int64_t n, const Body& body) {
  parallel_for(0, n, kGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) body(i);
  });
}

}  // namespace

void gelu_forward(const float* x, float* out, int64_t n, bool tanh_form) {
  if (tanh_form) {
    pointwise(n, [&](int64_t i) {
      const float v = x[i];
      const float inner = kSqrtTwoOverPi * (v + kCubic * v * v * v);
      out[i] = 0.5f * v * (1.0f + std::tanh(inner));
    });
  } else {
    pointwise(n, [&](int64_t i) { out[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * kSqrtHalf)); });
  }
}

void gelu_backward(const float* grad_output, const float* x, float* grad_input, int64_t n,
                   bool tanh_form) {
  if (tanh_form) {
    pointwise(n, [&](int64_t i) {
      const float v = x[i];
      const float inner = kSqrtTwoOverPi * (v + kCubic * v * v * v);
      const float t = std::tanh(inner);
      const float slope = kSqrtTwoOverPi * (1.0f + 3.0f * kCubic * v * v);
      grad_input[i] = grad_output[i] * (0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * slope);
    });
  } else {
    pointwise(n, [&](int64_t i) {
      const float v = x[i];
      const float cdf = 0.5f * (1.0f + std::erf(v * kSqrtHalf));
      const float pdf = kInvSqrtTwoPi * std::exp(-0.5f * v * v);
      grad_input[i] = grad_output[i] * (cdf + v * pdf);
    });
  }
}

void elu_forward(const float* x, float* out, int64_t n, float alpha) {
  pointwise(n, [&](int64_t i) { out[i] = x[i] > 0.0f ? x[i] : alpha * std::expm1(x[i]); });
}

void elu_backward(const float* grad_output, const float* x, float* grad_input, int64_t n,
                  float alpha) {
  pointwise(n, [&](int64_t i) {
    grad_input[i] = x[i] > 0.0f ? grad_output[i] : grad_output[i] * alpha * std::exp(x[i]);
  });
}

void silu_forward(const float* x, float* out, int64_t n) {
  pointwise(n, [&](int64_t i) { out[i] = x[i] * sigmoid(x[i]); });
}

void silu_backward(const float* grad_output, const float* x, float* grad_input, int64_t n) {
  pointwise(n, [&](int64_t i) {
    const float s = sigmoid(x[i]);
    grad_input[i] = grad_output[i] * (s * (1.0f + x[i] * (1.0f - s)));
  });
}

void softplus_forward(const float* x, float* out, int64_t n, float beta, float threshold) {
  pointwise(n, [&](int64_t i) {
    const float scaled = x[i] * beta;
    out[i] = scaled > threshold ? x[i] : std::log1p(std::exp(scaled)) / beta;
  });
}

void softplus_backward(const float* grad_output, const float* x, float* grad_input, int64_t n,
                       float beta, float threshold) {
  pointwise(n, [&](int64_t i) {
    const float scaled = x[i] * beta;
    grad_input[i] = scaled > threshold ? grad_output[i] : grad_output[i] * sigmoid(scaled);
  });
}

}  // namespace cunn::kernels
