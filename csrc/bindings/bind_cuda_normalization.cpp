// cunn._C.cuda normalization: batch_norm_statistics/forward/backward (x (n, c, inner)) and
// layer_norm_forward/backward (x (rows, cols)); kernels in csrc/cuda/normalization.h.
#include <pybind11/pybind11.h>

#include "bindings/cuda_layer_args.h"
#include "bindings/cuda_layer_families.h"
#include "cuda/normalization.h"

namespace py = pybind11;

namespace cunn::bind {
namespace {

using cuda_args::fail;
using cuda_args::optional_pointer;
using cuda_args::pointer;
using cuda_args::product;
using cuda_args::size;

std::int64_t channel_count(std::int64_t n, std::int64_t c, std::int64_t inner, const char* op) {
  return product({size(n, op, "n"), size(c, op, "c"), size(inner, op, "inner")}, op);
}

void batch_norm_statistics(std::uintptr_t mean_ptr, std::uintptr_t var_ptr, std::uintptr_t x_ptr,
                           std::int64_t n, std::int64_t c, std::int64_t inner) {
  const char* op = "batch_norm_statistics";
  const std::int64_t count = channel_count(n, c, inner, op);
  float* mean = pointer<float>(mean_ptr, c, op, "mean_ptr");
  float* var = pointer<float>(var_ptr, c, op, "var_ptr");
  const float* x = pointer<const float>(x_ptr, count, op, "x_ptr");
  py::gil_scoped_release release;
  cunn::cuda::batch_norm_statistics(mean, var, x, n, c, inner);
}

void batch_norm_forward(std::uintptr_t out_ptr, std::uintptr_t invstd_ptr, std::uintptr_t x_ptr,
                        std::uintptr_t mean_ptr, std::uintptr_t var_ptr,
                        std::uintptr_t weight_ptr, std::uintptr_t bias_ptr, std::int64_t n,
                        std::int64_t c, std::int64_t inner, double eps) {
  const char* op = "batch_norm_forward";
  const std::int64_t count = channel_count(n, c, inner, op);
  float* out = pointer<float>(out_ptr, count, op, "out_ptr");
  float* invstd = pointer<float>(invstd_ptr, c, op, "invstd_ptr");
  const float* x = pointer<const float>(x_ptr, count, op, "x_ptr");
  const float* mean = pointer<const float>(mean_ptr, c, op, "mean_ptr");
  const float* var = pointer<const float>(var_ptr, c, op, "var_ptr");
  const float* weight = optional_pointer<const float>(weight_ptr, c, op, "weight_ptr");
  const float* bias = optional_pointer<const float>(bias_ptr, c, op, "bias_ptr");
  py::gil_scoped_release release;
  cunn::cuda::batch_norm_forward(out, invstd, x, mean, var, weight, bias, n, c, inner,
                                 static_cast<float>(eps));
}

void batch_norm_backward(std::uintptr_t grad_x_ptr, std::uintptr_t grad_weight_ptr,
                         std::uintptr_t grad_bias_ptr, std::uintptr_t grad_output_ptr,
                         std::uintptr_t x_ptr, std::uintptr_t mean_ptr, std::uintptr_t invstd_ptr,
                         std::uintptr_t weight_ptr, std::int64_t n, std::int64_t c,
                         std::int64_t inner, bool batch_statistics) {
  const char* op = "batch_norm_backward";
  const std::int64_t count = channel_count(n, c, inner, op);
  float* grad_x = pointer<float>(grad_x_ptr, count, op, "grad_x_ptr");
  float* grad_weight = pointer<float>(grad_weight_ptr, c, op, "grad_weight_ptr");
  float* grad_bias = pointer<float>(grad_bias_ptr, c, op, "grad_bias_ptr");
  const float* grad_output = pointer<const float>(grad_output_ptr, count, op, "grad_output_ptr");
  const float* x = pointer<const float>(x_ptr, count, op, "x_ptr");
  const float* mean = pointer<const float>(mean_ptr, c, op, "mean_ptr");
  const float* invstd = pointer<const float>(invstd_ptr, c, op, "invstd_ptr");
  const float* weight = optional_pointer<const float>(weight_ptr, c, op, "weight_ptr");
  py::gil_scoped_release release;
  cunn::cuda::batch_norm_backward(grad_x, grad_weight, grad_bias, grad_output, x, mean, invstd,
                                  weight, n, c, inner, batch_statistics);
}

void layer_norm_forward(std::uintptr_t out_ptr, std::uintptr_t mean_ptr, std::uintptr_t invstd_ptr,
                        std::uintptr_t x_ptr, std::uintptr_t weight_ptr, std::uintptr_t bias_ptr,
                        std::int64_t rows, std::int64_t cols, double eps) {
  const char* op = "layer_norm_forward";
  const std::int64_t count = product({size(rows, op, "rows"), size(cols, op, "cols")}, op);
  float* out = pointer<float>(out_ptr, count, op, "out_ptr");
  float* mean = pointer<float>(mean_ptr, rows, op, "mean_ptr");
  float* invstd = pointer<float>(invstd_ptr, rows, op, "invstd_ptr");
  const float* x = pointer<const float>(x_ptr, count, op, "x_ptr");
  const float* weight = optional_pointer<const float>(weight_ptr, cols, op, "weight_ptr");
  const float* bias = optional_pointer<const float>(bias_ptr, cols, op, "bias_ptr");
  py::gil_scoped_release release;
  cunn::cuda::layer_norm_forward(out, mean, invstd, x, weight, bias, rows, cols,
                                 static_cast<float>(eps));
}

void layer_norm_backward(std::uintptr_t grad_x_ptr, std::uintptr_t grad_weight_ptr,
                         std::uintptr_t grad_bias_ptr, std::uintptr_t grad_output_ptr,
                         std::uintptr_t x_ptr, std::uintptr_t mean_ptr, std::uintptr_t invstd_ptr,
                         std::uintptr_t weight_ptr, std::int64_t rows, std::int64_t cols) {
  const char* op = "layer_norm_backward";
  const std::int64_t count = product({size(rows, op, "rows"), size(cols, op, "cols")}, op);
  if ((grad_weight_ptr == 0) != (grad_bias_ptr == 0))
    fail(op, "grad_weight_ptr and grad_bias_ptr must be both 0 or both device pointers");
  float* grad_x = pointer<float>(grad_x_ptr, count, op, "grad_x_ptr");
  float* grad_weight = optional_pointer<float>(grad_weight_ptr, cols, op, "grad_weight_ptr");
  float* grad_bias = optional_pointer<float>(grad_bias_ptr, cols, op, "grad_bias_ptr");
  const float* grad_output = pointer<const float>(grad_output_ptr, count, op, "grad_output_ptr");
  const float* x = pointer<const float>(x_ptr, count, op, "x_ptr");
  const float* mean = pointer<const float>(mean_ptr, rows, op, "mean_ptr");
  const float* invstd = pointer<const float>(invstd_ptr, rows, op, "invstd_ptr");
  const float* weight = optional_pointer<const float>(weight_ptr, cols, op, "weight_ptr");
  py::gil_scoped_release release;
  cunn::cuda::layer_norm_backward(grad_x, grad_weight, grad_bias, grad_output, x, mean, invstd,
                                  weight, rows, cols);
}

}  // namespace

void bind_cuda_normalization(py::module_& cuda) {
  cuda.def("batch_norm_statistics", &batch_norm_statistics, py::arg("mean_ptr"),
           py::arg("var_ptr"), py::arg("x_ptr"), py::arg("n"), py::arg("c"), py::arg("inner"),
           "Per-channel mean and biased variance (c,) of x (n, c, inner).");
  cuda.def("batch_norm_forward", &batch_norm_forward, py::arg("out_ptr"), py::arg("invstd_ptr"),
           py::arg("x_ptr"), py::arg("mean_ptr"), py::arg("var_ptr"), py::arg("weight_ptr"),
           py::arg("bias_ptr"), py::arg("n"), py::arg("c"), py::arg("inner"), py::arg("eps"),
           "out = (x - mean) * invstd * weight + bias per channel; writes invstd (c,).");
  cuda.def("batch_norm_backward", &batch_norm_backward, py::arg("grad_x_ptr"),
           py::arg("grad_weight_ptr"), py::arg("grad_bias_ptr"), py::arg("grad_output_ptr"),
           py::arg("x_ptr"), py::arg("mean_ptr"), py::arg("invstd_ptr"), py::arg("weight_ptr"),
           py::arg("n"), py::arg("c"), py::arg("inner"), py::arg("batch_statistics"),
           "Gradients of batch_norm_forward for x, weight and bias.");
  cuda.def("layer_norm_forward", &layer_norm_forward, py::arg("out_ptr"), py::arg("mean_ptr"),
           py::arg("invstd_ptr"), py::arg("x_ptr"), py::arg("weight_ptr"), py::arg("bias_ptr"),
           py::arg("rows"), py::arg("cols"), py::arg("eps"),
           "Each row of x (rows, cols) normalised, scaled and shifted; writes mean and invstd "
           "(rows,).");
  cuda.def("layer_norm_backward", &layer_norm_backward, py::arg("grad_x_ptr"),
           py::arg("grad_weight_ptr"), py::arg("grad_bias_ptr"), py::arg("grad_output_ptr"),
           py::arg("x_ptr"), py::arg("mean_ptr"), py::arg("invstd_ptr"), py::arg("weight_ptr"),
           py::arg("rows"), py::arg("cols"),
           "Gradients of layer_norm_forward; grad_weight/grad_bias skipped when both are 0.");
}

}  // namespace cunn::bind
