// cunn._C.cuda embedding_forward / embedding_backward (kernels in csrc/cuda/embedding.h). A bad
// index in the forward pass is reported through the int32 error word, which the Python side
// zeroes before and checks after.
#include <pybind11/pybind11.h>

#include "bindings/cuda_layer_args.h"
#include "bindings/cuda_layer_families.h"
#include "cuda/embedding.h"

namespace py = pybind11;

namespace cunn::bind {
namespace {

using cuda_args::fail;
using cuda_args::pointer;
using cuda_args::product;
using cuda_args::size;

void embedding_forward(std::uintptr_t out_ptr, std::uintptr_t error_ptr,
                       std::uintptr_t weight_ptr, std::uintptr_t indices_ptr, std::int64_t count,
                       std::int64_t num_embeddings, std::int64_t dim) {
  const char* op = "embedding_forward";
  const std::int64_t out_count = product({size(count, op, "count"), size(dim, op, "dim")}, op);
  const std::int64_t table =
      product({size(num_embeddings, op, "num_embeddings"), dim}, op);
  float* out = pointer<float>(out_ptr, out_count, op, "out_ptr");
  const bool work = out_count > 0;
  auto* error = pointer<std::int32_t>(error_ptr, work ? 1 : 0, op, "error_ptr");
  const float* weight = pointer<const float>(weight_ptr, work ? table : 0, op, "weight_ptr");
  const auto* indices =
      pointer<const std::int64_t>(indices_ptr, work ? count : 0, op, "indices_ptr");
  py::gil_scoped_release release;
  cunn::cuda::embedding_forward(out, error, weight, indices, count, num_embeddings, dim);
}

void embedding_backward(std::uintptr_t grad_weight_ptr, std::uintptr_t grad_output_ptr,
                        std::uintptr_t indices_ptr, std::int64_t count,
                        std::int64_t num_embeddings, std::int64_t dim,
                        std::int64_t padding_idx) {
  const char* op = "embedding_backward";
  const std::int64_t grad_count = product({size(count, op, "count"), size(dim, op, "dim")}, op);
  const std::int64_t table =
      product({size(num_embeddings, op, "num_embeddings"), dim}, op);
  if (padding_idx >= num_embeddings)
    fail(op, "padding_idx must be < num_embeddings (" + std::to_string(num_embeddings) +
                 ") or negative for none, got " + std::to_string(padding_idx));
  float* grad_weight = pointer<float>(grad_weight_ptr, table, op, "grad_weight_ptr");
  const bool work = table > 0 && grad_count > 0;
  const float* grad_output =
      pointer<const float>(grad_output_ptr, work ? grad_count : 0, op, "grad_output_ptr");
  const auto* indices =
      pointer<const std::int64_t>(indices_ptr, work ? count : 0, op, "indices_ptr");
  py::gil_scoped_release release;
  cunn::cuda::embedding_backward(grad_weight, grad_output, indices, count, num_embeddings, dim,
                                 padding_idx);
}

}  // namespace

void bind_cuda_embedding(py::module_& cuda) {
  cuda.def("embedding_forward", &embedding_forward, py::arg("out_ptr"), py::arg("error_ptr"),
           py::arg("weight_ptr"), py::arg("indices_ptr"), py::arg("count"),
           py::arg("num_embeddings"), py::arg("dim"),
           "out (count, dim) = weight[indices]; a bad index sets *error_ptr = 1 and its row "
           "is zero.");
  cuda.def("embedding_backward", &embedding_backward, py::arg("grad_weight_ptr"),
           py::arg("grad_output_ptr"), py::arg("indices_ptr"), py::arg("count"),
           py::arg("num_embeddings"), py::arg("dim"), py::arg("padding_idx"),
           "grad_weight (num_embeddings, dim), zeroed, plus each grad_output row at its index; "
           "the row padding_idx (>= 0) stays zero.");
}

}  // namespace cunn::bind
