// relu / leaky_relu / sigmoid / tanh, forward and backward. Inputs float32
// C-contiguous (the Python adapter makes them so); outputs new arrays of the
// input's shape.
#include "bindings/families.h"
#include "bindings/elementwise_call.h"
#include "bindings/validate.h"
#include "kernels/activation.h"

namespace cunn::bind {

void bind_activation(py::module_& m) {
  m.def("relu_forward", [](const InputArray& x) {
    return elementwise_forward("relu_forward", x, kernels::relu_forward);
  }, py::arg("x"));
  m.def("relu_backward", [](const InputArray& grad_output, const InputArray& x) {
    return elementwise_backward("relu_backward", grad_output, x, "x", kernels::relu_backward);
  }, py::arg("grad_output"), py::arg("x"));
  m.def("leaky_relu_forward", [](const InputArray& x, float negative_slope) {
    return elementwise_forward("leaky_relu_forward", x,
                               [negative_slope](const float* in, float* out, int64_t n) {
                                 kernels::leaky_relu_forward(in, out, n, negative_slope);
                               });
  }, py::arg("x"), py::arg("negative_slope"));
  m.def("leaky_relu_backward", [](const InputArray& grad_output, const InputArray& x,
                                  float negative_slope) {
    return elementwise_backward(
        "leaky_relu_backward", grad_output, x, "x",
        [negative_slope](const float* g, const float* in, float* out, int64_t n) {
          kernels::leaky_relu_backward(g, in, out, n, negative_slope);
        });
  }, py::arg("grad_output"), py::arg("x"), py::arg("negative_slope"));
  m.def("sigmoid_forward", [](const InputArray& x) {
    return elementwise_forward("sigmoid_forward", x, kernels::sigmoid_forward);
  }, py::arg("x"));
  m.def("sigmoid_backward", [](const InputArray& grad_output, const InputArray& output) {
    return elementwise_backward("sigmoid_backward", grad_output, output, "output",
                                kernels::sigmoid_backward);
  }, py::arg("grad_output"), py::arg("output"));
  m.def("tanh_forward", [](const InputArray& x) {
    return elementwise_forward("tanh_forward", x, kernels::tanh_forward);
  }, py::arg("x"));
  m.def("tanh_backward", [](const InputArray& grad_output, const InputArray& output) {
    return elementwise_backward("tanh_backward", grad_output, output, "output",
                                kernels::tanh_backward);
  }, py::arg("grad_output"), py::arg("output"));
}

}  // namespace cunn::bind
