// cunn._C.cuda optimizer updates, one parameter tensor per call, in place: sgd_step,
// adam_step, rmsprop_step, adadelta_step, adagrad_step (kernels in csrc/cuda/optim.h).
// A state pointer the options use must be non-zero; one they do not use may be 0.
#include <pybind11/pybind11.h>

#include "bindings/cuda_layer_args.h"
#include "bindings/cuda_layer_families.h"
#include "cuda/optim.h"

namespace py = pybind11;

namespace cunn::bind {
namespace {

using cuda_args::fail;
using cuda_args::optional_pointer;
using cuda_args::pointer;
using cuda_args::size;

void sgd_step(std::uintptr_t param_ptr, std::uintptr_t grad_ptr,
              std::uintptr_t momentum_buffer_ptr, std::int64_t count, double lr, double momentum,
              double dampening, double weight_decay, bool nesterov, bool first_step) {
  const char* op = "sgd_step";
  size(count, op, "count");
  float* param = pointer<float>(param_ptr, count, op, "param_ptr");
  const float* grad = pointer<const float>(grad_ptr, count, op, "grad_ptr");
  float* buffer = momentum != 0.0
                      ? pointer<float>(momentum_buffer_ptr, count, op, "momentum_buffer_ptr")
                      : nullptr;
  py::gil_scoped_release release;
  cunn::cuda::sgd_step(param, grad, buffer, count, lr, momentum, dampening, weight_decay,
                       nesterov, first_step);
}

void adam_step(std::uintptr_t param_ptr, std::uintptr_t grad_ptr, std::uintptr_t exp_avg_ptr,
               std::uintptr_t exp_avg_sq_ptr, std::uintptr_t max_exp_avg_sq_ptr,
               std::int64_t count, double lr, double beta1, double beta2, double eps,
               double weight_decay, std::int64_t step, bool decoupled_weight_decay) {
  const char* op = "adam_step";
  size(count, op, "count");
  if (step < 1) fail(op, "step must be >= 1, got " + std::to_string(step));
  float* param = pointer<float>(param_ptr, count, op, "param_ptr");
  const float* grad = pointer<const float>(grad_ptr, count, op, "grad_ptr");
  float* exp_avg = pointer<float>(exp_avg_ptr, count, op, "exp_avg_ptr");
  float* exp_avg_sq = pointer<float>(exp_avg_sq_ptr, count, op, "exp_avg_sq_ptr");
  float* max_exp_avg_sq =
      optional_pointer<float>(max_exp_avg_sq_ptr, count, op, "max_exp_avg_sq_ptr");
  py::gil_scoped_release release;
  cunn::cuda::adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, count, lr, beta1,
                        beta2, eps, weight_decay, step, decoupled_weight_decay);
}

void rmsprop_step(std::uintptr_t param_ptr, std::uintptr_t grad_ptr,
                  std::uintptr_t square_avg_ptr, std::uintptr_t momentum_buffer_ptr,
                  std::uintptr_t grad_avg_ptr, std::int64_t count, double lr, double alpha,
                  double eps, double weight_decay, double momentum, bool centered) {
  const char* op = "rmsprop_step";
  size(count, op, "count");
  float* param = pointer<float>(param_ptr, count, op, "param_ptr");
  const float* grad = pointer<const float>(grad_ptr, count, op, "grad_ptr");
  float* square_avg = pointer<float>(square_avg_ptr, count, op, "square_avg_ptr");
  float* buffer = momentum > 0.0
                      ? pointer<float>(momentum_buffer_ptr, count, op, "momentum_buffer_ptr")
                      : nullptr;
  float* grad_avg = centered ? pointer<float>(grad_avg_ptr, count, op, "grad_avg_ptr") : nullptr;
  py::gil_scoped_release release;
  cunn::cuda::rmsprop_step(param, grad, square_avg, buffer, grad_avg, count, lr, alpha, eps,
                           weight_decay, momentum, centered);
}

void adadelta_step(std::uintptr_t param_ptr, std::uintptr_t grad_ptr,
                   std::uintptr_t square_avg_ptr, std::uintptr_t acc_delta_ptr,
                   std::int64_t count, double lr, double rho, double eps, double weight_decay) {
  const char* op = "adadelta_step";
  size(count, op, "count");
  float* param = pointer<float>(param_ptr, count, op, "param_ptr");
  const float* grad = pointer<const float>(grad_ptr, count, op, "grad_ptr");
  float* square_avg = pointer<float>(square_avg_ptr, count, op, "square_avg_ptr");
  float* acc_delta = pointer<float>(acc_delta_ptr, count, op, "acc_delta_ptr");
  py::gil_scoped_release release;
  cunn::cuda::adadelta_step(param, grad, square_avg, acc_delta, count, lr, rho, eps,
                            weight_decay);
}

void adagrad_step(std::uintptr_t param_ptr, std::uintptr_t grad_ptr,
                  std::uintptr_t state_sum_ptr, std::int64_t count, double lr, double lr_decay,
                  double weight_decay, double eps, std::int64_t step) {
  const char* op = "adagrad_step";
  size(count, op, "count");
  if (step < 1) fail(op, "step must be >= 1, got " + std::to_string(step));
  float* param = pointer<float>(param_ptr, count, op, "param_ptr");
  const float* grad = pointer<const float>(grad_ptr, count, op, "grad_ptr");
  float* state_sum = pointer<float>(state_sum_ptr, count, op, "state_sum_ptr");
  py::gil_scoped_release release;
  cunn::cuda::adagrad_step(param, grad, state_sum, count, lr, lr_decay, weight_decay, eps, step);
}

}  // namespace

