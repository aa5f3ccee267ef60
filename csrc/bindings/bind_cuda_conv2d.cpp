// cunn._C.cuda conv2d_forward / conv2d_backward_input / conv2d_backward_weight (NCHW,
// device pointers as ints; kernels in csrc/cuda/conv2d.h). The output size
// (H + 2 pad_h - kh) / stride_h + 1 (likewise W) is computed here; a kernel larger than the
// padded input is refused.
#include <pybind11/pybind11.h>

#include <limits>

#include "bindings/cuda_layer_args.h"
#include "bindings/cuda_layer_families.h"
#include "cuda/conv2d.h"

namespace py = pybind11;

namespace cunn::bind {
namespace {

using cuda_args::pointer;
using cuda_args::product;
using cuda_args::size;

cunn::cuda::Conv2dShape geometry(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w,
                                 std::int64_t o, std::int64_t kh, std::int64_t kw,
                                 std::int64_t stride_h, std::int64_t stride_w, std::int64_t pad_h,
                                 std::int64_t pad_w, const char* op) {
  cunn::cuda::Conv2dShape s{size(n, op, "n"),
                            size(c, op, "c"),
                            size(h, op, "h"),
                            size(w, op, "w"),
                            size(o, op, "o"),
                            size(kh, op, "kh", 1),
                            size(kw, op, "kw", 1),
                            size(stride_h, op, "stride_h", 1),
                            size(stride_w, op, "stride_w", 1),
                            size(pad_h, op, "pad_h"),
                            size(pad_w, op, "pad_w"),
                            0,
                            0};
  // Sizes this large are no real convolution; the bound keeps every sum below int64.
  constexpr std::int64_t kLimit = std::int64_t{1} << 31;
  for (const std::int64_t value : {h, w, kh, kw, stride_h, stride_w, pad_h, pad_w})
    if (value >= kLimit) cuda_args::fail(op, "sizes, strides and padding must be below 2^31");
  const std::int64_t padded_h = h + 2 * pad_h, padded_w = w + 2 * pad_w;
  if (padded_h < kh || padded_w < kw)
    cuda_args::fail(op, "kernel (" + std::to_string(kh) + ", " + std::to_string(kw) +
                            ") is larger than the padded input (" + std::to_string(padded_h) +
                            ", " + std::to_string(padded_w) + ")");
  s.out_h = (padded_h - kh) / stride_h + 1;
  s.out_w = (padded_w - kw) / stride_w + 1;
  // Every buffer's element count, and one image's column workspace (conv2d.cu), must fit.
  product({n, c, h, w}, op);
  product({n, o, s.out_h, s.out_w}, op);
  const std::int64_t rows = product({c, kh, kw}, op);
  product({o, rows}, op);
  if (rows > std::numeric_limits<std::int64_t>::max() - o)
    cuda_args::fail(op, "the sizes' product does not fit in int64");
  product({rows + o, s.out_h, s.out_w}, op);
  return s;
}

struct Counts {
  std::int64_t input, output, weight;
};

Counts counts(const cunn::cuda::Conv2dShape& s) {
  return {s.batch * s.channels * s.height * s.width, s.batch * s.out_channels * s.out_h * s.out_w,
          s.out_channels * s.channels * s.kernel_h * s.kernel_w};
}

void conv2d_forward(std::uintptr_t out_ptr, std::uintptr_t x_ptr, std::uintptr_t weight_ptr,
                    std::uintptr_t bias_ptr, std::int64_t n, std::int64_t c, std::int64_t h,
                    std::int64_t w, std::int64_t o, std::int64_t kh, std::int64_t kw,
                    std::int64_t stride_h, std::int64_t stride_w, std::int64_t pad_h,
                    std::int64_t pad_w) {
  const char* op = "conv2d_forward";
  const auto s = geometry(n, c, h, w, o, kh, kw, stride_h, stride_w, pad_h, pad_w, op);
  const Counts count = counts(s);
  float* out = pointer<float>(out_ptr, count.output, op, "out_ptr");
  const bool work = count.output > 0;
  const float* x = pointer<const float>(x_ptr, work ? count.input : 0, op, "x_ptr");
  const float* weight = pointer<const float>(weight_ptr, work ? count.weight : 0, op, "weight_ptr");
  const float* bias = cuda_args::optional_pointer<const float>(bias_ptr, o, op, "bias_ptr");
  py::gil_scoped_release release;
  cunn::cuda::conv2d_forward(s, out, x, weight, bias);
}

void conv2d_backward_input(std::uintptr_t grad_input_ptr, std::uintptr_t grad_output_ptr,
                           std::uintptr_t weight_ptr, std::int64_t n, std::int64_t c,
                           std::int64_t h, std::int64_t w, std::int64_t o, std::int64_t kh,
                           std::int64_t kw, std::int64_t stride_h, std::int64_t stride_w,
                           std::int64_t pad_h, std::int64_t pad_w) {
  const char* op = "conv2d_backward_input";
  const auto s = geometry(n, c, h, w, o, kh, kw, stride_h, stride_w, pad_h, pad_w, op);
  const Counts count = counts(s);
  float* grad_input = pointer<float>(grad_input_ptr, count.input, op, "grad_input_ptr");
  const bool work = count.input > 0;
  const float* grad_output =
      pointer<const float>(grad_output_ptr, work ? count.output : 0, op, "grad_output_ptr");
  const float* weight = pointer<const float>(weight_ptr, work ? count.weight : 0, op, "weight_ptr");
  py::gil_scoped_release release;
  cunn::cuda::conv2d_backward_input(s, grad_input, grad_output, weight);
}

void conv2d_backward_weight(std::uintptr_t grad_weight_ptr, std::uintptr_t grad_output_ptr,
                            std::uintptr_t x_ptr, std::int64_t n, std::int64_t c,
                            std::int64_t h, std::int64_t w, std::int64_t o, std::int64_t kh,
                            std::int64_t kw, std::int64_t stride_h, std::int64_t stride_w,
                            std::int64_t pad_h, std::int64_t pad_w) {
  const char* op = "conv2d_backward_weight";
  const auto s = geometry(n, c, h, w, o, kh, kw, stride_h, stride_w, pad_h, pad_w, op);
  const Counts count = counts(s);
  float* grad_weight = pointer<float>(grad_weight_ptr, count.weight, op, "grad_weight_ptr");
  const bool work = count.weight > 0;
  const float* grad_output =
      pointer<const float>(grad_output_ptr, work ? count.output : 0, op, "grad_output_ptr");
  const float* x = pointer<const float>(x_ptr, work ? count.input : 0, op, "x_ptr");
  py::gil_scoped_release release;
  cunn::cuda::conv2d_backward_weight(s, grad_weight, grad_output, x);
}

}  // namespace

void bind_cuda_conv2d(py::module_& cuda) {
  cuda.def("conv2d_forward", &conv2d_forward, py::arg("out_ptr"), py::arg("x_ptr"),
           py::arg("weight_ptr"), py::arg("bias_ptr"), py::arg("n"), py::arg("c"), py::arg("h"),
           py::arg("w"), py::arg("o"), py::arg("kh"), py::arg("kw"), py::arg("stride_h"),
           py::arg("stride_w"), py::arg("pad_h"), py::arg("pad_w"),
           "out (n, o, oh, ow) = x (n, c, h, w) cross-correlated with weight (o, c, kh, kw), "
           "plus bias (o,) unless bias_ptr is 0.");
  cuda.def("conv2d_backward_input", &conv2d_backward_input, py::arg("grad_input_ptr"),
           py::arg("grad_output_ptr"), py::arg("weight_ptr"), py::arg("n"), py::arg("c"),
           py::arg("h"), py::arg("w"), py::arg("o"), py::arg("kh"), py::arg("kw"),
           py::arg("stride_h"), py::arg("stride_w"), py::arg("pad_h"), py::arg("pad_w"),
           "grad_input (n, c, h, w) of conv2d_forward from grad_output (n, o, oh, ow).");
  cuda.def("conv2d_backward_weight", &conv2d_backward_weight, py::arg("grad_weight_ptr"),
           py::arg("grad_output_ptr"), py::arg("x_ptr"), py::arg("n"), py::arg("c"),
           py::arg("h"), py::arg("w"), py::arg("o"), py::arg("kh"), py::arg("kw"),
           py::arg("stride_h"), py::arg("stride_w"), py::arg("pad_h"), py::arg("pad_w"),
           "grad_weight (o, c, kh, kw) of conv2d_forward from grad_output and x.");
}

}  // namespace cunn::bind
