// The call shape every activation binding shares: check the float32 inputs, allocate the
// output of x's shape, release the GIL around the kernel. `kernel` is a kernels:: function or
// a lambda that binds the activation's own parameters (alpha, beta, ...).
#pragma once

#include <cstdint>

#include "bindings/validate.h"

namespace cunn::bind {

// out = f(x): kernel(x, out, n).
template <class Kernel>
py::array elementwise_forward(const char* op, const InputArray& x, const Kernel& kernel) {
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

// grad_input from grad_output and what the forward saved (x, or its output), named
// `saved_arg` in errors: kernel(grad_output, saved, grad_input, n).
template <class Kernel>
py::array elementwise_backward(const char* op, const InputArray& grad_output,
                               const InputArray& saved, const char* saved_arg,
                               const Kernel& kernel) {
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

}  // namespace cunn::bind
