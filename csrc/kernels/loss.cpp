// Loss kernels (math in loss.h). cross_entropy reuses the softmax kernel for
// its log_probs and the vector exp for its gradient. Reduced losses sum their
// terms in double over fixed blocks of kBlock terms, blocks added in index
// order, so results do not change with the thread count.
#include "kernels/loss.h"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "dispatch/parallel.h"
#include "kernels/activation.h"
#include "kernels/softmax.h"

namespace cunn::kernels {
namespace {

// Loss terms cost a few ns each (log, exp): split across threads from ~8k.
constexpr int64_t kGrain = 8192;
constexpr int64_t kBlock = 4096;

// Writes term(i) for i < count to `loss` (none), or their sum / mean to loss[0];
// the mean divides by `divisor` (count unless given).
template <class Term>
void reduce_terms(int64_t count, LossReduction reduction, float* loss, const Term& term,
                  double divisor = -1.0) {
  if (reduction == LossReduction::none) {
    parallel_for(0, count, kGrain, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) loss[i] = term(i);
    });
    return;
  }
  const int64_t blocks = (count + kBlock - 1) / kBlock;
  std::vector<double> partial(blocks, 0.0);
  parallel_for(0, blocks, std::max<int64_t>(1, kGrain / kBlock), [&](int64_t lo, int64_t hi) {
    for (int64_t b = lo; b < hi; ++b) {
      double total = 0.0;
      const int64_t end = std::min(count, (b + 1) * kBlock);
      for (int64_t i = b * kBlock; i < end; ++i) total += static_cast<double>(term(i));
      partial[b] = total;
    }
  });
  double total = 0.0;
  for (double value : partial) total += value;
  // mean of nothing is 0 / 0 = NaN, as PyTorch.
  if (reduction == LossReduction::mean)
    total /= divisor < 0.0 ? static_cast<double>(count) : divisor;
  loss[0] = static_cast<float>(total);
}

// The gradient scale of term i: grad_output[i] (none), grad_output / count
// (mean) or grad_output (sum).
struct Scale {
  const float* grad_output;
  LossReduction reduction;
  float uniform;
  Scale(const float* grad, LossReduction how, int64_t count)
      : grad_output(grad), reduction(how),
        uniform(how == LossReduction::mean ? grad[0] / static_cast<float>(count) : grad[0]) {}
  float operator()(int64_t i) const {
    return reduction == LossReduction::none ? grad_output[i] : uniform;
  }
};

float stable_sigmoid(float x) {
  const float e = std::exp(-std::fabs(x));
  const float s = 1.0f / (1.0f + e);
  return x >= 0.0f ? s : e * s;
}

// xlogy(t, t): 0 at t == 0 (NaN stays NaN).
float t_log_t(float t) { return t == 0.0f ? 0.0f : t * std::log(t); }

// `parameter` is beta / delta, `pos_weight` 1 unless the option is given; kinds
// that do not use them ignore them.
template <PointwiseLoss kKind, bool kPosWeight = false>
float loss_term(float x, float t, float parameter = 0.0f, float pos_weight = 1.0f) {
  if (kKind == PointwiseLoss::smooth_l1) {
    const float z = std::fabs(x - t);
    return z < parameter ? 0.5f * z * z / parameter : z - 0.5f * parameter;
  }
  if (kKind == PointwiseLoss::huber) {
    const float z = std::fabs(x - t);
    return z < parameter ? 0.5f * z * z : parameter * (z - 0.5f * parameter);
  }
  if (kKind == PointwiseLoss::kl_div) return t_log_t(t) - t * x;
  if (kKind == PointwiseLoss::kl_div_log_target) return std::exp(t) * (t - x);
  if (kKind == PointwiseLoss::binary_cross_entropy_with_logits && kPosWeight) {
    const float log_weight = (pos_weight - 1.0f) * t + 1.0f;
    return (1.0f - t) * x +
           log_weight * (std::log1p(std::exp(-std::fabs(x))) + std::max(-x, 0.0f));
  }
  if (kKind == PointwiseLoss::mse) return (x - t) * (x - t);
  if (kKind == PointwiseLoss::l1) return std::fabs(x - t);
  if (kKind == PointwiseLoss::binary_cross_entropy)
    return -(t * std::max(std::log(x), -100.0f) +
             (1.0f - t) * std::max(std::log1p(-x), -100.0f));
  return std::max(x, 0.0f) - x * t + std::log1p(std::exp(-std::fabs(x)));
}

