// pool family: max_pool2d_forward -> (output, int64 indices), max_pool2d_backward.
// NCHW float32, C-contiguous (the cpu adapter copies other layouts). kernel_size, stride
// and padding are (h, w) pairs with padding at most half the kernel, as in the reference
// (and PyTorch), so every window overlaps the input. The backward kernel checks every
// index against the input plane as it reads it (one pass, never writing through a bad
// one) and returns the first bad position, which is raised here.
#include "bindings/families.h"
#include "bindings/validate.h"
#include "kernels/pool.h"

namespace cunn::bind {
namespace {

std::string pair_string(int64_t a, int64_t b) { return shape_string(std::vector<int64_t>{a, b}); }

py::tuple max_pool2d_forward(const InputArray& x, const py::object& kernel_size,
                             const py::object& stride, const py::object& padding) {
  const char* op = "max_pool2d_forward";
  require_float32(x, op, "x");
  if (x.ndim() != 4)
    throw py::value_error(std::string(op) + ": x must be 4-D (N, C, H, W), got shape " +
                          shape_string(x));
  require_contiguous(x, op, "x");
  const std::vector<int64_t> kernel = int_sequence(kernel_size, 2, 1, op, "kernel_size");
  const std::vector<int64_t> steps = int_sequence(stride, 2, 1, op, "stride");
  const std::vector<int64_t> pad = int_sequence(padding, 2, 0, op, "padding");
  if (2 * pad[0] > kernel[0] || 2 * pad[1] > kernel[1])
    throw py::value_error(std::string(op) + ": padding must be at most half the kernel size, "
                          "got padding " + pair_string(pad[0], pad[1]) + " for kernel " +
                          pair_string(kernel[0], kernel[1]));
  // An empty plane has no maximum (PyTorch refuses it too); a window over padding alone
  // would report a position that does not exist.
  if (x.shape(2) == 0 || x.shape(3) == 0)
    throw py::value_error(std::string(op) + ": x must have planes of at least 1x1, got shape " +
                          shape_string(x));
  const int64_t batch = x.shape(0), channels = x.shape(1);
  kernels::Pool2dShape s{batch * channels, x.shape(2), x.shape(3), kernel[0], kernel[1],
                         steps[0], steps[1], pad[0], pad[1], 0, 0};
  const int64_t padded_h = s.height + 2 * s.pad_h, padded_w = s.width + 2 * s.pad_w;
  if (padded_h < s.kernel_h || padded_w < s.kernel_w)
    throw py::value_error(std::string(op) + ": kernel " + pair_string(s.kernel_h, s.kernel_w) +
                          " is larger than the padded input " + pair_string(padded_h, padded_w));
  s.out_h = (padded_h - s.kernel_h) / s.stride_h + 1;
  s.out_w = (padded_w - s.kernel_w) / s.stride_w + 1;
  const std::vector<int64_t> out_shape{batch, channels, s.out_h, s.out_w};
  py::array out = new_float_array(out_shape);
  py::array indices = new_int64_array(out_shape);
  const float* x_data = cdata_of<float>(x);
  float* out_data = data_of<float>(out);
  int64_t* indices_data = data_of<int64_t>(indices);
  {
    py::gil_scoped_release release;
    kernels::max_pool2d_forward(s, x_data, out_data, indices_data);
  }
  return py::make_tuple(out, indices);
}

py::array max_pool2d_backward(const InputArray& grad_output, const InputArray& indices,
                              const py::object& input_shape) {
  const char* op = "max_pool2d_backward";
  require_float32(grad_output, op, "grad_output");
  if (grad_output.ndim() != 4)
    throw py::value_error(std::string(op) + ": grad_output must be 4-D (N, C, OH, OW), got "
                          "shape " + shape_string(grad_output));
  require_contiguous(grad_output, op, "grad_output");
  require_int64(indices, op, "indices");
  require_contiguous(indices, op, "indices");
  require_shape(indices, shape_of(grad_output), op, "indices");
  const std::vector<int64_t> input = int_sequence(input_shape, 4, 0, op, "input_shape");
  if (grad_output.shape(0) != input[0] || grad_output.shape(1) != input[1])
    throw py::value_error(std::string(op) + ": grad_output must be (N, C, OH, OW) with (N, C) = " +
                          pair_string(input[0], input[1]) + " from input_shape " +
                          shape_string(input) + ", got " + shape_string(grad_output));
  const int64_t planes = input[0] * input[1];
  const int64_t in_plane = input[2] * input[3];
  const int64_t out_plane = grad_output.shape(2) * grad_output.shape(3);
  py::array grad_input = new_float_array(input);
  const float* grad_data = cdata_of<float>(grad_output);
  const int64_t* indices_data = cdata_of<int64_t>(indices);
  float* out_data = data_of<float>(grad_input);
  int64_t bad;
  {
    py::gil_scoped_release release;
    bad = kernels::max_pool2d_backward(grad_data, indices_data, out_data, planes, in_plane,
                                       out_plane);
  }
  if (bad >= 0)
    throw py::value_error(std::string(op) + ": indices must be in [0, " +
                          std::to_string(in_plane) + ") (H * W of input_shape " +
                          shape_string(input) + "), got " + std::to_string(indices_data[bad]) +
                          " at flat position " + std::to_string(bad));
  return grad_input;
}

}  // namespace

void bind_pool(py::module_& m) {
  m.def("max_pool2d_forward", &max_pool2d_forward, py::arg("x"), py::arg("kernel_size"),
        py::arg("stride"), py::arg("padding"),
        "2-D max pooling of x (N, C, H, W) -> (output, indices h * W + w in each input plane).");
  m.def("max_pool2d_backward", &max_pool2d_backward, py::arg("grad_output"), py::arg("indices"),
        py::arg("input_shape"),
        "Gradient of max_pool2d_forward: grad_output scattered to the saved indices.");
}

}  // namespace cunn::bind
