// gemm family bindings: gemm, linear_forward, linear_backward, bias_grad. Validates everything
// (float32, 2-D, matching shapes, a writable C-contiguous out of the right shape
// that does not overlap the inputs), then releases the GIL for the kernel.
// gemm reads an F-contiguous operand (a transposed view such as x.T) as the
// transpose of its C-contiguous base -- the same memory, no copy -- so the cpu
// adapter can call straight through; only an operand that is neither C- nor
// F-contiguous is refused, with NonContiguousError (a ValueError), and the adapter
// then copies it.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "bindings/families.h"
#include "bindings/validate.h"
#include "kernels/gemm.h"
#include "kernels/linear.h"

namespace py = pybind11;

namespace cunn::bind {
namespace {

class NonContiguousError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

// How the kernel reads a gemm operand: its C-contiguous buffer, whether that buffer
// must be transposed to give op(x), and its row stride.
struct Operand {
  const float* data;
  bool trans;
  int64_t ld;
};

Operand gemm_operand(const py::array& array, bool trans, const char* arg) {
  require_float32(array, "gemm", arg);
  require_ndim(array, 2, "gemm", arg);
  const float* data = static_cast<const float*>(array.data());
  if (array.flags() & py::array::c_style)
    return {data, trans, std::max<int64_t>(1, array.shape(1))};
  if (array.flags() & py::array::f_style)
    return {data, !trans, std::max<int64_t>(1, array.shape(0))};
  throw NonContiguousError(std::string("gemm: ") + arg + " must be C- or F-contiguous, got "
                           "strides that are neither (the cpu adapter copies such inputs)");
}

bool overlaps(const py::array& x, const py::array& y) {
  if (x.nbytes() == 0 || y.nbytes() == 0) return false;
  const char* x_begin = static_cast<const char*>(x.data());
  const char* y_begin = static_cast<const char*>(y.data());
  return x_begin < y_begin + y.nbytes() && y_begin < x_begin + x.nbytes();
}

py::array gemm(const InputArray& a, const InputArray& b, bool trans_a, bool trans_b, double alpha,
               double beta, const py::object& out_object) {
  const Operand a_operand = gemm_operand(a, trans_a, "a");
  const Operand b_operand = gemm_operand(b, trans_b, "b");
  const int64_t m = trans_a ? a.shape(1) : a.shape(0);
  const int64_t k = trans_a ? a.shape(0) : a.shape(1);
  const int64_t k_b = trans_b ? b.shape(1) : b.shape(0);
  const int64_t n = trans_b ? b.shape(0) : b.shape(1);
  if (k != k_b)
    throw py::value_error("gemm: inner dimensions differ: op(a) is " + shape_string({m, k}) +
                          ", op(b) is " + shape_string({k_b, n}));
  py::array out;
  if (out_object.is_none()) {
    out = new_float_array({m, n});
    beta = 0.0;
  } else {
    out = as_ndarray(out_object, "gemm", "out");
    require_float_output(out, {m, n}, "gemm", "out");
    if (overlaps(out, a) || overlaps(out, b))
      throw py::value_error("gemm: out must not share memory with a or b");
  }
  float* c_data = data_of<float>(out);
  {
    py::gil_scoped_release release;
    kernels::sgemm(a_operand.trans, b_operand.trans, m, n, k, static_cast<float>(alpha),
                   a_operand.data, a_operand.ld, b_operand.data, b_operand.ld,
                   static_cast<float>(beta), c_data, std::max<int64_t>(1, n));
  }
  return out;
}

py::array linear_forward(const InputArray& x, const InputArray& weight, const py::object& bias) {
  require_float_matrix(x, "linear_forward", "x");
  require_float_matrix(weight, "linear_forward", "weight");
  const int64_t batch = x.shape(0), in_features = x.shape(1);
  const int64_t out_features = weight.shape(0);
  if (weight.shape(1) != in_features)
    throw py::value_error("linear_forward: weight must be (out_features, in_features) with "
                          "in_features = " + std::to_string(in_features) + " (x is " +
                          shape_string(x) + "), got " + shape_string(weight));
  const float* bias_data = nullptr;
  py::array bias_array;
  if (!bias.is_none()) {
    if (!py::isinstance<py::array>(bias))
      throw py::type_error("linear_forward: bias must be a numpy.ndarray or None, got " +
                           std::string(py::str(py::type::of(bias).attr("__name__"))));
    bias_array = InputArray(py::reinterpret_borrow<py::array>(bias));
    require_float_input(bias_array, "linear_forward", "bias");
    require_shape(bias_array, {out_features}, "linear_forward", "bias");
    bias_data = cdata_of<float>(bias_array);
  }
  py::array out = new_line_aligned_float_array({batch, out_features});  // split by columns
  const float* x_data = cdata_of<float>(x);
  const float* weight_data = cdata_of<float>(weight);
  float* out_data = data_of<float>(out);
  {
    py::gil_scoped_release release;
    kernels::linear_forward(x_data, weight_data, bias_data, out_data, batch, in_features,
                            out_features);
  }
  return out;
}

py::tuple linear_backward(const InputArray& grad_output, const InputArray& x,
                          const InputArray& weight, bool need_x, bool need_weight,
                          bool need_bias) {
  require_float_matrix(grad_output, "linear_backward", "grad_output");
  require_float_matrix(x, "linear_backward", "x");
  require_float_matrix(weight, "linear_backward", "weight");
  const int64_t batch = grad_output.shape(0), out_features = grad_output.shape(1);
  const int64_t in_features = weight.shape(1);
  if (weight.shape(0) != out_features)
    throw py::value_error("linear_backward: weight must be (out_features, in_features) with "
                          "out_features = " + std::to_string(out_features) +
                          " (grad_output is " + shape_string(grad_output) + "), got " +
                          shape_string(weight));
  require_shape(x, {batch, in_features}, "linear_backward", "x");
  py::object grad_x = py::none(), grad_weight = py::none(), grad_bias = py::none();
  float* grad_x_data = nullptr;
  float* grad_weight_data = nullptr;
  float* grad_bias_data = nullptr;
  if (need_x) {
    py::array array = new_float_array({batch, in_features});
    grad_x_data = data_of<float>(array);
    grad_x = array;
  }
  if (need_weight) {
    py::array array = new_float_array({out_features, in_features});
    grad_weight_data = data_of<float>(array);
    grad_weight = array;
  }
  if (need_bias) {
    py::array array = new_float_array({out_features});
    grad_bias_data = data_of<float>(array);
    grad_bias = array;
  }
  const float* grad_data = cdata_of<float>(grad_output);
  const float* x_data = cdata_of<float>(x);
  const float* weight_data = cdata_of<float>(weight);
  {
    py::gil_scoped_release release;
    kernels::linear_backward(grad_data, x_data, weight_data, grad_x_data, grad_weight_data,
                             grad_bias_data, batch, in_features, out_features);
  }
  return py::make_tuple(grad_x, grad_weight, grad_bias);
}

py::array bias_grad(const InputArray& grad_output, int64_t axis) {
  require_float_input(grad_output, "bias_grad", "grad_output");
  const int64_t ndim = grad_output.ndim();
  if (ndim < 1)
    throw py::value_error("bias_grad: grad_output must be at least 1-D, got shape " +
                          shape_string(grad_output));
  if (axis < -ndim || axis >= ndim)
    throw py::index_error("bias_grad: axis " + std::to_string(axis) + " is out of range for a " +
                          std::to_string(ndim) + "-D grad_output");
  if (axis < 0) axis += ndim;
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= grad_output.shape(d);
  for (int64_t d = axis + 1; d < ndim; ++d) inner *= grad_output.shape(d);
  const int64_t channels = grad_output.shape(axis);
  py::array out = new_float_array({channels});
  const float* grad_data = cdata_of<float>(grad_output);
  float* out_data = data_of<float>(out);
  {
    py::gil_scoped_release release;
    kernels::bias_grad(grad_data, out_data, outer, channels, inner);
  }
  return out;
}

}  // namespace

void bind_gemm(py::module_& m) {
  py::register_exception<NonContiguousError>(m, "NonContiguousError", PyExc_ValueError);
  m.def("gemm", &gemm, py::arg("a"), py::arg("b"), py::arg("trans_a") = false,
        py::arg("trans_b") = false, py::arg("alpha") = 1.0, py::arg("beta") = 0.0,
        py::arg("out") = py::none(),
        "alpha * op(a) @ op(b) + beta * out (out updated in place and returned; beta is "
        "ignored without it). a, b: float32, 2-D, C- or F-contiguous (no copy is made).");
  m.def("linear_forward", &linear_forward, py::arg("x"), py::arg("weight"), py::arg("bias"),
        "x @ weight.T + bias; x (N, in), weight (out, in), bias (out,) or None.");
  m.def("linear_backward", &linear_backward, py::arg("grad_output"), py::arg("x"),
        py::arg("weight"), py::arg("need_x"), py::arg("need_weight"), py::arg("need_bias"),
        "(grad_x, grad_weight, grad_bias) of x @ weight.T + bias, each None unless asked for: "
        "grad_output @ weight, grad_output.T @ x, grad_output summed over the batch.");
  m.def("bias_grad", &bias_grad, py::arg("grad_output"), py::arg("axis"),
        "Sum of grad_output over every axis but `axis`.");
}

}  // namespace cunn::bind