void bind_cuda_optim(py::module_& cuda) {
  cuda.def("sgd_step", &sgd_step, py::arg("param_ptr"), py::arg("grad_ptr"),
           py::arg("momentum_buffer_ptr"), py::arg("count"), py::arg("lr"), py::arg("momentum"),
           py::arg("dampening"), py::arg("weight_decay"), py::arg("nesterov"),
           py::arg("first_step"), "One SGD step of one parameter tensor, in place.");
  cuda.def("adam_step", &adam_step, py::arg("param_ptr"), py::arg("grad_ptr"),
           py::arg("exp_avg_ptr"), py::arg("exp_avg_sq_ptr"), py::arg("max_exp_avg_sq_ptr"),
           py::arg("count"), py::arg("lr"), py::arg("beta1"), py::arg("beta2"), py::arg("eps"),
           py::arg("weight_decay"), py::arg("step"), py::arg("decoupled_weight_decay"),
           "One Adam (AdamW when decoupled_weight_decay; amsgrad when max_exp_avg_sq_ptr is "
           "not 0) step of one parameter tensor, in place.");
  cuda.def("rmsprop_step", &rmsprop_step, py::arg("param_ptr"), py::arg("grad_ptr"),
           py::arg("square_avg_ptr"), py::arg("momentum_buffer_ptr"), py::arg("grad_avg_ptr"),
           py::arg("count"), py::arg("lr"), py::arg("alpha"), py::arg("eps"),
           py::arg("weight_decay"), py::arg("momentum"), py::arg("centered"),
           "One RMSprop step of one parameter tensor, in place.");
  cuda.def("adadelta_step", &adadelta_step, py::arg("param_ptr"), py::arg("grad_ptr"),
           py::arg("square_avg_ptr"), py::arg("acc_delta_ptr"), py::arg("count"), py::arg("lr"),
           py::arg("rho"), py::arg("eps"), py::arg("weight_decay"),
           "One Adadelta step of one parameter tensor, in place.");
  cuda.def("adagrad_step", &adagrad_step, py::arg("param_ptr"), py::arg("grad_ptr"),
           py::arg("state_sum_ptr"), py::arg("count"), py::arg("lr"), py::arg("lr_decay"),
           py::arg("weight_decay"), py::arg("eps"), py::arg("step"),
           "One Adagrad step of one parameter tensor, in place.");
}

}  // namespace cunn::bind
