// Losses, forward and backward, matching PyTorch (no class weights, no
// ignore_index). logits / log_probs are (batch, classes) C-contiguous float32;
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
#pragma once

#include <cstdint>

namespace cunn::kernels {

enum class LossReduction { none, mean, sum };
enum class PointwiseLoss { mse, l1, binary_cross_entropy, binary_cross_entropy_with_logits };

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
                            float* loss, int64_t n, LossReduction reduction);
void pointwise_loss_backward(PointwiseLoss kind, const float* grad_output, const float* input,
                             const float* target, float* grad_input, int64_t n,
                             LossReduction reduction);

}  // namespace cunn::kernels
