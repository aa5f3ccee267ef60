// cunn._C.cuda dropout: dropout_mask (drawn on the device, generator in csrc/cuda/dropout.h),
// dropout_forward/backward and dropout2d_forward/backward (masks uint8, one per element or
// one per plane).
#include <pybind11/pybind11.h>

#include <cmath>

#include "bindings/cuda_layer_args.h"
#include "bindings/cuda_layer_families.h"
#include "cuda/dropout.h"

namespace py = pybind11;

namespace cunn::bind {
namespace {

using cuda_args::pointer;
using cuda_args::product;
using cuda_args::size;

// Any Python int is a seed, taken modulo 2^64 (so -1 is 2^64 - 1), as the NumPy reference
// (numpy_ref/philox.py) takes it.
void dropout_mask(std::uintptr_t mask_ptr, std::int64_t count, double p, const py::int_& seed,
                  std::int64_t offset) {
  const char* op = "dropout_mask";
  size(count, op, "count");
  size(offset, op, "offset");
  const std::uint64_t seed_bits = PyLong_AsUnsignedLongLongMask(seed.ptr());
  if (!(p >= 0.0 && p <= 1.0))
    cuda_args::fail(op, "p must be in [0, 1], got " + std::to_string(p));
  auto* mask = pointer<std::uint8_t>(mask_ptr, count, op, "mask_ptr");
  py::gil_scoped_release release;
  cunn::cuda::dropout_mask(mask, count, static_cast<float>(p), seed_bits,
                           static_cast<std::uint64_t>(offset));
}

using ApplyMask = void (*)(float*, const float*, const std::uint8_t*, std::int64_t, float);
using ApplyPlaneMask = void (*)(float*, const float*, const std::uint8_t*, std::int64_t,
                                std::int64_t, float);

// out = values * mask * scale over `count` elements.
void apply(ApplyMask kernel, const char* op, const char* out_arg, const char* in_arg,
           std::uintptr_t out_ptr, std::uintptr_t in_ptr, std::uintptr_t mask_ptr,
           std::int64_t count, double scale) {
  size(count, op, "count");
  float* out = pointer<float>(out_ptr, count, op, out_arg);
  const float* values = pointer<const float>(in_ptr, count, op, in_arg);
  const auto* mask = pointer<const std::uint8_t>(mask_ptr, count, op, "mask_ptr");
  py::gil_scoped_release release;
  kernel(out, values, mask, count, static_cast<float>(scale));
}

// The same with one mask value per plane of plane_size elements.
void apply_planes(ApplyPlaneMask kernel, const char* op, const char* out_arg, const char* in_arg,
                  std::uintptr_t out_ptr, std::uintptr_t in_ptr, std::uintptr_t mask_ptr,
                  std::int64_t planes, std::int64_t plane_size, double scale) {
  size(planes, op, "planes");
  size(plane_size, op, "plane_size");
  const std::int64_t count = product({planes, plane_size}, op);
  float* out = pointer<float>(out_ptr, count, op, out_arg);
  const float* values = pointer<const float>(in_ptr, count, op, in_arg);
  const auto* mask = pointer<const std::uint8_t>(mask_ptr, count > 0 ? planes : 0, op, "mask_ptr");
  py::gil_scoped_release release;
  kernel(out, values, mask, planes, plane_size, static_cast<float>(scale));
}

}  // namespace

void bind_cuda_dropout(py::module_& cuda) {
  cuda.def("dropout_mask", &dropout_mask, py::arg("mask_ptr"), py::arg("count"), py::arg("p"),
           py::arg("seed"), py::arg("offset"),
           "mask uint8[i] = uniform(seed, offset + i) >= p (1 keeps), uniform in [0, 1) from "
           "the counter-based Philox-4x32-10 generator.");
  cuda.def(
      "dropout_forward",
      [](std::uintptr_t out_ptr, std::uintptr_t x_ptr, std::uintptr_t mask_ptr,
         std::int64_t count, double scale) {
        apply(&cunn::cuda::dropout_forward, "dropout_forward", "out_ptr", "x_ptr", out_ptr, x_ptr,
              mask_ptr, count, scale);
      },
      py::arg("out_ptr"), py::arg("x_ptr"), py::arg("mask_ptr"), py::arg("count"),
      py::arg("scale"), "out = x * mask * scale.");
  cuda.def(
      "dropout_backward",
      [](std::uintptr_t grad_input_ptr, std::uintptr_t grad_output_ptr, std::uintptr_t mask_ptr,
         std::int64_t count, double scale) {
        apply(&cunn::cuda::dropout_backward, "dropout_backward", "grad_input_ptr",
              "grad_output_ptr", grad_input_ptr, grad_output_ptr, mask_ptr, count, scale);
      },
      py::arg("grad_input_ptr"), py::arg("grad_output_ptr"), py::arg("mask_ptr"),
      py::arg("count"), py::arg("scale"), "grad_input = grad_output * mask * scale.");
  cuda.def(
      "dropout2d_forward",
      [](std::uintptr_t out_ptr, std::uintptr_t x_ptr, std::uintptr_t mask_ptr,
         std::int64_t planes, std::int64_t plane_size, double scale) {
        apply_planes(&cunn::cuda::dropout2d_forward, "dropout2d_forward", "out_ptr", "x_ptr",
                     out_ptr, x_ptr, mask_ptr, planes, plane_size, scale);
      },
      py::arg("out_ptr"), py::arg("x_ptr"), py::arg("mask_ptr"), py::arg("planes"),
      py::arg("plane_size"), py::arg("scale"), "out = x * mask[plane] * scale.");
  cuda.def(
      "dropout2d_backward",
      [](std::uintptr_t grad_input_ptr, std::uintptr_t grad_output_ptr, std::uintptr_t mask_ptr,
         std::int64_t planes, std::int64_t plane_size, double scale) {
        apply_planes(&cunn::cuda::dropout2d_backward, "dropout2d_backward", "grad_input_ptr",
                     "grad_output_ptr", grad_input_ptr, grad_output_ptr, mask_ptr, planes,
                     plane_size, scale);
      },
      py::arg("grad_input_ptr"), py::arg("grad_output_ptr"), py::arg("mask_ptr"),
      py::arg("planes"), py::arg("plane_size"), py::arg("scale"),
      "grad_input = grad_output * mask[plane] * scale.");
}

}  // namespace cunn::bind
