// Losses, forward and backward, matching PyTorch. logits / log_probs are
// (batch, classes) C-contiguous float32;
// labels int64 in [0, classes), checked by the binding. Pointwise losses take
// input and target of n elements each.
//   cross_entropy: log_probs = log_softmax(logits) (written out, reused by
//     backward); loss_i = -log_probs[i, label_i];
//     grad_logits = s_i * (exp(log_probs) - onehot(label))
//   nll_loss: loss_i = -log_probs[i, label_i]; grad = -s_i at the label, 0 else
//   mse: (x - t)^2, grad 2 (x - t) s;   l1: |x - t|, grad sign(x - t) s
//   binary_cross_entropy: -(t max(log x, -100) + (1 - t) max(log1p(-x), -100)),
//     grad s (x - t) / max(x (1 - x), 1e-12)
//   binary_cross_entropy_with_logits: max(x, 0) - x t + log1p(exp(-|x|)),
//     grad s (sigmoid(x) - t)
// reduction none writes every loss_i (s_i = grad_output[i]); sum / mean write
// one value (s = grad_output, or grad_output / count for mean, where count is
// the batch for cross_entropy / nll_loss and n for the others). The sum is
// accumulated in double over fixed blocks added in order, so it does not
// depend on the thread count.
//
// The options (class_loss_*, PointwiseOptions) are separate entry points, so the
// plain losses above keep their loops:
//   class_loss: nll_loss / cross_entropy with per-class weights w (null: all 1),
//     ignore_index and label smoothing e, against int64 labels or (batch, classes)
//     class probabilities. Row i's coefficients v_ic are
//       labels: (1 - e) w_y [c == y_i] + e / C w_c, all 0 when y_i == ignore_index
//       probabilities: ((1 - e) t_ic + e / C) w_c
//     loss_i = -sum_c v_ic log_probs_ic (in double); mean divides the sum by
//     sum_i w_{y_i} over the rows not ignored (labels) or by the batch
//     (probabilities), as PyTorch. The gradient with respect to log_probs is
//     -s_i v_ic (nll_loss); through the softmax it is s_i (p_ic V_i - v_ic) with
//     p = exp(log_probs), V_i = sum_c v_ic (cross_entropy).
//   smooth_l1 (beta > 0): z = |x - t|; z < beta ? 0.5 z^2 / beta : z - 0.5 beta
//   huber: z < delta ? 0.5 z^2 : delta (z - 0.5 delta)
//   kl_div: xlogy(t, t) - t x; kl_div_log_target: exp(t) (t - x)
//   binary_cross_entropy(_with_logits) with a weight per element (multiplies the
//     term and its gradient); with logits and a pos_weight p per element:
//     l = (p - 1) t + 1, term (1 - t) x + l (log1p(exp(-|x|)) + max(-x, 0)),
//     gradient l sigmoid(x) - p t.
#pragma once

#include <cstdint>

namespace cunn::kernels {

enum class LossReduction { none, mean, sum };
enum class PointwiseLoss {
  mse, l1, binary_cross_entropy, binary_cross_entropy_with_logits,
  smooth_l1, huber, kl_div, kl_div_log_target
};

// parameter: smooth_l1's beta or huber's delta; weight / pos_weight: n floats or null.
struct PointwiseOptions {
  float parameter = 0.0f;
  const float* weight = nullptr;
  const float* pos_weight = nullptr;
};

// weight: `classes` floats or null; exactly one of labels / target_probs is given.
struct ClassLossOptions {
  const int64_t* labels = nullptr;
  const float* target_probs = nullptr;
  const float* weight = nullptr;
  int64_t ignore_index = -100;
  double label_smoothing = 0.0;
};

void cross_entropy_forward(const float* logits, const int64_t* labels, float* log_probs,
                           float* loss, int64_t batch, int64_t classes, LossReduction reduction);
void cross_entropy_backward(const float* grad_output, const float* log_probs,
                            const int64_t* labels, float* grad_logits, int64_t batch,
                            int64_t classes, LossReduction reduction);
void nll_loss_forward(const float* log_probs, const int64_t* labels, float* loss, int64_t batch,
                      int64_t classes, LossReduction reduction);
void nll_loss_backward(const float* grad_output, const int64_t* labels, float* grad_log_probs,
                       int64_t batch, int64_t classes, LossReduction reduction);
void pointwise_loss_forward(PointwiseLoss kind, const float* input, const float* target,
                            float* loss, int64_t n, LossReduction reduction,
                            const PointwiseOptions& options = {});
void pointwise_loss_backward(PointwiseLoss kind, const float* grad_output, const float* input,
                             const float* target, float* grad_input, int64_t n,
                             LossReduction reduction, const PointwiseOptions& options = {});

// log_probs (batch, classes) -> loss; cross_entropy runs log_softmax_forward first.
void class_loss_forward(const float* log_probs, const ClassLossOptions& options, float* loss,
                        int64_t batch, int64_t classes, LossReduction reduction);
// through_softmax: the gradient with respect to the logits (cross_entropy), else
// with respect to log_probs (nll_loss, which needs no log_probs: pass null).
void class_loss_backward(const float* grad_output, const float* log_probs,
                         const ClassLossOptions& options, float* grad, int64_t batch,
                         int64_t classes, LossReduction reduction, bool through_softmax);

}  // namespace cunn::kernels
