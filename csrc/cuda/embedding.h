// Embedding lookup and its gradient on the device; the twin is
// cunn/_backends/numpy_ref/embedding.py. Plain C++ so the binding needs no CUDA headers.
#pragma once

#include <cstdint>

namespace cunn::cuda {

// out (count, dim) = weight[indices[i]]; an index outside [0, num_embeddings) sets
// *error = 1 (the caller zeroed it) and leaves its row zero.
void embedding_forward(float* out, std::int32_t* error, const float* weight,
                       const std::int64_t* indices, std::int64_t count,
                       std::int64_t num_embeddings, std::int64_t dim);
// grad_weight (num_embeddings, dim), zeroed first, then every grad_output row added to the
// row of its index (atomicAdd: repeated indices add in an unspecified order). The row
// padding_idx (when >= 0) stays zero; indices outside the table are skipped.
void embedding_backward(float* grad_weight, const float* grad_output,
                        const std::int64_t* indices, std::int64_t count,
                        std::int64_t num_embeddings, std::int64_t dim, std::int64_t padding_idx);

}  // namespace cunn::cuda
