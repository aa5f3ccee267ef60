// Optimizer updates on the device, one parameter tensor per call, in place. The rules and
// the order of float32 operations are those of cunn/_backends/numpy_ref/optim.py (PyTorch's
// single-tensor paths) and csrc/kernels/optim.h; scalars PyTorch computes in Python (bias
// corrections, decayed learning rates) are computed in double on the host and rounded to
// float. Plain C++ so the binding needs no CUDA headers. All arrays have `count` floats.
#pragma once

#include <cstdint>

namespace cunn::cuda {

// momentum_buffer may be null when momentum == 0.
void sgd_step(float* param, const float* grad, float* momentum_buffer, std::int64_t count,
              double lr, double momentum, double dampening, double weight_decay, bool nesterov,
              bool first_step);
// max_exp_avg_sq null: plain Adam; otherwise amsgrad. decoupled_weight_decay: AdamW.
void adam_step(float* param, const float* grad, float* exp_avg, float* exp_avg_sq,
               float* max_exp_avg_sq, std::int64_t count, double lr, double beta1, double beta2,
               double eps, double weight_decay, std::int64_t step, bool decoupled_weight_decay);
// momentum_buffer is used when momentum > 0, grad_avg when centered (null otherwise).
void rmsprop_step(float* param, const float* grad, float* square_avg, float* momentum_buffer,
                  float* grad_avg, std::int64_t count, double lr, double alpha, double eps,
                  double weight_decay, double momentum, bool centered);
void adadelta_step(float* param, const float* grad, float* square_avg, float* acc_delta,
                   std::int64_t count, double lr, double rho, double eps, double weight_decay);
void adagrad_step(float* param, const float* grad, float* state_sum, std::int64_t count,
                  double lr, double lr_decay, double weight_decay, double eps, std::int64_t step);

}  // namespace cunn::cuda
