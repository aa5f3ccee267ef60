// conv2d family: conv2d_forward, conv2d_backward_input, conv2d_backward_weight (NCHW,
// float32, C-contiguous; the cpu adapter copies other layouts). stride and padding are
// (h, w) pairs; the output size is (H + 2 ph - kh) / sh + 1 as in the reference, and a
// kernel larger than the padded input is refused. Checks everything, then releases
// the GIL for the kernel. conv2d_relu_pool_forward / _backward: Conv2d -> ReLU ->
// MaxPool2d(2) in one call each way (kernels/conv2d_relu_pool.h), the window codes uint8.
#include "bindings/families.h"
#include "bindings/validate.h"
#include "kernels/conv2d.h"
#include "kernels/conv2d_relu_pool.h"

namespace cunn::bind {
namespace {

std::string pair_string(int64_t a, int64_t b) { return shape_string(std::vector<int64_t>{a, b}); }

// The geometry shared by the three kernels, from the input's and the weight's shapes.
kernels::Conv2dShape geometry(const std::vector<int64_t>& input, const char* input_arg,
                              const std::vector<int64_t>& weight, const char* weight_arg,
                              const py::object& stride, const py::object& padding,
                              const char* op) {
  if (weight[1] != input[1])
    throw py::value_error(std::string(op) + ": " + weight_arg + " expects " +
                          std::to_string(weight[1]) + " input channels, " + input_arg + " has " +
                          std::to_string(input[1]) + " (" + input_arg + ": " +
                          shape_string(input) + ", " + weight_arg + ": " + shape_string(weight) +
                          ")");
  if (weight[2] < 1 || weight[3] < 1)
    throw py::value_error(std::string(op) + ": the kernel size must be at least (1, 1), got " +
                          pair_string(weight[2], weight[3]) + " (" + weight_arg + ": " +
                          shape_string(weight) + ")");
  const std::vector<int64_t> s = int_sequence(stride, 2, 1, op, "stride");
  const std::vector<int64_t> pad = int_sequence(padding, 2, 0, op, "padding");
  kernels::Conv2dShape shape{input[0], input[1], input[2], input[3], weight[0], weight[2],
                             weight[3], s[0], s[1], pad[0], pad[1], 0, 0};
  const int64_t padded_h = shape.height + 2 * shape.pad_h;
  const int64_t padded_w = shape.width + 2 * shape.pad_w;
  if (padded_h < shape.kernel_h || padded_w < shape.kernel_w)
    throw py::value_error(std::string(op) + ": kernel " +
                          pair_string(shape.kernel_h, shape.kernel_w) +
                          " is larger than the padded input " + pair_string(padded_h, padded_w));
  shape.out_h = (padded_h - shape.kernel_h) / shape.stride_h + 1;
  shape.out_w = (padded_w - shape.kernel_w) / shape.stride_w + 1;
  return shape;
}

void require_nchw(const py::array& array, const char* op, const char* arg) {
  require_float32(array, op, arg);
  if (array.ndim() != 4)
    throw py::value_error(std::string(op) + ": " + arg + " must be 4-D (N, C, H, W), got shape " +
                          shape_string(array));
  require_contiguous(array, op, arg);
}

void require_weight(const py::array& weight, const char* op) {
  require_float32(weight, op, "weight");
  if (weight.ndim() != 4)
    throw py::value_error(std::string(op) + ": weight must be 4-D (O, C, kh, kw), got shape " +
                          shape_string(weight));
  require_contiguous(weight, op, "weight");
}

std::vector<int64_t> output_shape(const kernels::Conv2dShape& s) {
  return {s.batch, s.out_channels, s.out_h, s.out_w};
}

// The optional bias (O,) as an array kept alive in `holder`, or null.
const float* bias_of(const py::object& bias, int64_t out_channels, py::array& holder,
                     const char* op) {
  if (bias.is_none()) return nullptr;
  if (!py::isinstance<py::array>(bias))
    throw py::type_error(std::string(op) + ": bias must be a numpy.ndarray or None, got " +
                         std::string(py::str(py::type::of(bias).attr("__name__"))));
  holder = InputArray(py::reinterpret_borrow<py::array>(bias));
  require_float_input(holder, op, "bias");
  require_shape(holder, {out_channels}, op, "bias");
  return cdata_of<float>(holder);
}

py::array conv2d_forward(const InputArray& x, const InputArray& weight, const py::object& bias,
                         const py::object& stride, const py::object& padding) {
  const char* op = "conv2d_forward";
  require_nchw(x, op, "x");
  require_weight(weight, op);
  const kernels::Conv2dShape s =
      geometry(shape_of(x), "x", shape_of(weight), "weight", stride, padding, op);
  py::array bias_array;
  const float* bias_data = bias_of(bias, s.out_channels, bias_array, op);
  py::array out = new_float_array(output_shape(s));
  const float* x_data = cdata_of<float>(x);
  const float* weight_data = cdata_of<float>(weight);
  float* out_data = data_of<float>(out);
  {
    py::gil_scoped_release release;
    kernels::conv2d_forward(s, x_data, weight_data, bias_data, out_data);
  }
  return out;
}

py::array conv2d_backward_input(const InputArray& grad_output, const InputArray& weight,
                                const py::object& input_shape, const py::object& stride,
                                const py::object& padding) {
  const char* op = "conv2d_backward_input";
  require_nchw(grad_output, op, "grad_output");
  require_weight(weight, op);
  const std::vector<int64_t> input = int_sequence(input_shape, 4, 0, op, "input_shape");
  const kernels::Conv2dShape s =
      geometry(input, "input_shape", shape_of(weight), "weight", stride, padding, op);
  require_shape(grad_output, output_shape(s), op, "grad_output");
  py::array grad_input = new_float_array(input);
  const float* grad_data = cdata_of<float>(grad_output);
  const float* weight_data = cdata_of<float>(weight);
  float* out_data = data_of<float>(grad_input);
  {
    py::gil_scoped_release release;
    kernels::conv2d_backward_input(s, grad_data, weight_data, out_data);
  }
  return grad_input;
}

py::array conv2d_backward_weight(const InputArray& grad_output, const InputArray& x,
                                 const py::object& weight_shape, const py::object& stride,
                                 const py::object& padding) {
  const char* op = "conv2d_backward_weight";
  require_nchw(grad_output, op, "grad_output");
  require_nchw(x, op, "x");
  const std::vector<int64_t> weight = int_sequence(weight_shape, 4, 0, op, "weight_shape");
  const kernels::Conv2dShape s =
      geometry(shape_of(x), "x", weight, "weight_shape", stride, padding, op);
  require_shape(grad_output, output_shape(s), op, "grad_output");
  py::array grad_weight = new_float_array(weight);
  const float* grad_data = cdata_of<float>(grad_output);
  const float* x_data = cdata_of<float>(x);
  float* out_data = data_of<float>(grad_weight);
  {
    py::gil_scoped_release release;
    kernels::conv2d_backward_weight(s, grad_data, x_data, out_data);
  }
  return grad_weight;
}

// The pooled shape (N, O, OH / 2, OW / 2); the convolution's output must hold a window.
std::vector<int64_t> pooled_shape(const kernels::Conv2dShape& s, const char* op) {
  if (s.out_h < 2 || s.out_w < 2)
    throw py::value_error(std::string(op) + ": the convolution's output " +
                          pair_string(s.out_h, s.out_w) + " is smaller than the 2x2 pool window");
  return {s.batch, s.out_channels, s.out_h / 2, s.out_w / 2};
}

py::tuple conv2d_relu_pool_forward(const InputArray& x, const InputArray& weight,
                                   const py::object& bias, const py::object& stride,
                                   const py::object& padding) {
  const char* op = "conv2d_relu_pool_forward";
  require_nchw(x, op, "x");
  require_weight(weight, op);
  const kernels::Conv2dShape s =
      geometry(shape_of(x), "x", shape_of(weight), "weight", stride, padding, op);
  const std::vector<int64_t> shape = pooled_shape(s, op);
  py::array bias_array;
  const float* bias_data = bias_of(bias, s.out_channels, bias_array, op);
  py::array pooled = new_float_array(shape);
  py::array codes(py::dtype::of<uint8_t>(), std::vector<py::ssize_t>(shape.begin(), shape.end()));
  const float* x_data = cdata_of<float>(x);
  const float* weight_data = cdata_of<float>(weight);
  float* pooled_data = data_of<float>(pooled);
  uint8_t* codes_data = data_of<uint8_t>(codes);
  {
    py::gil_scoped_release release;
    kernels::conv2d_relu_pool_forward(s, x_data, weight_data, bias_data, pooled_data,
                                      codes_data);
  }
  return py::make_tuple(pooled, codes);
}

py::tuple conv2d_relu_pool_backward(const InputArray& grad_output, const InputArray& codes,
                                    const InputArray& x, const InputArray& weight,
                                    const py::object& stride, const py::object& padding,
                                    bool need_x, bool need_weight, bool need_bias) {
  const char* op = "conv2d_relu_pool_backward";
  require_nchw(grad_output, op, "grad_output");
  require_nchw(x, op, "x");
  require_weight(weight, op);
  if (!codes.dtype().is(py::dtype::of<uint8_t>()))
    throw py::type_error(std::string(op) + ": codes must be uint8, got " +
                         std::string(py::str(codes.dtype())));
  require_contiguous(codes, op, "codes");
  const kernels::Conv2dShape s =
      geometry(shape_of(x), "x", shape_of(weight), "weight", stride, padding, op);
  const std::vector<int64_t> shape = pooled_shape(s, op);
  require_shape(grad_output, shape, op, "grad_output");
  require_shape(codes, shape, op, "codes");
  py::object grad_x = py::none(), grad_weight = py::none(), grad_bias = py::none();
  float *grad_x_data = nullptr, *grad_weight_data = nullptr, *grad_bias_data = nullptr;
  if (need_x) {
    py::array array = new_float_array(shape_of(x));
    grad_x_data = data_of<float>(array);
    grad_x = array;
  }
  if (need_weight) {
    py::array array = new_float_array(shape_of(weight));
    grad_weight_data = data_of<float>(array);
    grad_weight = array;
  }
  if (need_bias) {
    py::array array = new_float_array({s.out_channels});
    grad_bias_data = data_of<float>(array);
    grad_bias = array;
  }
  const float* grad_data = cdata_of<float>(grad_output);
  const uint8_t* codes_data = cdata_of<uint8_t>(codes);
  const float* x_data = cdata_of<float>(x);
  const float* weight_data = cdata_of<float>(weight);
  {
    py::gil_scoped_release release;
    kernels::conv2d_relu_pool_backward(s, grad_data, codes_data, x_data, weight_data,
                                       grad_x_data, grad_weight_data, grad_bias_data);
  }
  return py::make_tuple(grad_x, grad_weight, grad_bias);
}

}  // namespace

void bind_conv2d(py::module_& m) {
  m.def("conv2d_forward", &conv2d_forward, py::arg("x"), py::arg("weight"), py::arg("bias"),
        py::arg("stride"), py::arg("padding"),
        "Cross-correlation of x (N, C, H, W) with weight (O, C, kh, kw), plus bias (O,) or "
        "None -> (N, O, OH, OW).");
  m.def("conv2d_backward_input", &conv2d_backward_input, py::arg("grad_output"),
        py::arg("weight"), py::arg("input_shape"), py::arg("stride"), py::arg("padding"),
        "Gradient of conv2d_forward with respect to x, of shape input_shape.");
  m.def("conv2d_backward_weight", &conv2d_backward_weight, py::arg("grad_output"), py::arg("x"),
        py::arg("weight_shape"), py::arg("stride"), py::arg("padding"),
        "Gradient of conv2d_forward with respect to weight, of shape weight_shape.");
  m.def("conv2d_relu_pool_forward", &conv2d_relu_pool_forward, py::arg("x"), py::arg("weight"),
        py::arg("bias"), py::arg("stride"), py::arg("padding"),
        "max_pool2d(relu(conv2d(x)), 2) -> (pooled (N, O, OH/2, OW/2), codes uint8).");
  m.def("conv2d_relu_pool_backward", &conv2d_relu_pool_backward, py::arg("grad_output"),
        py::arg("codes"), py::arg("x"), py::arg("weight"), py::arg("stride"), py::arg("padding"),
        py::arg("need_x"), py::arg("need_weight"), py::arg("need_bias"),
        "Gradients (grad_x, grad_weight, grad_bias) of conv2d_relu_pool_forward, each None "
        "unless asked for.");
}

}  // namespace cunn::bind
