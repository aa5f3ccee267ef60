// SGD, Adam/AdamW and RMSprop steps; the math and the reference to match are in optim.h.
// The loops are plain float code that the compiler vectorises (sqrt and divide
// included, with -fno-math-errno); they are memory bound, so wider hand-written
// SIMD would not pay. Option flags are template parameters so every inner loop
// is branch-free and matches one PyTorch code path exactly.
#include "kernels/optim.h"

#include <algorithm>
#include <cmath>

#include "dispatch/parallel.h"

namespace cunn::kernels {
namespace {

// Elements per thread chunk: an update touches 3-5 floats per element, so a
// chunk this size costs tens of microseconds, well above the fork/join cost.
constexpr int64_t kGrain = 1 << 15;

// Calls body(tensor, begin, end) for every slice of every tensor, threading
// over the total element count rather than over tensors.
template <class Tensor, class Body>
void for_each_slice(const std::vector<Tensor>& tensors, const Body& body) {
  std::vector<int64_t> offsets(tensors.size() + 1, 0);
  for (size_t i = 0; i < tensors.size(); ++i) offsets[i + 1] = offsets[i] + tensors[i].numel;
  parallel_for(0, offsets.back(), kGrain, [&](int64_t lo, int64_t hi) {
    size_t index = static_cast<size_t>(
        std::upper_bound(offsets.begin(), offsets.end(), lo) - offsets.begin() - 1);
    while (lo < hi) {
      const int64_t stop = std::min(hi, offsets[index + 1]);
      if (stop > lo) body(tensors[index], lo - offsets[index], stop - offsets[index]);
      lo = stop;
      ++index;
    }
  });
}

// torch.lerp: start + weight * (end - start) for |weight| < 0.5, otherwise
// end - (1 - weight) * (end - start), which is more accurate near weight 1.
inline float lerp(float start, float end, float weight, bool small_weight) {
  const float difference = end - start;
  return small_weight ? start + weight * difference : end - difference * (1.0f - weight);
}

template <bool kDecay, bool kMomentum, bool kFirstStep, bool kNesterov>
void sgd_slice(const SgdTensor& t, int64_t begin, int64_t end, float neg_lr, float momentum,
               float one_minus_dampening, float weight_decay) {
  float* param = t.param;
  const float* grad = t.grad;
  float* buffer = t.momentum_buffer;
  for (int64_t i = begin; i < end; ++i) {
    float d = grad[i];
    if (kDecay) d = d + weight_decay * param[i];
    if (kMomentum) {
      const float b = kFirstStep ? d : buffer[i] * momentum + one_minus_dampening * d;
      buffer[i] = b;
      d = kNesterov ? d + momentum * b : b;
    }
    param[i] = param[i] + neg_lr * d;
  }
}

template <bool kDecay, bool kMomentum, bool kFirstStep>
auto pick_sgd(bool nesterov) {
  return nesterov ? &sgd_slice<kDecay, kMomentum, kFirstStep, true>
                  : &sgd_slice<kDecay, kMomentum, kFirstStep, false>;
}

template <bool kDecay, bool kMomentum>
auto pick_sgd(bool first_step, bool nesterov) {
  return first_step ? pick_sgd<kDecay, kMomentum, true>(nesterov)
                    : pick_sgd<kDecay, kMomentum, false>(nesterov);
}

// kDecay: 0 none, 1 L2 (added to the gradient), 2 decoupled (AdamW).
template <int kDecay, bool kSmallWeight>
void adam_slice(const AdamTensor& t, int64_t begin, int64_t end, float decay_factor,
                float weight_decay, float one_minus_beta1, float beta2, float one_minus_beta2,
                float bias_correction2_sqrt, float eps, float neg_step_size) {
  float* param = t.param;
  const float* grad = t.grad;
  float* exp_avg = t.exp_avg;
  float* exp_avg_sq = t.exp_avg_sq;
  for (int64_t i = begin; i < end; ++i) {
    float p = param[i];
    float g = grad[i];
    if (kDecay == 2) p = p * decay_factor;
    if (kDecay == 1) g = g + weight_decay * p;
    const float m = lerp(exp_avg[i], g, one_minus_beta1, kSmallWeight);
    const float v = exp_avg_sq[i] * beta2 + one_minus_beta2 * g * g;
    const float denom = std::sqrt(v) / bias_correction2_sqrt + eps;
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
    param[i] = p + neg_step_size * m / denom;
  }
}

template <bool kDecay, bool kCentered, bool kMomentum, bool kSmallWeight>
void rmsprop_slice(const RmspropTensor& t, int64_t begin, int64_t end, float neg_lr, float alpha,
                   float one_minus_alpha, float eps, float weight_decay, float momentum) {
  float* param = t.param;
  const float* grad = t.grad;
  float* square_avg = t.square_avg;
  float* buffer = t.momentum_buffer;
  float* grad_avg = t.grad_avg;
  for (int64_t i = begin; i < end; ++i) {
    float g = grad[i];
    if (kDecay) g = g + weight_decay * param[i];
    const float s = square_avg[i] * alpha + one_minus_alpha * g * g;
    square_avg[i] = s;
    float avg;
    if (kCentered) {
      const float mean = lerp(grad_avg[i], g, one_minus_alpha, kSmallWeight);
      grad_avg[i] = mean;
      avg = std::sqrt(s - mean * mean) + eps;
    } else {
      avg = std::sqrt(s) + eps;
    }
    if (kMomentum) {
      const float b = buffer[i] * momentum + g / avg;
      buffer[i] = b;
      param[i] = param[i] + neg_lr * b;
    } else {
      param[i] = param[i] + neg_lr * g / avg;
    }
  }
}

template <bool kDecay, bool kCentered>
auto pick_rmsprop(bool momentum, bool small_weight) {
  if (momentum)
    return small_weight ? &rmsprop_slice<kDecay, kCentered, true, true>
                        : &rmsprop_slice<kDecay, kCentered, true, false>;
  return small_weight ? &rmsprop_slice<kDecay, kCentered, false, true>
                      : &rmsprop_slice<kDecay, kCentered, false, false>;
}

}  // namespace

void sgd_step(const std::vector<SgdTensor>& tensors, double lr, double momentum,
              double dampening, double weight_decay, bool nesterov, bool first_step) {
  const bool decay = weight_decay != 0.0;
  const bool use_momentum = momentum != 0.0;
  auto slice = decay ? (use_momentum ? pick_sgd<true, true>(first_step, nesterov)
                                     : pick_sgd<true, false>(false, false))
                     : (use_momentum ? pick_sgd<false, true>(first_step, nesterov)
                                     : pick_sgd<false, false>(false, false));
  const float neg_lr = static_cast<float>(-lr);
  const float momentum_f = static_cast<float>(momentum);
  const float one_minus_dampening = static_cast<float>(1.0 - dampening);
  const float weight_decay_f = static_cast<float>(weight_decay);
  for_each_slice(tensors, [&](const SgdTensor& t, int64_t begin, int64_t end) {
    slice(t, begin, end, neg_lr, momentum_f, one_minus_dampening, weight_decay_f);
  });
}

void adam_step(const std::vector<AdamTensor>& tensors, double lr, double beta1, double beta2,
               double eps, double weight_decay, int64_t step, bool decoupled_weight_decay) {
  const double step_d = static_cast<double>(step);
  const double bias_correction1 = 1.0 - std::pow(beta1, step_d);
  const double bias_correction2 = 1.0 - std::pow(beta2, step_d);
  const float neg_step_size = static_cast<float>(-(lr / bias_correction1));
  const float bias_correction2_sqrt = static_cast<float>(std::pow(bias_correction2, 0.5));
  const float one_minus_beta1 = static_cast<float>(1.0 - beta1);
  const bool small_weight = std::abs(one_minus_beta1) < 0.5f;
  const int decay = weight_decay == 0.0 ? 0 : (decoupled_weight_decay ? 2 : 1);
  using Slice = void (*)(const AdamTensor&, int64_t, int64_t, float, float, float, float, float,
                         float, float, float);
  static constexpr Slice kSlices[3][2] = {
      {&adam_slice<0, false>, &adam_slice<0, true>},
      {&adam_slice<1, false>, &adam_slice<1, true>},
      {&adam_slice<2, false>, &adam_slice<2, true>}};
  const Slice slice = kSlices[decay][small_weight ? 1 : 0];
  const float decay_factor = static_cast<float>(1.0 - lr * weight_decay);
  const float weight_decay_f = static_cast<float>(weight_decay);
  const float beta2_f = static_cast<float>(beta2);
  const float one_minus_beta2 = static_cast<float>(1.0 - beta2);
  const float eps_f = static_cast<float>(eps);
  for_each_slice(tensors, [&](const AdamTensor& t, int64_t begin, int64_t end) {
    slice(t, begin, end, decay_factor, weight_decay_f, one_minus_beta1, beta2_f,
          one_minus_beta2, bias_correction2_sqrt, eps_f, neg_step_size);
  });
}

void rmsprop_step(const std::vector<RmspropTensor>& tensors, double lr, double alpha, double eps,
                  double weight_decay, double momentum, bool centered) {
  const float one_minus_alpha = static_cast<float>(1.0 - alpha);
  const bool small_weight = std::abs(one_minus_alpha) < 0.5f;
  const bool decay = weight_decay != 0.0;
  const bool use_momentum = momentum > 0.0;
  auto slice = decay ? (centered ? pick_rmsprop<true, true>(use_momentum, small_weight)
                                 : pick_rmsprop<true, false>(use_momentum, small_weight))
                     : (centered ? pick_rmsprop<false, true>(use_momentum, small_weight)
                                 : pick_rmsprop<false, false>(use_momentum, small_weight));
  const float neg_lr = static_cast<float>(-lr);
  const float alpha_f = static_cast<float>(alpha);
  const float eps_f = static_cast<float>(eps);
  const float weight_decay_f = static_cast<float>(weight_decay);
  const float momentum_f = static_cast<float>(momentum);
  for_each_slice(tensors, [&](const RmspropTensor& t, int64_t begin, int64_t end) {
    slice(t, begin, end, neg_lr, alpha_f, one_minus_alpha, eps_f, weight_decay_f, momentum_f);
  });
}

}  // namespace cunn::kernels
