// avg_pool family: avg_pool2d_forward / _backward (kernel_size, stride, padding as (h, w)
// pairs, padding at most half the kernel, count_include_pad) and adaptive_avg_pool2d_forward /
// _backward (output_size (OH, OW) >= 1). NCHW float32, C-contiguous (the cpu adapter copies
// other layouts). Only what memory safety needs is checked here.
#include "bindings/families.h"
#include "bindings/validate.h"
#include "kernels/avg_pool.h"

namespace cunn::bind {
namespace {

void require_images(const py::array& array, const char* op, const char* arg) {
  require_float32(array, op, arg);
  if (array.ndim() != 4)
    throw py::value_error(std::string(op) + ": " + arg + " must be 4-D (N, C, H, W), got shape " +
                          shape_string(array));
  require_contiguous(array, op, arg);
}

// The pooling geometry of input (N, C, H, W), checked so every window overlaps the plane.
kernels::Pool2dShape pool_shape(const std::vector<int64_t>& input, const py::object& kernel_size,
                                const py::object& stride, const py::object& padding,
                                const char* op) {
  const std::vector<int64_t> kernel = int_sequence(kernel_size, 2, 1, op, "kernel_size");
  const std::vector<int64_t> steps = int_sequence(stride, 2, 1, op, "stride");
  const std::vector<int64_t> pad = int_sequence(padding, 2, 0, op, "padding");
  if (2 * pad[0] > kernel[0] || 2 * pad[1] > kernel[1])
    throw py::value_error(std::string(op) + ": padding must be at most half the kernel size");
  kernels::Pool2dShape s{input[0] * input[1], input[2], input[3], kernel[0], kernel[1],
                         steps[0], steps[1], pad[0], pad[1], 0, 0};
  const int64_t padded_h = s.height + 2 * s.pad_h, padded_w = s.width + 2 * s.pad_w;
  if (padded_h < s.kernel_h || padded_w < s.kernel_w)
    throw py::value_error(std::string(op) + ": kernel is larger than the padded input " +
                          shape_string(std::vector<int64_t>{padded_h, padded_w}));
  s.out_h = (padded_h - s.kernel_h) / s.stride_h + 1;
  s.out_w = (padded_w - s.kernel_w) / s.stride_w + 1;
  return s;
}

py::array avg_pool2d_forward(const InputArray& x, const py::object& kernel_size,
                             const py::object& stride, const py::object& padding,
                             bool count_include_pad) {
  const char* op = "avg_pool2d_forward";
  require_images(x, op, "x");
  const std::vector<int64_t> input = shape_of(x);
  const kernels::Pool2dShape s = pool_shape(input, kernel_size, stride, padding, op);
  py::array out = new_float_array({input[0], input[1], s.out_h, s.out_w});
  const float* x_data = cdata_of<float>(x);
  float* out_data = data_of<float>(out);
  {
    py::gil_scoped_release release;
    kernels::avg_pool2d_forward(s, count_include_pad, x_data, out_data);
  }
  return out;
}

py::array avg_pool2d_backward(const InputArray& grad_output, const py::object& input_shape,
                              const py::object& kernel_size, const py::object& stride,
                              const py::object& padding, bool count_include_pad) {
  const char* op = "avg_pool2d_backward";
  require_images(grad_output, op, "grad_output");
  const std::vector<int64_t> input = int_sequence(input_shape, 4, 0, op, "input_shape");
  const kernels::Pool2dShape s = pool_shape(input, kernel_size, stride, padding, op);
  require_shape(grad_output, {input[0], input[1], s.out_h, s.out_w}, op, "grad_output");
  py::array grad_input = new_float_array(input);
  const float* grad_data = cdata_of<float>(grad_output);
  float* out_data = data_of<float>(grad_input);
  {
    py::gil_scoped_release release;
    kernels::avg_pool2d_backward(s, count_include_pad, grad_data, out_data);
  }
  return grad_input;
}

py::array adaptive_avg_pool2d_forward(const InputArray& x, const py::object& output_size) {
  const char* op = "adaptive_avg_pool2d_forward";
  require_images(x, op, "x");
  const std::vector<int64_t> out_size = int_sequence(output_size, 2, 1, op, "output_size");
  const std::vector<int64_t> input = shape_of(x);
  if (input[2] == 0 || input[3] == 0)
    throw py::value_error(std::string(op) + ": x must have planes of at least 1x1, got shape " +
                          shape_string(x));
  py::array out = new_float_array({input[0], input[1], out_size[0], out_size[1]});
  const float* x_data = cdata_of<float>(x);
  float* out_data = data_of<float>(out);
  {
    py::gil_scoped_release release;
    kernels::adaptive_avg_pool2d_forward(input[0] * input[1], input[2], input[3], out_size[0],
                                         out_size[1], x_data, out_data);
  }
  return out;
}

py::array adaptive_avg_pool2d_backward(const InputArray& grad_output,
                                       const py::object& input_shape) {
  const char* op = "adaptive_avg_pool2d_backward";
  require_images(grad_output, op, "grad_output");
  const std::vector<int64_t> input = int_sequence(input_shape, 4, 0, op, "input_shape");
  if (input[2] == 0 || input[3] == 0)
    throw py::value_error(std::string(op) + ": input_shape must have planes of at least 1x1");
  if (grad_output.shape(0) != input[0] || grad_output.shape(1) != input[1] ||
      grad_output.shape(2) < 1 || grad_output.shape(3) < 1)
    throw py::value_error(std::string(op) + ": grad_output must be (N, C, OH, OW) with (N, C) "
                          "from input_shape " + shape_string(input) + " and OH, OW >= 1, got " +
                          shape_string(grad_output));
  py::array grad_input = new_float_array(input);
  const float* grad_data = cdata_of<float>(grad_output);
  float* out_data = data_of<float>(grad_input);
  const int64_t out_h = grad_output.shape(2), out_w = grad_output.shape(3);
  {
    py::gil_scoped_release release;
    kernels::adaptive_avg_pool2d_backward(input[0] * input[1], input[2], input[3], out_h, out_w,
                                          grad_data, out_data);
  }
  return grad_input;
}

}  // namespace

void bind_avg_pool(py::module_& m) {
  m.def("avg_pool2d_forward", &avg_pool2d_forward, py::arg("x"), py::arg("kernel_size"),
        py::arg("stride"), py::arg("padding"), py::arg("count_include_pad") = true,
        "2-D average pooling of x (N, C, H, W).");
  m.def("avg_pool2d_backward", &avg_pool2d_backward, py::arg("grad_output"),
        py::arg("input_shape"), py::arg("kernel_size"), py::arg("stride"), py::arg("padding"),
        py::arg("count_include_pad") = true, "Gradient of avg_pool2d_forward.");
  m.def("adaptive_avg_pool2d_forward", &adaptive_avg_pool2d_forward, py::arg("x"),
        py::arg("output_size"), "Adaptive 2-D average pooling of x (N, C, H, W) to output_size.");
  m.def("adaptive_avg_pool2d_backward", &adaptive_avg_pool2d_backward, py::arg("grad_output"),
        py::arg("input_shape"), "Gradient of adaptive_avg_pool2d_forward.");
}

}  // namespace cunn::bind
