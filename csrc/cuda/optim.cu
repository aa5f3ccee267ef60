// Optimizer updates on the device (rules in optim.h). Every float operation goes through a
// round-to-nearest intrinsic (__fadd_rn, __fmul_rn, ...), which nvcc never fuses into a
// multiply-add, so each one is rounded exactly where the NumPy twin rounds it; one thread per
// element, no reductions, so results do not depend on the launch shape.
#include "cuda/optim.h"

#include <cmath>

#include "cuda/layer_common.cuh"

namespace cunn::cuda {
namespace {

using layers::blocks_for;
using layers::check_launch;
using layers::first_index;
using layers::grid_stride;
using layers::kThreads;

using layers::rounded::add;
using layers::rounded::div;
using layers::rounded::mul;
using layers::rounded::root;
using layers::rounded::sub;

// torch.lerp with a scalar weight: start + weight * (end - start) for |weight| < 0.5,
// otherwise end - (end - start) * (1 - weight).
__device__ inline float lerp(float start, float end, float weight, bool small_weight) {
  const float difference = sub(end, start);
  return small_weight ? add(start, mul(weight, difference))
                      : sub(end, mul(difference, sub(1.0f, weight)));
}

// torch.maximum: a NaN on either side gives NaN.
__device__ inline float nan_maximum(float a, float b) {
  if (isnan(b)) return b;
  return b > a ? b : a;
}

struct SgdScalars {
  float neg_lr, momentum, one_minus_dampening, weight_decay;
  bool decay, use_momentum, first_step, nesterov;
};

__global__ void sgd_kernel(float* param, const float* grad, float* buffer, std::int64_t count,
                           SgdScalars s) {
  for (std::int64_t i = first_index(); i < count; i += grid_stride()) {
    float d = grad[i];
    if (s.decay) d = add(d, mul(s.weight_decay, param[i]));
    if (s.use_momentum) {
      const float b =
          s.first_step ? d : add(mul(buffer[i], s.momentum), mul(s.one_minus_dampening, d));
      buffer[i] = b;
      d = s.nesterov ? add(d, mul(s.momentum, b)) : b;
    }
    param[i] = add(param[i], mul(s.neg_lr, d));
  }
}

struct AdamScalars {
  float decay_factor, weight_decay, one_minus_beta1, beta2, one_minus_beta2;
  float bias_correction2_sqrt, eps, neg_step_size;
  int decay;  // 0 none, 1 L2 (added to the gradient), 2 decoupled (AdamW)
  bool small_weight;
};

__global__ void adam_kernel(float* param, const float* grad, float* exp_avg, float* exp_avg_sq,
                            float* max_exp_avg_sq, std::int64_t count, AdamScalars s) {
  for (std::int64_t i = first_index(); i < count; i += grid_stride()) {
    float p = param[i];
    float g = grad[i];
    if (s.decay == 2) p = mul(p, s.decay_factor);
    if (s.decay == 1) g = add(g, mul(s.weight_decay, p));
    const float m = lerp(exp_avg[i], g, s.one_minus_beta1, s.small_weight);
    const float v = add(mul(exp_avg_sq[i], s.beta2), mul(mul(s.one_minus_beta2, g), g));
    float second_moment = v;
    if (max_exp_avg_sq != nullptr) {
      second_moment = nan_maximum(max_exp_avg_sq[i], v);
      max_exp_avg_sq[i] = second_moment;
    }
    const float denom = add(div(root(second_moment), s.bias_correction2_sqrt), s.eps);
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
    param[i] = add(p, div(mul(s.neg_step_size, m), denom));
  }
}

struct RmspropScalars {
  float neg_lr, alpha, one_minus_alpha, eps, weight_decay, momentum;
  bool decay, centered, use_momentum, small_weight;
};

__global__ void rmsprop_kernel(float* param, const float* grad, float* square_avg,
                               float* buffer, float* grad_avg, std::int64_t count,
                               RmspropScalars s) {
  for (std::int64_t i = first_index(); i < count; i += grid_stride()) {
    float g = grad[i];
    if (s.decay) g = add(g, mul(s.weight_decay, param[i]));
    const float sq = add(mul(square_avg[i], s.alpha), mul(mul(s.one_minus_alpha, g), g));
    square_avg[i] = sq;
    float avg;
    if (s.centered) {
      const float mean = lerp(grad_avg[i], g, s.one_minus_alpha, s.small_weight);
      grad_avg[i] = mean;
      avg = add(root(sub(sq, mul(mean, mean))), s.eps);
    } else {
      avg = add(root(sq), s.eps);
    }
    if (s.use_momentum) {
      const float b = add(mul(buffer[i], s.momentum), div(g, avg));
      buffer[i] = b;
      param[i] = add(param[i], mul(s.neg_lr, b));
    } else {
      param[i] = add(param[i], div(mul(s.neg_lr, g), avg));
    }
  }
}

struct AdadeltaScalars {
  float neg_lr, rho, one_minus_rho, eps, weight_decay;
  bool decay;
};

__global__ void adadelta_kernel(float* param, const float* grad, float* square_avg,
                                float* acc_delta, std::int64_t count, AdadeltaScalars s) {
  for (std::int64_t i = first_index(); i < count; i += grid_stride()) {
    float g = grad[i];
    if (s.decay) g = add(g, mul(s.weight_decay, param[i]));
    const float sq = add(mul(square_avg[i], s.rho), mul(mul(s.one_minus_rho, g), g));
    const float std_dev = root(add(sq, s.eps));
    const float delta = mul(div(root(add(acc_delta[i], s.eps)), std_dev), g);
    square_avg[i] = sq;
    acc_delta[i] = add(mul(acc_delta[i], s.rho), mul(mul(s.one_minus_rho, delta), delta));
    param[i] = add(param[i], mul(s.neg_lr, delta));
  }
}

struct AdagradScalars {
  float neg_clr, weight_decay, eps;
  bool decay;
};

__global__ void adagrad_kernel(float* param, const float* grad, float* state_sum,
                               std::int64_t count, AdagradScalars s) {
  for (std::int64_t i = first_index(); i < count; i += grid_stride()) {
    float g = grad[i];
    if (s.decay) g = add(g, mul(s.weight_decay, param[i]));
    const float total = add(state_sum[i], mul(g, g));
    state_sum[i] = total;
    param[i] = add(param[i], div(mul(s.neg_clr, g), add(root(total), s.eps)));
  }
}

}  // namespace

void sgd_step(float* param, const float* grad, float* momentum_buffer, std::int64_t count,
              double lr, double momentum, double dampening, double weight_decay, bool nesterov,
              bool first_step) {
  if (count == 0) return;
  SgdScalars s;
  s.neg_lr = static_cast<float>(-lr);
  s.momentum = static_cast<float>(momentum);
  s.one_minus_dampening = static_cast<float>(1.0 - dampening);
  s.weight_decay = static_cast<float>(weight_decay);
  s.decay = weight_decay != 0.0;
  s.use_momentum = momentum != 0.0;
  s.first_step = first_step;
  s.nesterov = nesterov;
  sgd_kernel<<<blocks_for(count), kThreads>>>(param, grad, momentum_buffer, count, s);
  check_launch("sgd_step");
}

void adam_step(float* param, const float* grad, float* exp_avg, float* exp_avg_sq,
               float* max_exp_avg_sq, std::int64_t count, double lr, double beta1, double beta2,
               double eps, double weight_decay, std::int64_t step, bool decoupled_weight_decay) {
  if (count == 0) return;
  const double step_d = static_cast<double>(step);
  const double bias_correction1 = 1.0 - std::pow(beta1, step_d);
  const double bias_correction2 = 1.0 - std::pow(beta2, step_d);
  AdamScalars s;
  s.neg_step_size = static_cast<float>(-(lr / bias_correction1));
  s.bias_correction2_sqrt = static_cast<float>(std::pow(bias_correction2, 0.5));
  s.decay_factor = static_cast<float>(1.0 - lr * weight_decay);
  s.weight_decay = static_cast<float>(weight_decay);
  s.one_minus_beta1 = static_cast<float>(1.0 - beta1);
  s.beta2 = static_cast<float>(beta2);
  s.one_minus_beta2 = static_cast<float>(1.0 - beta2);
  s.eps = static_cast<float>(eps);
  s.decay = weight_decay == 0.0 ? 0 : (decoupled_weight_decay ? 2 : 1);
  s.small_weight = std::fabs(s.one_minus_beta1) < 0.5f;
  adam_kernel<<<blocks_for(count), kThreads>>>(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq,
                                               count, s);
  check_launch("adam_step");
}

void rmsprop_step(float* param, const float* grad, float* square_avg, float* momentum_buffer,
                  float* grad_avg, std::int64_t count, double lr, double alpha, double eps,
                  double weight_decay, double momentum, bool centered) {
  if (count == 0) return;
  RmspropScalars s;
  s.neg_lr = static_cast<float>(-lr);
  s.alpha = static_cast<float>(alpha);
  s.one_minus_alpha = static_cast<float>(1.0 - alpha);
  s.eps = static_cast<float>(eps);
  s.weight_decay = static_cast<float>(weight_decay);
  s.momentum = static_cast<float>(momentum);
  s.decay = weight_decay != 0.0;
  s.centered = centered;
  s.use_momentum = momentum > 0.0;
  s.small_weight = std::fabs(s.one_minus_alpha) < 0.5f;
  rmsprop_kernel<<<blocks_for(count), kThreads>>>(param, grad, square_avg, momentum_buffer,
                                                  grad_avg, count, s);
  check_launch("rmsprop_step");
}

void adadelta_step(float* param, const float* grad, float* square_avg, float* acc_delta,
                   std::int64_t count, double lr, double rho, double eps, double weight_decay) {
  if (count == 0) return;
  AdadeltaScalars s;
  s.neg_lr = static_cast<float>(-lr);
  s.rho = static_cast<float>(rho);
  s.one_minus_rho = static_cast<float>(1.0 - rho);
  s.eps = static_cast<float>(eps);
  s.weight_decay = static_cast<float>(weight_decay);
  s.decay = weight_decay != 0.0;
  adadelta_kernel<<<blocks_for(count), kThreads>>>(param, grad, square_avg, acc_delta, count, s);
  check_launch("adadelta_step");
}

void adagrad_step(float* param, const float* grad, float* state_sum, std::int64_t count,
                  double lr, double lr_decay, double weight_decay, double eps, std::int64_t step) {
  if (count == 0) return;
  AdagradScalars s;
  // PyTorch computes the decayed lr in Python (double) from the step count.
  s.neg_clr = static_cast<float>(-(lr / (1.0 + static_cast<double>(step - 1) * lr_decay)));
  s.weight_decay = static_cast<float>(weight_decay);
  s.eps = static_cast<float>(eps);
  s.decay = weight_decay != 0.0;
  adagrad_kernel<<<blocks_for(count), kThreads>>>(param, grad, state_sum, count, s);
  check_launch("adagrad_step");
}

}  // namespace cunn::cuda
