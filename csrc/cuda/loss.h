// Loss kernels on the device (twin: numpy_ref/loss.py). The Python side composes the
// reductions ("mean" divisors, sums) from these per-row / per-element terms.
#pragma once

#include <cstdint>

namespace cunn::cuda {

// losses[i] = -w[label_i] * log_probs[i, label_i], weights[i] = w[label_i] (w = 1 without
// class weights); both 0 for an ignored row. A label outside [0, c) that is not
// ignore_index sets *error = 1 and its row counts as ignored. class_weight may be nullptr.
void nll_forward(float* losses, float* weights, std::int32_t* error, const float* log_probs,
                 const std::int64_t* labels, const float* class_weight, std::int64_t n,
                 std::int64_t c, std::int64_t ignore_index);
// grad (n, c) is zero except grad[i, label_i] = -w[label_i] * grad_output[i * stride] /
// divisor[0] (divisor and class_weight may be nullptr; an ignored or bad row stays zero).
void nll_backward(float* grad_log_probs, const float* grad_output,
                  std::int64_t grad_output_stride, const float* divisor,
                  const std::int64_t* labels, const float* class_weight, std::int64_t n,
                  std::int64_t c, std::int64_t ignore_index);

// param: beta (smooth_l1), delta (huber); unused otherwise.
enum class PointwiseLoss { mse, l1, smooth_l1, huber, bce, bce_with_logits, kl_div,
                           kl_div_log_target };

// out[i] = loss_i (times weight[i] when weight is given); pos_weight only for
// bce_with_logits (per element). weight and pos_weight may be nullptr.
void pointwise_loss_forward(PointwiseLoss kind, float* out, const float* input,
                            const float* target, const float* weight, const float* pos_weight,
                            std::int64_t count, float param);
// grad_input[i] = d loss_i / d input_i * grad_output[i * stride] * scale (times weight[i]).
void pointwise_loss_backward(PointwiseLoss kind, float* grad_input, const float* grad_output,
                             std::int64_t grad_output_stride, const float* input,
                             const float* target, const float* weight,
                             const float* pos_weight, std::int64_t count, float param,
                             float scale);

}  // namespace cunn::cuda
