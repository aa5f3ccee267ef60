// softmax / log_softmax forward and backward along `dim` (negative counts from
// the end; a 0-d array behaves as one element along dim 0 or -1, as PyTorch).
// The array is handed to the kernel as (outer, n, inner) around `dim`.
#include "bindings/families.h"
#include "bindings/validate.h"
#include "kernels/softmax.h"

namespace cunn::bind {
namespace {

struct Slices {
  int64_t outer = 1, n = 1, inner = 1;
};

Slices slices_around(const py::array& x, int64_t dim, const char* op) {
  const int64_t ndim = x.ndim();
  const int64_t rank = ndim == 0 ? 1 : ndim;
  if (dim < -rank || dim >= rank)
    throw py::index_error(std::string(op) + ": dim must be in [" + std::to_string(-rank) + ", " +
                          std::to_string(rank) + "), got " + std::to_string(dim));
  if (dim < 0) dim += rank;
  Slices slices;
  for (int64_t d = 0; d < ndim; ++d) {
    if (d < dim) slices.outer *= x.shape(d);
    else if (d == dim) slices.n = x.shape(d);
    else slices.inner *= x.shape(d);
  }
  return slices;
}

using Forward = void (*)(const float*, float*, int64_t, int64_t, int64_t);
using Backward = void (*)(const float*, const float*, float*, int64_t, int64_t, int64_t);

py::array forward(Forward kernel, const char* op, const InputArray& x, int64_t dim) {
  require_float_input(x, op, "x");
  const Slices s = slices_around(x, dim, op);
  py::array out = new_float_array(shape_of(x));
  const float* x_data = cdata_of<float>(x);
  float* out_data = data_of<float>(out);
  {
    py::gil_scoped_release release;
    kernel(x_data, out_data, s.outer, s.n, s.inner);
  }
  return out;
}

py::array backward(Backward kernel, const char* op, const InputArray& grad_output,
                   const InputArray& output, int64_t dim) {
  require_float_input(grad_output, op, "grad_output");
  require_float_input(output, op, "output");
  require_shape(grad_output, shape_of(output), op, "grad_output");
  const Slices s = slices_around(output, dim, op);
  py::array grad_input = new_float_array(shape_of(output));
  const float* grad_data = cdata_of<float>(grad_output);
  const float* output_data = cdata_of<float>(output);
  float* grad_input_data = data_of<float>(grad_input);
  {
    py::gil_scoped_release release;
    kernel(grad_data, output_data, grad_input_data, s.outer, s.n, s.inner);
  }
  return grad_input;
}

}  // namespace

void bind_softmax(py::module_& m) {
  m.def("softmax_forward", [](const InputArray& x, int64_t dim) {
    return forward(kernels::softmax_forward, "softmax_forward", x, dim);
  }, py::arg("x"), py::arg("dim"));
  m.def("log_softmax_forward", [](const InputArray& x, int64_t dim) {
    return forward(kernels::log_softmax_forward, "log_softmax_forward", x, dim);
  }, py::arg("x"), py::arg("dim"));
  m.def("softmax_backward", [](const InputArray& grad_output, const InputArray& output,
                               int64_t dim) {
    return backward(kernels::softmax_backward, "softmax_backward", grad_output, output, dim);
  }, py::arg("grad_output"), py::arg("output"), py::arg("dim"));
  m.def("log_softmax_backward", [](const InputArray& grad_output, const InputArray& output,
                                   int64_t dim) {
    return backward(kernels::log_softmax_backward, "log_softmax_backward", grad_output, output,
                    dim);
  }, py::arg("grad_output"), py::arg("output"), py::arg("dim"));
}

}  // namespace cunn::bind
