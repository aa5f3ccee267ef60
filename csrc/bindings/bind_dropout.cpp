// dropout family: dropout_forward(x, mask, scale) = x * mask * scale and
// dropout_backward(grad_output, mask, scale), the mask bool or uint8 of x's shape.
// Any shape (0-d included); float32 and C-contiguous (the cpu adapter copies other
// layouts).
#include "bindings/families.h"
#include "bindings/validate.h"
#include "kernels/dropout.h"

namespace cunn::bind {
namespace {

py::array apply(const char* op, const char* arg, const InputArray& values, const InputArray& mask,
                double scale) {
  require_float_input(values, op, arg);
  require_mask(mask, op, "mask");
  require_contiguous(mask, op, "mask");
  require_shape(mask, shape_of(values), op, "mask");
  py::array out = new_float_array(shape_of(values));
  const float* values_data = cdata_of<float>(values);
  const uint8_t* mask_data = cdata_of<uint8_t>(mask);
  float* out_data = data_of<float>(out);
  const int64_t n = values.size();
  const float factor = static_cast<float>(scale);
  {
    py::gil_scoped_release release;
    kernels::dropout_apply(values_data, mask_data, factor, out_data, n);
  }
  return out;
}

// Dropout2d: values (N, C, *) and a mask (N, C), one entry per channel plane.
py::array apply_channels(const char* op, const char* arg, const InputArray& values,
                         const InputArray& mask, double scale) {
  require_float_input(values, op, arg);
  if (values.ndim() < 2)
    throw py::value_error(std::string(op) + ": " + arg + " must be (N, C, *), got shape " +
                          shape_string(values));
  require_mask(mask, op, "mask");
  require_contiguous(mask, op, "mask");
  require_shape(mask, {values.shape(0), values.shape(1)}, op, "mask");
  py::array out = new_float_array(shape_of(values));
  const int64_t planes = values.shape(0) * values.shape(1);
  const int64_t inner = planes ? values.size() / planes : 0;
  const float* values_data = cdata_of<float>(values);
  const uint8_t* mask_data = cdata_of<uint8_t>(mask);
  float* out_data = data_of<float>(out);
  const float factor = static_cast<float>(scale);
  {
    py::gil_scoped_release release;
    kernels::dropout_channels_apply(values_data, mask_data, factor, out_data, planes, inner);
  }
  return out;
}

}  // namespace

void bind_dropout(py::module_& m) {
  m.def("dropout_forward", [](const InputArray& x, const InputArray& mask, double scale) {
    return apply("dropout_forward", "x", x, mask, scale);
  }, py::arg("x"), py::arg("mask"), py::arg("scale"), "x * mask * scale.");
  m.def("dropout_backward", [](const InputArray& grad_output, const InputArray& mask,
                               double scale) {
    return apply("dropout_backward", "grad_output", grad_output, mask, scale);
  }, py::arg("grad_output"), py::arg("mask"), py::arg("scale"), "grad_output * mask * scale.");
  m.def("dropout2d_forward", [](const InputArray& x, const InputArray& mask, double scale) {
    return apply_channels("dropout2d_forward", "x", x, mask, scale);
  }, py::arg("x"), py::arg("mask"), py::arg("scale"), "x * mask[:, :, None...] * scale.");
  m.def("dropout2d_backward", [](const InputArray& grad_output, const InputArray& mask,
                                 double scale) {
    return apply_channels("dropout2d_backward", "grad_output", grad_output, mask, scale);
  }, py::arg("grad_output"), py::arg("mask"), py::arg("scale"),
     "grad_output * mask[:, :, None...] * scale.");
}

}  // namespace cunn::bind