template <PointwiseLoss kKind, bool kPosWeight = false>
float gradient_term(float x, float t, float parameter = 0.0f, float pos_weight = 1.0f) {
  if (kKind == PointwiseLoss::smooth_l1) {
    const float d = x - t;
    return d <= -parameter ? -1.0f : (d >= parameter ? 1.0f : d / parameter);
  }
  if (kKind == PointwiseLoss::huber) {
    const float d = x - t;
    return d <= -parameter ? -parameter : (d >= parameter ? parameter : d);
  }
  if (kKind == PointwiseLoss::kl_div) return -t;
  if (kKind == PointwiseLoss::kl_div_log_target) return -std::exp(t);
  if (kKind == PointwiseLoss::binary_cross_entropy_with_logits && kPosWeight) {
    const float log_weight = (pos_weight - 1.0f) * t + 1.0f;
    return log_weight * stable_sigmoid(x) - pos_weight * t;
  }
  if (kKind == PointwiseLoss::mse) return 2.0f * (x - t);
  if (kKind == PointwiseLoss::l1) {
    const float d = x - t;
    return d > 0.0f ? 1.0f : (d < 0.0f ? -1.0f : d * 0.0f);  // sign; NaN stays NaN
  }
  if (kKind == PointwiseLoss::binary_cross_entropy)
    return (x - t) / std::max(x * (1.0f - x), 1e-12f);
  return stable_sigmoid(x) - t;
}

template <PointwiseLoss kKind>
void pointwise_forward(const float* input, const float* target, float* loss, int64_t n,
                       LossReduction reduction) {
  reduce_terms(n, reduction, loss, [&](int64_t i) { return loss_term<kKind>(input[i], target[i]); });
}

template <PointwiseLoss kKind>
void pointwise_backward(const float* grad_output, const float* input, const float* target,
                        float* grad_input, int64_t n, LossReduction reduction) {
  if (n == 0) return;
  const Scale scale(grad_output, reduction, n);
  parallel_for(0, n, kGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i)
      grad_input[i] = scale(i) * gradient_term<kKind>(input[i], target[i]);
  });
}

// The options path: the term scaled by weight[i], pos_weight[i] passed on.
template <PointwiseLoss kKind, bool kWeighted, bool kPosWeight>
void pointwise_options_forward(const float* input, const float* target, float* loss, int64_t n,
                               LossReduction reduction, const PointwiseOptions& options) {
  const float parameter = options.parameter;
  const float* weight = options.weight;
  const float* pos_weight = options.pos_weight;
  reduce_terms(n, reduction, loss, [&](int64_t i) {
    const float term = loss_term<kKind, kPosWeight>(input[i], target[i], parameter,
                                                    kPosWeight ? pos_weight[i] : 1.0f);
    return kWeighted ? term * weight[i] : term;
  });
}

template <PointwiseLoss kKind, bool kWeighted, bool kPosWeight>
void pointwise_options_backward(const float* grad_output, const float* input,
                                const float* target, float* grad_input, int64_t n,
                                LossReduction reduction, const PointwiseOptions& options) {
  if (n == 0) return;
  const Scale scale(grad_output, reduction, n);
  const float parameter = options.parameter;
  const float* weight = options.weight;
  const float* pos_weight = options.pos_weight;
  parallel_for(0, n, kGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      float g = scale(i) * gradient_term<kKind, kPosWeight>(input[i], target[i], parameter,
                                                            kPosWeight ? pos_weight[i] : 1.0f);
      grad_input[i] = kWeighted ? g * weight[i] : g;
    }
  });
}

// Calls body(kind constant) for the runtime kind (the options path's dispatch).
template <class Body>
void with_kind(PointwiseLoss kind, const Body& body) {
  using K = PointwiseLoss;
  switch (kind) {
    case K::mse: return body(std::integral_constant<K, K::mse>());
    case K::l1: return body(std::integral_constant<K, K::l1>());
    case K::binary_cross_entropy:
      return body(std::integral_constant<K, K::binary_cross_entropy>());
    case K::binary_cross_entropy_with_logits:
      return body(std::integral_constant<K, K::binary_cross_entropy_with_logits>());
    case K::smooth_l1: return body(std::integral_constant<K, K::smooth_l1>());
    case K::huber: return body(std::integral_constant<K, K::huber>());
    case K::kl_div: return body(std::integral_constant<K, K::kl_div>());
    case K::kl_div_log_target: return body(std::integral_constant<K, K::kl_div_log_target>());
  }
}

bool plain(PointwiseLoss kind, const PointwiseOptions& options) {
  return options.weight == nullptr && options.pos_weight == nullptr &&
         kind != PointwiseLoss::smooth_l1 && kind != PointwiseLoss::huber &&
         kind != PointwiseLoss::kl_div && kind != PointwiseLoss::kl_div_log_target;
}

