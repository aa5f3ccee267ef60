// Loss terms, each written as the twin writes it (numpy_ref/loss.py): the same branches
// and operation order, so results differ only by the rounding of logf/expf/log1pf.
#include <cuda_runtime.h>

#include "cuda/launch.cuh"
#include "cuda/loss.h"

namespace cunn::cuda {
namespace {

__global__ void nll_forward_kernel(float* losses, float* weights, std::int32_t* error,
                                   const float* log_probs, const std::int64_t* labels,
                                   const float* class_weight, std::int64_t n, std::int64_t c,
                                   std::int64_t ignore_index) {
  for (std::int64_t i = global_thread_index(); i < n; i += grid_stride()) {
    const std::int64_t label = labels[i];
    float loss = 0.0f, weight = 0.0f;
    if (label != ignore_index) {
      if (label < 0 || label >= c) {
        *error = 1;  // every writer stores the same word, so the race is harmless
      } else {
        weight = class_weight != nullptr ? class_weight[label] : 1.0f;
        // A zero weight contributes 0, even against a log-probability of -inf (the twin
        // skips zero coefficients).
        if (weight != 0.0f) loss = -weight * log_probs[i * c + label];
      }
    }
    losses[i] = loss;
    weights[i] = weight;
  }
}

__global__ void nll_backward_kernel(float* grad_log_probs, const float* grad_output,
                                    std::int64_t grad_output_stride, const float* divisor,
                                    const std::int64_t* labels, const float* class_weight,
                                    std::int64_t n, std::int64_t c, std::int64_t ignore_index) {
  const std::int64_t count = n * c;
  for (std::int64_t index = global_thread_index(); index < count; index += grid_stride()) {
    const std::int64_t i = index / c, j = index % c;
    const std::int64_t label = labels[i];
    float value = 0.0f;
    if (j == label && label != ignore_index) {  // j is in [0, c): a bad label never matches
      float scale = grad_output[i * grad_output_stride];
      if (divisor != nullptr) scale /= divisor[0];
      // twin: -scale * w
      value = -scale * (class_weight != nullptr ? class_weight[label] : 1.0f);
    }
    grad_log_probs[index] = value;
  }
}

// log(1 + e^-|x|): never overflows. (The maxima below are NumPy's: NaN propagates.)
__device__ inline float log1p_exp_neg_abs(float x) { return log1pf(expf(-fabsf(x))); }

__device__ inline float loss_term(PointwiseLoss kind, float x, float t, float pos_weight,
                                  bool has_pos_weight, float param) {
  switch (kind) {
    case PointwiseLoss::mse: {
      const float d = x - t;
      return d * d;
    }
    case PointwiseLoss::l1: return fabsf(x - t);
    case PointwiseLoss::smooth_l1: {
      const float z = fabsf(x - t);
      return z < param ? 0.5f * z * z / param : z - 0.5f * param;
    }
    case PointwiseLoss::huber: {
      const float z = fabsf(x - t);
      return z < param ? 0.5f * z * z : param * (z - 0.5f * param);
    }
    case PointwiseLoss::bce: {
      // Each log clamped at -100 (log 0 = -inf would make the loss infinite), as PyTorch.
      const float log_p = nan_maximum(logf(x), -100.0f);
      const float log_not_p = nan_maximum(log1pf(-x), -100.0f);
      return -(t * log_p + (1.0f - t) * log_not_p);
    }
    case PointwiseLoss::bce_with_logits:
      if (has_pos_weight) {
        const float log_weight = (pos_weight - 1.0f) * t + 1.0f;
        return (1.0f - t) * x + log_weight * (log1p_exp_neg_abs(x) + nan_maximum(-x, 0.0f));
      }
      // max(x, 0) - x t + log(1 + e^-|x|): log(1 + e^x) - x t without overflow
      return nan_maximum(x, 0.0f) - x * t + log1p_exp_neg_abs(x);
    case PointwiseLoss::kl_div: {
      // xlogy(t, t) - t x: 0 log 0 is 0
      const float t_log_t = t == 0.0f ? 0.0f : t * logf(t);
      return t_log_t - t * x;
    }
    default: return expf(t) * (t - x);  // PointwiseLoss::kl_div_log_target
  }
}

__device__ inline float loss_derivative(PointwiseLoss kind, float x, float t, float pos_weight,
                                        bool has_pos_weight, float param) {
  switch (kind) {
    case PointwiseLoss::mse: return 2.0f * (x - t);
    case PointwiseLoss::l1: {
      const float d = x - t;
      return d > 0.0f ? 1.0f : (d < 0.0f ? -1.0f : d);  // np.sign: 0 at 0, NaN stays NaN
    }
    case PointwiseLoss::smooth_l1: {
      const float d = x - t;
      return d <= -param ? -1.0f : (d >= param ? 1.0f : d / param);
    }
    case PointwiseLoss::huber: {
      const float d = x - t;
      return d <= -param ? -param : (d >= param ? param : d);
    }
    case PointwiseLoss::bce:
      // (x - t) / (x (1 - x)), the denominator clamped at 1e-12 as PyTorch
      return (x - t) / nan_maximum(x * (1.0f - x), 1e-12f);
    case PointwiseLoss::bce_with_logits:
      if (has_pos_weight) return ((pos_weight - 1.0f) * t + 1.0f) * sigmoid(x) - pos_weight * t;
      return sigmoid(x) - t;
    case PointwiseLoss::kl_div: return -t;
    default: return -expf(t);  // PointwiseLoss::kl_div_log_target
  }
}

__global__ void pointwise_forward_kernel(PointwiseLoss kind, float* out, const float* input,
                                         const float* target, const float* weight,
                                         const float* pos_weight, std::int64_t count,
                                         float param) {
  for (std::int64_t i = global_thread_index(); i < count; i += grid_stride()) {
    float loss = loss_term(kind, input[i], target[i],
                           pos_weight != nullptr ? pos_weight[i] : 1.0f, pos_weight != nullptr,
                           param);
    if (weight != nullptr) loss *= weight[i];
    out[i] = loss;
  }
}

__global__ void pointwise_backward_kernel(PointwiseLoss kind, float* grad_input,
                                          const float* grad_output,
                                          std::int64_t grad_output_stride, const float* input,
                                          const float* target, const float* weight,
                                          const float* pos_weight, std::int64_t count,
                                          float param, float scale) {
  for (std::int64_t i = global_thread_index(); i < count; i += grid_stride()) {
    float grad = loss_derivative(kind, input[i], target[i],
                                 pos_weight != nullptr ? pos_weight[i] : 1.0f,
                                 pos_weight != nullptr, param);
    grad = grad * grad_output[i * grad_output_stride] * scale;
    if (weight != nullptr) grad *= weight[i];
    grad_input[i] = grad;
  }
}

}  // namespace

void nll_forward(float* losses, float* weights, std::int32_t* error, const float* log_probs,
                 const std::int64_t* labels, const float* class_weight, std::int64_t n,
                 std::int64_t c, std::int64_t ignore_index) {
  if (n == 0) return;
  nll_forward_kernel<<<blocks_for(n), kThreads>>>(losses, weights, error, log_probs, labels,
                                                  class_weight, n, c, ignore_index);
  check_launch("nll_forward");
}

void nll_backward(float* grad_log_probs, const float* grad_output,
                  std::int64_t grad_output_stride, const float* divisor,
                  const std::int64_t* labels, const float* class_weight, std::int64_t n,
                  std::int64_t c, std::int64_t ignore_index) {
  const std::int64_t count = n * c;
  if (count == 0) return;
  nll_backward_kernel<<<blocks_for(count), kThreads>>>(grad_log_probs, grad_output,
                                                       grad_output_stride, divisor, labels,
                                                       class_weight, n, c, ignore_index);
  check_launch("nll_backward");
}

void pointwise_loss_forward(PointwiseLoss kind, float* out, const float* input,
                            const float* target, const float* weight, const float* pos_weight,
                            std::int64_t count, float param) {
  if (count == 0) return;
  pointwise_forward_kernel<<<blocks_for(count), kThreads>>>(kind, out, input, target, weight,
                                                            pos_weight, count, param);
  check_launch("pointwise_loss_forward");
}

void pointwise_loss_backward(PointwiseLoss kind, float* grad_input, const float* grad_output,
                             std::int64_t grad_output_stride, const float* input,
                             const float* target, const float* weight,
                             const float* pos_weight, std::int64_t count, float param,
                             float scale) {
  if (count == 0) return;
  pointwise_backward_kernel<<<blocks_for(count), kThreads>>>(
      kind, grad_input, grad_output, grad_output_stride, input, target, weight, pos_weight,
      count, param, scale);
  check_launch("pointwise_loss_backward");
}

}  // namespace cunn::cuda
