// smooth_activation family: gelu / elu / silu / softplus, forward(x, ...) and
// backward(grad_output, x, ...). float32, C-contiguous inputs (the cpu adapter makes them so);
// outputs are new arrays of x's shape.
#include <string>

#include "bindings/families.h"
#include "bindings/elementwise_call.h"
#include "bindings/validate.h"
#include "kernels/smooth_activation.h"

namespace cunn::bind {
namespace {

bool tanh_form(const std::string& approximate, const char* op) {
  if (approximate == "tanh") return true;
  if (approximate == "none") return false;
  throw py::value_error(std::string(op) + ": approximate must be 'none' or 'tanh', got '" +
                        approximate + "'");
}

}  // namespace

void bind_smooth_activation(py::module_& m) {
  m.def("gelu_forward", [](const InputArray& x, const std::string& approximate) {
    const bool tanh = tanh_form(approximate, "gelu_forward");
    return elementwise_forward("gelu_forward", x, [tanh](const float* in, float* out, int64_t n) {
      kernels::gelu_forward(in, out, n, tanh);
    });
  }, py::arg("x"), py::arg("approximate") = "none");
  m.def("gelu_backward", [](const InputArray& grad_output, const InputArray& x,
                            const std::string& approximate) {
    const bool tanh = tanh_form(approximate, "gelu_backward");
    return elementwise_backward("gelu_backward", grad_output, x, "x",
                    [tanh](const float* g, const float* in, float* out, int64_t n) {
                      kernels::gelu_backward(g, in, out, n, tanh);
                    });
  }, py::arg("grad_output"), py::arg("x"), py::arg("approximate") = "none");
  m.def("elu_forward", [](const InputArray& x, float alpha) {
    return elementwise_forward("elu_forward", x, [alpha](const float* in, float* out, int64_t n) {
      kernels::elu_forward(in, out, n, alpha);
    });
  }, py::arg("x"), py::arg("alpha"));
  m.def("elu_backward", [](const InputArray& grad_output, const InputArray& x, float alpha) {
    return elementwise_backward("elu_backward", grad_output, x, "x",
                    [alpha](const float* g, const float* in, float* out, int64_t n) {
                      kernels::elu_backward(g, in, out, n, alpha);
                    });
  }, py::arg("grad_output"), py::arg("x"), py::arg("alpha"));
  m.def("silu_forward", [](const InputArray& x) {
    return elementwise_forward("silu_forward", x, kernels::silu_forward);
  }, py::arg("x"));
  m.def("silu_backward", [](const InputArray& grad_output, const InputArray& x) {
    return elementwise_backward("silu_backward", grad_output, x, "x", kernels::silu_backward);
  }, py::arg("grad_output"), py::arg("x"));
  m.def("softplus_forward", [](const InputArray& x, float beta, float threshold) {
    return elementwise_forward("softplus_forward", x,
                   [beta, threshold](const float* in, float* out, int64_t n) {
                     kernels::softplus_forward(in, out, n, beta, threshold);
                   });
  }, py::arg("x"), py::arg("beta"), py::arg("threshold"));
  m.def("softplus_backward", [](const InputArray& grad_output, const InputArray& x, float beta,
                                float threshold) {
    return elementwise_backward("softplus_backward", grad_output, x, "x",
                    [beta, threshold](const float* g, const float* in, float* out, int64_t n) {
                      kernels::softplus_backward(g, in, out, n, beta, threshold);
                    });
  }, py::arg("grad_output"), py::arg("x"), py::arg("beta"), py::arg("threshold"));
}

}  // namespace cunn::bind
