// cunn._C.cuda pooling: max_pool2d_forward/backward, avg_pool2d_forward/backward,
// adaptive_avg_pool2d_forward/backward (planes = N * C of H x W; kernels in csrc/cuda/pool.h
// and avg_pool.h). The caller passes oh, ow; they must be the sizes the kernel, stride and
// padding give, and padding at most half the kernel (as the twins require).
#include <pybind11/pybind11.h>

#include "bindings/cuda_layer_args.h"
#include "bindings/cuda_layer_families.h"
#include "cuda/avg_pool.h"
#include "cuda/pool.h"

namespace py = pybind11;

namespace cunn::bind {
namespace {

using cuda_args::fail;
using cuda_args::pointer;
using cuda_args::product;
using cuda_args::size;
using cunn::cuda::PoolShape;

PoolShape window_geometry(std::int64_t planes, std::int64_t h, std::int64_t w, std::int64_t oh,
                          std::int64_t ow, std::int64_t kh, std::int64_t kw,
                          std::int64_t stride_h, std::int64_t stride_w, std::int64_t pad_h,
                          std::int64_t pad_w, const char* op) {
  PoolShape s{size(planes, op, "planes"),     size(h, op, "h"),
              size(w, op, "w"),               size(oh, op, "oh"),
              size(ow, op, "ow"),             size(kh, op, "kh", 1),
              size(kw, op, "kw", 1),          size(stride_h, op, "stride_h", 1),
              size(stride_w, op, "stride_w", 1), size(pad_h, op, "pad_h"),
              size(pad_w, op, "pad_w")};
  constexpr std::int64_t kLimit = std::int64_t{1} << 31;
  for (const std::int64_t value : {h, w, kh, kw, stride_h, stride_w, pad_h, pad_w})
    if (value >= kLimit) fail(op, "sizes, strides and padding must be below 2^31");
  if (2 * pad_h > kh || 2 * pad_w > kw)
    fail(op, "padding must be at most half the kernel size, got padding (" +
                 std::to_string(pad_h) + ", " + std::to_string(pad_w) + ") for kernel (" +
                 std::to_string(kh) + ", " + std::to_string(kw) + ")");
  const std::int64_t padded_h = h + 2 * pad_h, padded_w = w + 2 * pad_w;
  if (padded_h < kh || padded_w < kw)
    fail(op, "kernel (" + std::to_string(kh) + ", " + std::to_string(kw) +
                 ") is larger than the padded input (" + std::to_string(padded_h) + ", " +
                 std::to_string(padded_w) + ")");
  const std::int64_t expected_h = (padded_h - kh) / stride_h + 1;
  const std::int64_t expected_w = (padded_w - kw) / stride_w + 1;
  if (oh != expected_h || ow != expected_w)
    fail(op, "oh, ow must be (" + std::to_string(expected_h) + ", " + std::to_string(expected_w) +
                 ") for these sizes, got (" + std::to_string(oh) + ", " + std::to_string(ow) +
                 ")");
  product({planes, h, w}, op);
  product({planes, oh, ow}, op);
  return s;
}

PoolShape adaptive_geometry(std::int64_t planes, std::int64_t h, std::int64_t w, std::int64_t oh,
                            std::int64_t ow, const char* op) {
  PoolShape s{size(planes, op, "planes"), size(h, op, "h", 1), size(w, op, "w", 1),
              size(oh, op, "oh"), size(ow, op, "ow"), 1, 1, 1, 1, 0, 0};
  constexpr std::int64_t kLimit = std::int64_t{1} << 31;
  for (const std::int64_t value : {h, w, oh, ow})
    if (value >= kLimit) fail(op, "sizes must be below 2^31");
  product({planes, h, w}, op);
  product({planes, oh, ow}, op);
  return s;
}

std::int64_t input_count(const PoolShape& s) { return s.planes * s.height * s.width; }
std::int64_t output_count(const PoolShape& s) { return s.planes * s.out_h * s.out_w; }

void max_pool2d_forward(std::uintptr_t out_ptr, std::uintptr_t indices_ptr, std::uintptr_t x_ptr,
                        std::int64_t planes, std::int64_t h, std::int64_t w, std::int64_t oh,
                        std::int64_t ow, std::int64_t kh, std::int64_t kw, std::int64_t stride_h,
                        std::int64_t stride_w, std::int64_t pad_h, std::int64_t pad_w) {
  const char* op = "max_pool2d_forward";
  const PoolShape s =
      window_geometry(planes, h, w, oh, ow, kh, kw, stride_h, stride_w, pad_h, pad_w, op);
  float* out = pointer<float>(out_ptr, output_count(s), op, "out_ptr");
  auto* indices = pointer<std::int64_t>(indices_ptr, output_count(s), op, "indices_ptr");
  const float* x =
      pointer<const float>(x_ptr, output_count(s) > 0 ? input_count(s) : 0, op, "x_ptr");
  py::gil_scoped_release release;
  cunn::cuda::max_pool2d_forward(s, out, indices, x);
}

void max_pool2d_backward(std::uintptr_t grad_input_ptr, std::uintptr_t grad_output_ptr,
                         std::uintptr_t indices_ptr, std::int64_t planes, std::int64_t h,
                         std::int64_t w, std::int64_t oh, std::int64_t ow, std::int64_t kh,
                         std::int64_t kw, std::int64_t stride_h, std::int64_t stride_w,
                         std::int64_t pad_h, std::int64_t pad_w) {
  const char* op = "max_pool2d_backward";
  const PoolShape s =
      window_geometry(planes, h, w, oh, ow, kh, kw, stride_h, stride_w, pad_h, pad_w, op);
  float* grad_input = pointer<float>(grad_input_ptr, input_count(s), op, "grad_input_ptr");
  const std::int64_t read = input_count(s) > 0 ? output_count(s) : 0;
  const float* grad_output = pointer<const float>(grad_output_ptr, read, op, "grad_output_ptr");
  const auto* indices = pointer<const std::int64_t>(indices_ptr, read, op, "indices_ptr");
  py::gil_scoped_release release;
  cunn::cuda::max_pool2d_backward(s, grad_input, grad_output, indices);
}

void avg_pool2d_forward(std::uintptr_t out_ptr, std::uintptr_t x_ptr, std::int64_t planes,
                        std::int64_t h, std::int64_t w, std::int64_t oh, std::int64_t ow,
                        std::int64_t kh, std::int64_t kw, std::int64_t stride_h,
                        std::int64_t stride_w, std::int64_t pad_h, std::int64_t pad_w,
                        bool count_include_pad) {
  const char* op = "avg_pool2d_forward";
  const PoolShape s =
      window_geometry(planes, h, w, oh, ow, kh, kw, stride_h, stride_w, pad_h, pad_w, op);
  float* out = pointer<float>(out_ptr, output_count(s), op, "out_ptr");
  const float* x =
      pointer<const float>(x_ptr, output_count(s) > 0 ? input_count(s) : 0, op, "x_ptr");
  py::gil_scoped_release release;
  cunn::cuda::avg_pool2d_forward(s, out, x, count_include_pad);
}

void avg_pool2d_backward(std::uintptr_t grad_input_ptr, std::uintptr_t grad_output_ptr,
                         std::int64_t planes, std::int64_t h, std::int64_t w, std::int64_t oh,
                         std::int64_t ow, std::int64_t kh, std::int64_t kw,
                         std::int64_t stride_h, std::int64_t stride_w, std::int64_t pad_h,
                         std::int64_t pad_w, bool count_include_pad) {
  const char* op = "avg_pool2d_backward";
  const PoolShape s =
      window_geometry(planes, h, w, oh, ow, kh, kw, stride_h, stride_w, pad_h, pad_w, op);
  float* grad_input = pointer<float>(grad_input_ptr, input_count(s), op, "grad_input_ptr");
  const float* grad_output = pointer<const float>(
      grad_output_ptr, input_count(s) > 0 ? output_count(s) : 0, op, "grad_output_ptr");
  py::gil_scoped_release release;
  cunn::cuda::avg_pool2d_backward(s, grad_input, grad_output, count_include_pad);
}

void adaptive_avg_pool2d_forward(std::uintptr_t out_ptr, std::uintptr_t x_ptr,
                                 std::int64_t planes, std::int64_t h, std::int64_t w,
                                 std::int64_t oh, std::int64_t ow) {
  const char* op = "adaptive_avg_pool2d_forward";
  const PoolShape s = adaptive_geometry(planes, h, w, oh, ow, op);
  float* out = pointer<float>(out_ptr, output_count(s), op, "out_ptr");
  const float* x =
      pointer<const float>(x_ptr, output_count(s) > 0 ? input_count(s) : 0, op, "x_ptr");
  py::gil_scoped_release release;
  cunn::cuda::adaptive_avg_pool2d_forward(s, out, x);
}

void adaptive_avg_pool2d_backward(std::uintptr_t grad_input_ptr, std::uintptr_t grad_output_ptr,
                                  std::int64_t planes, std::int64_t h, std::int64_t w,
                                  std::int64_t oh, std::int64_t ow) {
  const char* op = "adaptive_avg_pool2d_backward";
  const PoolShape s = adaptive_geometry(planes, h, w, oh, ow, op);
  float* grad_input = pointer<float>(grad_input_ptr, input_count(s), op, "grad_input_ptr");
  const float* grad_output = pointer<const float>(
      grad_output_ptr, input_count(s) > 0 ? output_count(s) : 0, op, "grad_output_ptr");
  py::gil_scoped_release release;
  cunn::cuda::adaptive_avg_pool2d_backward(s, grad_input, grad_output);
}

}  // namespace

void bind_cuda_pool(py::module_& cuda) {
  cuda.def("max_pool2d_forward", &max_pool2d_forward, py::arg("out_ptr"), py::arg("indices_ptr"),
           py::arg("x_ptr"), py::arg("planes"), py::arg("h"), py::arg("w"), py::arg("oh"),
           py::arg("ow"), py::arg("kh"), py::arg("kw"), py::arg("stride_h"), py::arg("stride_w"),
           py::arg("pad_h"), py::arg("pad_w"),
           "Window maxima (planes, oh, ow) and their int64 positions h * W + w in the plane.");
  cuda.def("max_pool2d_backward", &max_pool2d_backward, py::arg("grad_input_ptr"),
           py::arg("grad_output_ptr"), py::arg("indices_ptr"), py::arg("planes"), py::arg("h"),
           py::arg("w"), py::arg("oh"), py::arg("ow"), py::arg("kh"), py::arg("kw"),
           py::arg("stride_h"), py::arg("stride_w"), py::arg("pad_h"), py::arg("pad_w"),
           "grad_input (planes, h, w), every element written, from grad_output and indices.");
  cuda.def("avg_pool2d_forward", &avg_pool2d_forward, py::arg("out_ptr"), py::arg("x_ptr"),
           py::arg("planes"), py::arg("h"), py::arg("w"), py::arg("oh"), py::arg("ow"),
           py::arg("kh"), py::arg("kw"), py::arg("stride_h"), py::arg("stride_w"),
           py::arg("pad_h"), py::arg("pad_w"), py::arg("count_include_pad"),
           "Window averages (planes, oh, ow) over the zero-padded input.");
  cuda.def("avg_pool2d_backward", &avg_pool2d_backward, py::arg("grad_input_ptr"),
           py::arg("grad_output_ptr"), py::arg("planes"), py::arg("h"), py::arg("w"),
           py::arg("oh"), py::arg("ow"), py::arg("kh"), py::arg("kw"), py::arg("stride_h"),
           py::arg("stride_w"), py::arg("pad_h"), py::arg("pad_w"), py::arg("count_include_pad"),
           "grad_input (planes, h, w) of avg_pool2d_forward.");
  cuda.def("adaptive_avg_pool2d_forward", &adaptive_avg_pool2d_forward, py::arg("out_ptr"),
           py::arg("x_ptr"), py::arg("planes"), py::arg("h"), py::arg("w"), py::arg("oh"),
           py::arg("ow"), "Averages (planes, oh, ow) over PyTorch's adaptive windows.");
  cuda.def("adaptive_avg_pool2d_backward", &adaptive_avg_pool2d_backward,
           py::arg("grad_input_ptr"), py::arg("grad_output_ptr"), py::arg("planes"), py::arg("h"),
           py::arg("w"), py::arg("oh"), py::arg("ow"),
           "grad_input (planes, h, w) of adaptive_avg_pool2d_forward.");
}

}  // namespace cunn::bind