// Row i's coefficients v_ic (loss.h) into `v`; returns false for an ignored row.
bool row_coefficients(const ClassLossOptions& options, int64_t i, int64_t classes,
                      double* v) {
  const double smoothing = options.label_smoothing;
  const double spread = smoothing / static_cast<double>(classes);
  const float* weight = options.weight;
  if (options.labels != nullptr) {
    const int64_t label = options.labels[i];
    if (label == options.ignore_index) return false;
    for (int64_t c = 0; c < classes; ++c) v[c] = spread * (weight ? weight[c] : 1.0f);
    v[label] += (1.0 - smoothing) * (weight ? weight[label] : 1.0f);
    return true;
  }
  const float* target = options.target_probs + i * classes;
  for (int64_t c = 0; c < classes; ++c)
    v[c] = ((1.0 - smoothing) * target[c] + spread) * (weight ? weight[c] : 1.0f);
  return true;
}

// The mean's divisor: the weights of the labels not ignored, or the batch.
double mean_divisor(const ClassLossOptions& options, int64_t batch) {
  if (options.labels == nullptr) return static_cast<double>(batch);
  double total = 0.0;
  for (int64_t i = 0; i < batch; ++i) {
    const int64_t label = options.labels[i];
    if (label != options.ignore_index)
      total += options.weight ? static_cast<double>(options.weight[label]) : 1.0;
  }
  return total;
}

}  // namespace

void cross_entropy_forward(const float* logits, const int64_t* labels, float* log_probs,
                           float* loss, int64_t batch, int64_t classes, LossReduction reduction) {
  log_softmax_forward(logits, log_probs, batch, classes, 1);
  nll_loss_forward(log_probs, labels, loss, batch, classes, reduction);
}

void cross_entropy_backward(const float* grad_output, const float* log_probs,
                            const int64_t* labels, float* grad_logits, int64_t batch,
                            int64_t classes, LossReduction reduction) {
  if (batch == 0 || classes == 0) return;
  const Scale scale(grad_output, reduction, batch);
  parallel_for(0, batch, std::max<int64_t>(1, kGrain / classes), [&](int64_t lo, int64_t hi) {
    float* block = grad_logits + lo * classes;
    std::copy(log_probs + lo * classes, log_probs + hi * classes, block);
    exp_inplace(block, (hi - lo) * classes);
    for (int64_t i = lo; i < hi; ++i) {
      float* row = grad_logits + i * classes;
      const float s = scale(i);
      row[labels[i]] -= 1.0f;
      for (int64_t c = 0; c < classes; ++c) row[c] *= s;
    }
  });
}

void nll_loss_forward(const float* log_probs, const int64_t* labels, float* loss, int64_t batch,
                      int64_t classes, LossReduction reduction) {
  reduce_terms(batch, reduction, loss,
               [&](int64_t i) { return -log_probs[i * classes + labels[i]]; });
}

void nll_loss_backward(const float* grad_output, const int64_t* labels, float* grad_log_probs,
                       int64_t batch, int64_t classes, LossReduction reduction) {
  if (batch == 0 || classes == 0) return;
  const Scale scale(grad_output, reduction, batch);
  parallel_for(0, batch, std::max<int64_t>(1, kGrain / classes), [&](int64_t lo, int64_t hi) {
    std::fill(grad_log_probs + lo * classes, grad_log_probs + hi * classes, 0.0f);
    for (int64_t i = lo; i < hi; ++i) grad_log_probs[i * classes + labels[i]] = -scale(i);
  });
}

void pointwise_loss_forward(PointwiseLoss kind, const float* input, const float* target,
                            float* loss, int64_t n, LossReduction reduction,
                            const PointwiseOptions& options) {
  if (!plain(kind, options)) {
    with_kind(kind, [&](auto constant) {
      constexpr PointwiseLoss kKind = decltype(constant)::value;
      if (options.pos_weight != nullptr) {
        if (options.weight != nullptr)
          pointwise_options_forward<kKind, true, true>(input, target, loss, n, reduction,
                                                       options);
        else
          pointwise_options_forward<kKind, false, true>(input, target, loss, n, reduction,
                                                        options);
      } else if (options.weight != nullptr) {
        pointwise_options_forward<kKind, true, false>(input, target, loss, n, reduction,
                                                      options);
      } else {
        pointwise_options_forward<kKind, false, false>(input, target, loss, n, reduction,
                                                       options);
      }
    });
    return;
  }
  switch (kind) {
    case PointwiseLoss::mse:
      return pointwise_forward<PointwiseLoss::mse>(input, target, loss, n, reduction);
    case PointwiseLoss::l1:
      return pointwise_forward<PointwiseLoss::l1>(input, target, loss, n, reduction);
    case PointwiseLoss::binary_cross_entropy:
      return pointwise_forward<PointwiseLoss::binary_cross_entropy>(input, target, loss, n,
                                                                    reduction);
    case PointwiseLoss::binary_cross_entropy_with_logits:
      return pointwise_forward<PointwiseLoss::binary_cross_entropy_with_logits>(
          input, target, loss, n, reduction);
    default:
      return;  // the other kinds always take the options path above
  }
}

