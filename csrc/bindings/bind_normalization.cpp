// normalization family: batch_norm_statistics / batch_norm_forward / batch_norm_backward over
// x (N, C, *) and layer_norm_forward / layer_norm_backward over x (..., *normalized_shape).
// float32, C-contiguous (the cpu adapter copies other layouts); weight and bias may be None.
// Only what memory safety needs is checked here; user input is checked in cunn.nn.functional.
#include <pybind11/stl.h>

#include "bindings/families.h"
#include "bindings/validate.h"
#include "kernels/normalization.h"

namespace cunn::bind {
namespace {

// `value` (None or a float32 C-contiguous array of `shape`) -> its data or nullptr; `keep`
// holds the array while the kernel runs.
const float* optional_floats(const py::object& value, const std::vector<int64_t>& shape,
                             const char* op, const char* arg, py::array& keep) {
  if (value.is_none()) return nullptr;
  keep = InputArray(as_ndarray(value, op, arg));  // read through a raw pointer: aligned
  require_float_input(keep, op, arg);
  require_shape(keep, shape, op, arg);
  return cdata_of<float>(keep);
}

const float* floats(const py::array& array, const std::vector<int64_t>& shape, const char* op,
                    const char* arg) {
  require_float_input(array, op, arg);
  require_shape(array, shape, op, arg);
  return cdata_of<float>(array);
}

kernels::ChannelShape channel_shape(const py::array& x, const char* op) {
  require_float_input(x, op, "x");
  if (x.ndim() < 2)
    throw py::value_error(std::string(op) + ": x must be (N, C, *), got shape " +
                          shape_string(x));
  int64_t inner = 1;
  for (py::ssize_t axis = 2; axis < x.ndim(); ++axis) inner *= x.shape(axis);
  return {x.shape(0), x.shape(1), inner};
}

py::tuple batch_norm_statistics(const InputArray& x) {
  const char* op = "batch_norm_statistics";
  const kernels::ChannelShape s = channel_shape(x, op);
  py::array mean = new_float_array({s.channels});
  py::array var = new_float_array({s.channels});
  const float* x_data = cdata_of<float>(x);
  float* mean_data = data_of<float>(mean);
  float* var_data = data_of<float>(var);
  {
    py::gil_scoped_release release;
    kernels::batch_norm_statistics(s, x_data, mean_data, var_data);
  }
  return py::make_tuple(mean, var);
}

py::tuple batch_norm_forward(const InputArray& x, const InputArray& mean, const InputArray& var,
                             const py::object& weight, const py::object& bias, double eps) {
  const char* op = "batch_norm_forward";
  const kernels::ChannelShape s = channel_shape(x, op);
  const std::vector<int64_t> channels{s.channels};
  py::array weight_keep, bias_keep;
  const float* mean_data = floats(mean, channels, op, "mean");
  const float* var_data = floats(var, channels, op, "var");
  const float* weight_data = optional_floats(weight, channels, op, "weight", weight_keep);
  const float* bias_data = optional_floats(bias, channels, op, "bias", bias_keep);
  py::array out = new_float_array(shape_of(x));
  py::array invstd = new_float_array(channels);
  const float* x_data = cdata_of<float>(x);
  float* out_data = data_of<float>(out);
  float* invstd_data = data_of<float>(invstd);
  const float epsilon = static_cast<float>(eps);
  {
    py::gil_scoped_release release;
    kernels::batch_norm_forward(s, x_data, mean_data, var_data, weight_data, bias_data, epsilon,
                                out_data, invstd_data);
  }
  return py::make_tuple(out, invstd);
}

py::tuple batch_norm_backward(const InputArray& grad_output, const InputArray& x,
                              const InputArray& mean, const InputArray& invstd,
                              const py::object& weight, bool batch_statistics) {
  const char* op = "batch_norm_backward";
  const kernels::ChannelShape s = channel_shape(x, op);
  const std::vector<int64_t> channels{s.channels};
  py::array weight_keep;
  const float* grad_data = floats(grad_output, shape_of(x), op, "grad_output");
  const float* mean_data = floats(mean, channels, op, "mean");
  const float* invstd_data = floats(invstd, channels, op, "invstd");
  const float* weight_data = optional_floats(weight, channels, op, "weight", weight_keep);
  py::array grad_x = new_float_array(shape_of(x));
  py::array grad_weight = new_float_array(channels);
  py::array grad_bias = new_float_array(channels);
  const float* x_data = cdata_of<float>(x);
  float* grad_x_data = data_of<float>(grad_x);
  float* grad_weight_data = data_of<float>(grad_weight);
  float* grad_bias_data = data_of<float>(grad_bias);
  {
    py::gil_scoped_release release;
    kernels::batch_norm_backward(s, grad_data, x_data, mean_data, invstd_data, weight_data,
                                 batch_statistics, grad_x_data, grad_weight_data, grad_bias_data);
  }
  return py::make_tuple(grad_x, grad_weight, grad_bias);
}

// (rows, size) of x normalised over its trailing `normalized_shape`.
std::pair<int64_t, int64_t> layer_rows(const py::array& x, const std::vector<int64_t>& normalized,
                                       const char* op) {
  require_float_input(x, op, "x");
  const int64_t k = static_cast<int64_t>(normalized.size());
  bool matches = x.ndim() >= k;
  for (int64_t i = 0; matches && i < k; ++i)
    matches = x.shape(x.ndim() - k + i) == normalized[i];
  if (!matches)
    throw py::value_error(std::string(op) + ": x's trailing dims must be normalized_shape " +
                          shape_string(normalized) + ", got shape " + shape_string(x));
  int64_t size = 1;
  for (const int64_t extent : normalized) size *= extent;
  int64_t rows = 1;
  for (py::ssize_t axis = 0; axis < x.ndim() - k; ++axis) rows *= x.shape(axis);
  return {rows, size};
}

std::vector<int64_t> sizes(const py::object& value, const char* op) {
  if (!py::isinstance<py::sequence>(value))
    throw py::type_error(std::string(op) + ": normalized_shape must be a sequence of integers");
  const size_t length = py::len(value);
  if (length == 0)
    throw py::value_error(std::string(op) + ": normalized_shape must not be empty");
  return int_sequence(value, length, 0, op, "normalized_shape");
}

py::tuple layer_norm_forward(const InputArray& x, const py::object& normalized_shape,
                             const py::object& weight, const py::object& bias, double eps) {
  const char* op = "layer_norm_forward";
  const std::vector<int64_t> normalized = sizes(normalized_shape, op);
  const auto [rows, size] = layer_rows(x, normalized, op);
  py::array weight_keep, bias_keep;
  const float* weight_data = optional_floats(weight, normalized, op, "weight", weight_keep);
  const float* bias_data = optional_floats(bias, normalized, op, "bias", bias_keep);
  py::array out = new_float_array(shape_of(x));
  py::array mean = new_float_array({rows});
  py::array invstd = new_float_array({rows});
  const float* x_data = cdata_of<float>(x);
  float* out_data = data_of<float>(out);
  float* mean_data = data_of<float>(mean);
  float* invstd_data = data_of<float>(invstd);
  const float epsilon = static_cast<float>(eps);
  const int64_t row_count = rows, row_size = size;
  {
    py::gil_scoped_release release;
    kernels::layer_norm_forward(row_count, row_size, x_data, weight_data, bias_data, epsilon,
                                out_data, mean_data, invstd_data);
  }
  return py::make_tuple(out, mean, invstd);
}

py::tuple layer_norm_backward(const InputArray& grad_output, const InputArray& x,
                              const InputArray& mean, const InputArray& invstd,
                              const py::object& weight, const py::object& normalized_shape) {
  const char* op = "layer_norm_backward";
  const std::vector<int64_t> normalized = sizes(normalized_shape, op);
  const auto [rows, size] = layer_rows(x, normalized, op);
  py::array weight_keep;
  const float* grad_data = floats(grad_output, shape_of(x), op, "grad_output");
  const float* mean_data = floats(mean, {rows}, op, "mean");
  const float* invstd_data = floats(invstd, {rows}, op, "invstd");
  const float* weight_data = optional_floats(weight, normalized, op, "weight", weight_keep);
  py::array grad_x = new_float_array(shape_of(x));
  py::array grad_weight = new_float_array(normalized);
  py::array grad_bias = new_float_array(normalized);
  const float* x_data = cdata_of<float>(x);
  float* grad_x_data = data_of<float>(grad_x);
  float* grad_weight_data = data_of<float>(grad_weight);
  float* grad_bias_data = data_of<float>(grad_bias);
  const int64_t row_count = rows, row_size = size;
  {
    py::gil_scoped_release release;
    kernels::layer_norm_backward(row_count, row_size, grad_data, x_data, mean_data, invstd_data,
                                 weight_data, grad_x_data, grad_weight_data, grad_bias_data);
  }
  return py::make_tuple(grad_x, grad_weight, grad_bias);
}

}  // namespace

void bind_normalization(py::module_& m) {
  m.def("batch_norm_statistics", &batch_norm_statistics, py::arg("x"),
        "Per-channel mean and biased variance of x (N, C, *).");
  m.def("batch_norm_forward", &batch_norm_forward, py::arg("x"), py::arg("mean"), py::arg("var"),
        py::arg("weight"), py::arg("bias"), py::arg("eps"),
        "(x - mean) / sqrt(var + eps) * weight + bias per channel -> (output, invstd).");
  m.def("batch_norm_backward", &batch_norm_backward, py::arg("grad_output"), py::arg("x"),
        py::arg("mean"), py::arg("invstd"), py::arg("weight"), py::arg("batch_statistics"),
        "-> (grad_x, grad_weight, grad_bias).");
  m.def("layer_norm_forward", &layer_norm_forward, py::arg("x"), py::arg("normalized_shape"),
        py::arg("weight"), py::arg("bias"), py::arg("eps"),
        "Normalises x over its trailing normalized_shape -> (output, mean, invstd).");
  m.def("layer_norm_backward", &layer_norm_backward, py::arg("grad_output"), py::arg("x"),
        py::arg("mean"), py::arg("invstd"), py::arg("weight"), py::arg("normalized_shape"),
        "-> (grad_x, grad_weight, grad_bias).");
}

}  // namespace cunn::bind
