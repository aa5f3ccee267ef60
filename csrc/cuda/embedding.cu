// Embedding lookup and gradient on the device (contract in embedding.h). One thread per
// element of the (count, dim) rows, so reads and writes of a row are coalesced.
#include "cuda/embedding.h"

#include "cuda/layer_common.cuh"

namespace cunn::cuda {
namespace {

using layers::blocks_for;
using layers::check_launch;
using layers::first_index;
using layers::grid_stride;
using layers::kThreads;

__global__ void embedding_forward_kernel(float* out, std::int32_t* error, const float* weight,
                                         const std::int64_t* indices, std::int64_t count,
                                         std::int64_t num_embeddings, std::int64_t dim) {
  const std::int64_t total = count * dim;
  for (std::int64_t e = first_index(); e < total; e += grid_stride()) {
    const std::int64_t row = e / dim, column = e - row * dim;
    const std::int64_t index = indices[row];
    if (index < 0 || index >= num_embeddings) {
      out[e] = 0.0f;
      *error = 1;
    } else {
      out[e] = weight[index * dim + column];
    }
  }
}

__global__ void embedding_backward_kernel(float* grad_weight, const float* grad_output,
                                          const std::int64_t* indices, std::int64_t count,
                                          std::int64_t num_embeddings, std::int64_t dim,
                                          std::int64_t padding_idx) {
  const std::int64_t total = count * dim;
  for (std::int64_t e = first_index(); e < total; e += grid_stride()) {
    const std::int64_t row = e / dim, column = e - row * dim;
    const std::int64_t index = indices[row];
    if (index < 0 || index >= num_embeddings || index == padding_idx) continue;
    atomicAdd(grad_weight + index * dim + column, grad_output[e]);
  }
}

}  // namespace

void embedding_forward(float* out, std::int32_t* error, const float* weight,
                       const std::int64_t* indices, std::int64_t count,
                       std::int64_t num_embeddings, std::int64_t dim) {
  if (count * dim == 0) return;
  embedding_forward_kernel<<<blocks_for(count * dim), kThreads>>>(out, error, weight, indices,
                                                                  count, num_embeddings, dim);
  check_launch("embedding_forward");
}

void embedding_backward(float* grad_weight, const float* grad_output,
                        const std::int64_t* indices, std::int64_t count,
                        std::int64_t num_embeddings, std::int64_t dim, std::int64_t padding_idx) {
  const std::int64_t table = num_embeddings * dim;
  if (table == 0) return;
  const cudaError_t error =
      cudaMemsetAsync(grad_weight, 0, static_cast<std::size_t>(table) * sizeof(float));
  if (error != cudaSuccess)
    throw std::runtime_error(std::string("embedding_backward: cudaMemsetAsync failed: ") +
                             cudaGetErrorString(error));
  if (count == 0) return;
  embedding_backward_kernel<<<blocks_for(count * dim), kThreads>>>(
      grad_weight, grad_output, indices, count, num_embeddings, dim, padding_idx);
  check_launch("embedding_backward");
}

}  // namespace cunn::cuda