void pointwise_loss_backward(PointwiseLoss kind, const float* grad_output, const float* input,
                             const float* target, float* grad_input, int64_t n,
                             LossReduction reduction, const PointwiseOptions& options) {
  if (!plain(kind, options)) {
    with_kind(kind, [&](auto constant) {
      constexpr PointwiseLoss kKind = decltype(constant)::value;
      if (options.pos_weight != nullptr) {
        if (options.weight != nullptr)
          pointwise_options_backward<kKind, true, true>(grad_output, input, target, grad_input,
                                                        n, reduction, options);
        else
          pointwise_options_backward<kKind, false, true>(grad_output, input, target, grad_input,
                                                         n, reduction, options);
      } else if (options.weight != nullptr) {
        pointwise_options_backward<kKind, true, false>(grad_output, input, target, grad_input,
                                                       n, reduction, options);
      } else {
        pointwise_options_backward<kKind, false, false>(grad_output, input, target, grad_input,
                                                        n, reduction, options);
      }
    });
    return;
  }
  switch (kind) {
    case PointwiseLoss::mse:
      return pointwise_backward<PointwiseLoss::mse>(grad_output, input, target, grad_input, n,
                                                    reduction);
    case PointwiseLoss::l1:
      return pointwise_backward<PointwiseLoss::l1>(grad_output, input, target, grad_input, n,
                                                   reduction);
    case PointwiseLoss::binary_cross_entropy:
      return pointwise_backward<PointwiseLoss::binary_cross_entropy>(grad_output, input, target,
                                                                     grad_input, n, reduction);
    case PointwiseLoss::binary_cross_entropy_with_logits:
      return pointwise_backward<PointwiseLoss::binary_cross_entropy_with_logits>(
          grad_output, input, target, grad_input, n, reduction);
    default:
      return;  // the other kinds always take the options path above
  }
}

void class_loss_forward(const float* log_probs, const ClassLossOptions& options, float* loss,
                        int64_t batch, int64_t classes, LossReduction reduction) {
  std::vector<float> rows(static_cast<size_t>(batch));
  parallel_for(0, batch, std::max<int64_t>(1, kGrain / std::max<int64_t>(classes, 1)),
               [&](int64_t lo, int64_t hi) {
    std::vector<double> v(static_cast<size_t>(classes));
    for (int64_t i = lo; i < hi; ++i) {
      double total = 0.0;
      if (row_coefficients(options, i, classes, v.data())) {
        const float* row = log_probs + i * classes;
        for (int64_t c = 0; c < classes; ++c)
          if (v[c] != 0.0) total -= v[c] * static_cast<double>(row[c]);
      }
      rows[i] = static_cast<float>(total);
    }
  });
  // A mean over nothing (every row ignored, or no rows) is 0 / 0 = NaN, as PyTorch.
  reduce_terms(batch, reduction, loss, [&](int64_t i) { return rows[i]; },
               reduction == LossReduction::mean ? mean_divisor(options, batch) : -1.0);
}

void class_loss_backward(const float* grad_output, const float* log_probs,
                         const ClassLossOptions& options, float* grad, int64_t batch,
                         int64_t classes, LossReduction reduction, bool through_softmax) {
  if (batch == 0 || classes == 0) return;
  float uniform = grad_output[0];
  if (reduction == LossReduction::mean)
    uniform = static_cast<float>(static_cast<double>(grad_output[0]) /
                                 mean_divisor(options, batch));
  parallel_for(0, batch, std::max<int64_t>(1, kGrain / classes), [&](int64_t lo, int64_t hi) {
    std::vector<double> v(static_cast<size_t>(classes));
    for (int64_t i = lo; i < hi; ++i) {
      float* out = grad + i * classes;
      if (!row_coefficients(options, i, classes, v.data())) {
        std::fill(out, out + classes, 0.0f);
        continue;
      }
      const float s = reduction == LossReduction::none ? grad_output[i] : uniform;
      if (!through_softmax) {
        for (int64_t c = 0; c < classes; ++c) out[c] = -s * static_cast<float>(v[c]);
        continue;
      }
      double row_total = 0.0;
      for (int64_t c = 0; c < classes; ++c) row_total += v[c];
      const float total = static_cast<float>(row_total);
      const float* row = log_probs + i * classes;
      for (int64_t c = 0; c < classes; ++c)
        out[c] = s * (std::exp(row[c]) * total - static_cast<float>(v[c]));
    }
  });
}

}  // namespace cunn::kernels
