// Optimizer steps, in place over a list of float32 tensors in one call.
//
// Each rule is PyTorch's single-tensor path (torch.optim._single_tensor_*,
// maximize=False, amsgrad=False), written element by element in the same order
// of float32 operations as PyTorch's CPU ops so results agree to about one ulp
// (PyTorch fuses some multiply-adds; these loops round each operation, exactly
// like the NumPy reference in cunn/_backends/numpy_ref/optim.py). Scalars that
// PyTorch computes in Python (bias corrections, 1 - lr * weight_decay, ...) are
// computed here in double and then rounded to float, as PyTorch rounds them
// when it passes them to a float32 op.
//
// Every tensor is a contiguous run of `numel` floats; parameter, gradient and
// state buffers of one entry have the same length. The work is split over the
// total number of elements, so many small tensors and one large one both
// thread well; elementwise math makes the result independent of the split.
#pragma once

#include <cstdint>
#include <vector>

namespace cunn::kernels {

// SGD with momentum (momentum_buffer is null when momentum == 0):
//   d = grad + weight_decay * param                       (when weight_decay != 0)
//   buf = d on the first step, else momentum * buf + (1 - dampening) * d
//   d = d + momentum * buf if nesterov else buf            (when momentum != 0)
//   param = param - lr * d
struct SgdTensor {
  float* param;
  const float* grad;
  float* momentum_buffer;
  int64_t numel;
};
void sgd_step(const std::vector<SgdTensor>& tensors, double lr, double momentum,
              double dampening, double weight_decay, bool nesterov, bool first_step);

// Adam (decoupled_weight_decay = AdamW), step counted from 1:
//   AdamW: param *= 1 - lr * weight_decay; Adam: grad += weight_decay * param
//   exp_avg = lerp(exp_avg, grad, 1 - beta1)
//   exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * grad * grad
//   amsgrad: max_exp_avg_sq = maximum(max_exp_avg_sq, exp_avg_sq), used below instead
//   denom = sqrt(exp_avg_sq) / sqrt(1 - beta2^step) + eps
//   param -= lr / (1 - beta1^step) * exp_avg / denom
// max_exp_avg_sq is null unless amsgrad; one call is all amsgrad or all not.
struct AdamTensor {
  float* param;
  const float* grad;
  float* exp_avg;
  float* exp_avg_sq;
  float* max_exp_avg_sq;
  int64_t numel;
};
void adam_step(const std::vector<AdamTensor>& tensors, double lr, double beta1, double beta2,
               double eps, double weight_decay, int64_t step, bool decoupled_weight_decay);

// RMSprop (momentum_buffer null when momentum == 0, grad_avg null unless centered):
//   grad += weight_decay * param
//   square_avg = alpha * square_avg + (1 - alpha) * grad * grad
//   centered: grad_avg = lerp(grad_avg, grad, 1 - alpha),
//             avg = sqrt(square_avg - grad_avg^2) + eps; else avg = sqrt(square_avg) + eps
//   momentum > 0: buf = momentum * buf + grad / avg, param -= lr * buf
//   else:         param -= lr * grad / avg
struct RmspropTensor {
  float* param;
  const float* grad;
  float* square_avg;
  float* momentum_buffer;
  float* grad_avg;
  int64_t numel;
};
void rmsprop_step(const std::vector<RmspropTensor>& tensors, double lr, double alpha, double eps,
                  double weight_decay, double momentum, bool centered);

// Adadelta:
//   grad += weight_decay * param
//   square_avg = rho * square_avg + (1 - rho) * grad * grad
//   delta = sqrt(acc_delta + eps) / sqrt(square_avg + eps) * grad
//   acc_delta = rho * acc_delta + (1 - rho) * delta * delta
//   param -= lr * delta
struct AdadeltaTensor {
  float* param;
  const float* grad;
  float* square_avg;
  float* acc_delta;
  int64_t numel;
};
void adadelta_step(const std::vector<AdadeltaTensor>& tensors, double lr, double rho,
                   double eps, double weight_decay);

// Adagrad, step counted from 1:
//   grad += weight_decay * param
//   sum += grad * grad
//   param -= lr / (1 + (step - 1) * lr_decay) * grad / (sqrt(sum) + eps)
struct AdagradTensor {
  float* param;
  const float* grad;
  float* sum;
  int64_t numel;
};
void adagrad_step(const std::vector<AdagradTensor>& tensors, double lr, double lr_decay,
                  double weight_decay, double eps, int64_t step);

}  // namespace cunn::kernels
