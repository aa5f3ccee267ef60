// Loss kernels (math in loss.h). cross_entropy reuses the softmax kernel for
// its log_probs and the vector exp for its gradient. Reduced losses sum their
// terms in double over fixed blocks of kBlock terms, blocks added in index
// order, so results do not change with the thread count.
#include "kernels/loss.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "dispatch/parallel.h"
#include "kernels/activation.h"
#include "kernels/softmax.h"

namespace cunn::kernels {
namespace {

// Loss terms cost a few ns each (log, exp): split across threads from ~8k.
constexpr int64_t kGrain = 8192;
constexpr int64_t kBlock = 4096;

// Writes term(i) for i < count to `loss` (none), or their sum / mean to loss[0].
template <class Term>
void reduce_terms(int64_t count, LossReduction reduction, float* loss, const Term& term) {
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
  if (reduction == LossReduction::mean) total /= static_cast<double>(count);
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

template <PointwiseLoss kKind>
float loss_term(float x, float t) {
  if (kKind == PointwiseLoss::mse) return (x - t) * (x - t);
  if (kKind == PointwiseLoss::l1) return std::fabs(x - t);
  if (kKind == PointwiseLoss::binary_cross_entropy)
    return -(t * std::max(std::log(x), -100.0f) +
             (1.0f - t) * std::max(std::log1p(-x), -100.0f));
  return std::max(x, 0.0f) - x * t + std::log1p(std::exp(-std::fabs(x)));
}

template <PointwiseLoss kKind>
float gradient_term(float x, float t) {
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
                            float* loss, int64_t n, LossReduction reduction) {
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
  }
}

void pointwise_loss_backward(PointwiseLoss kind, const float* grad_output, const float* input,
                             const float* target, float* grad_input, int64_t n,
                             LossReduction reduction) {
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
  }
}

}  // namespace cunn::kernels
