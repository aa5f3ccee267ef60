// relu / leaky_relu / sigmoid / tanh, forward and backward. Inputs float32
// C-contiguous (the Python adapter makes them so); outputs new arrays of the
// input's shape.
#include "bindings/families.h"
#include "bindings/validate.h"
#include "kernels/activation.h"

namespace cunn::bind {
namespace {

using Forward = void (*)(const float*, float*, int64_t);
using Backward = void (*)(const float*, const float*, float*, int64_t);

py::array forward(Forward kernel, const char* op, const InputArray& x) {
  require_float_input(x, op, "x");
  py::array out = new_float_array(shape_of(x));
  const float* x_data = cdata_of<float>(x);
  float* out_data = data_of<float>(out);
  const int64_t n = x.size();
  {
    py::gil_scoped_release release;
    kernel(x_data, out_data, n);
  }
  return out;
}

// `saved` is x (relu) or the forward output (sigmoid, tanh), named `saved_arg`.
py::array backward(Backward kernel, const char* op, const InputArray& grad_output,
                   const InputArray& saved, const char* saved_arg) {
  require_float_input(grad_output, op, "grad_output");
  require_float_input(saved, op, saved_arg);
  require_shape(grad_output, shape_of(saved), op, "grad_output");
  py::array grad_input = new_float_array(shape_of(saved));
  const float* grad_data = cdata_of<float>(grad_output);
  const float* saved_data = cdata_of<float>(saved);
  float* out_data = data_of<float>(grad_input);
  const int64_t n = saved.size();
  {
    py::gil_scoped_release release;
    kernel(grad_data, saved_data, out_data, n);
  }
  return grad_input;
}

}  // namespace

void bind_activation(py::module_& m) {
  m.def("relu_forward", [](const InputArray& x) {
    return forward(kernels::relu_forward, "relu_forward", x);
  }, py::arg("x"));
  m.def("relu_backward", [](const InputArray& grad_output, const InputArray& x) {
    return backward(kernels::relu_backward, "relu_backward", grad_output, x, "x");
  }, py::arg("grad_output"), py::arg("x"));
  m.def("leaky_relu_forward", [](const InputArray& x, float negative_slope) {
    const char* op = "leaky_relu_forward";
    require_float_input(x, op, "x");
    py::array out = new_float_array(shape_of(x));
    const float* x_data = cdata_of<float>(x);
    float* out_data = data_of<float>(out);
    const int64_t n = x.size();
    {
      py::gil_scoped_release release;
      kernels::leaky_relu_forward(x_data, out_data, n, negative_slope);
    }
    return out;
  }, py::arg("x"), py::arg("negative_slope"));
  m.def("leaky_relu_backward", [](const InputArray& grad_output, const InputArray& x,
                                  float negative_slope) {
    const char* op = "leaky_relu_backward";
    require_float_input(grad_output, op, "grad_output");
    require_float_input(x, op, "x");
    require_shape(grad_output, shape_of(x), op, "grad_output");
    py::array grad_input = new_float_array(shape_of(x));
    const float* grad_data = cdata_of<float>(grad_output);
    const float* x_data = cdata_of<float>(x);
    float* out_data = data_of<float>(grad_input);
    const int64_t n = x.size();
    {
      py::gil_scoped_release release;
      kernels::leaky_relu_backward(grad_data, x_data, out_data, n, negative_slope);
    }
    return grad_input;
  }, py::arg("grad_output"), py::arg("x"), py::arg("negative_slope"));
  m.def("sigmoid_forward", [](const InputArray& x) {
    return forward(kernels::sigmoid_forward, "sigmoid_forward", x);
  }, py::arg("x"));
  m.def("sigmoid_backward", [](const InputArray& grad_output, const InputArray& output) {
    return backward(kernels::sigmoid_backward, "sigmoid_backward", grad_output, output, "output");
  }, py::arg("grad_output"), py::arg("output"));
  m.def("tanh_forward", [](const InputArray& x) {
    return forward(kernels::tanh_forward, "tanh_forward", x);
  }, py::arg("x"));
  m.def("tanh_backward", [](const InputArray& grad_output, const InputArray& output) {
    return backward(kernels::tanh_backward, "tanh_backward", grad_output, output, "output");
  }, py::arg("grad_output"), py::arg("output"));
}

}  // namespace cunn::bind
