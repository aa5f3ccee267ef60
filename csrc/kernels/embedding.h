// Embedding lookup, float32 weight (V, D) C-contiguous, int64 indices (n of them):
//   forward:  out[k, :] = weight[indices[k], :]
//   backward: grad_weight[v, :] = Σ over k with indices[k] == v (in order of k) of
//             grad_output[k, :], except the row padding_idx (if >= 0), which stays zero.
// Every index is checked against [0, V) as it is read; one outside is never used, and the
// position of the first such index is returned (-1 when all are good) for the binding to
// report (the output is then incomplete). Threads take whole output rows (forward) or whole
// ranges of weight rows (backward: each thread scans every index and adds those in its
// range), so the sums do not depend on the thread count. Must match
// cunn/_backends/numpy_ref/embedding.py bit for bit.
#pragma once

#include <cstdint>

namespace cunn::kernels {

int64_t embedding_forward(const float* weight, int64_t num_embeddings, int64_t dim,
                          const int64_t* indices, int64_t count, float* out);
int64_t embedding_backward(const float* grad_output, const int64_t* indices, int64_t count,
                           int64_t num_embeddings, int64_t dim, int64_t padding_idx,
                           float* grad_weight);

}  // namespace cunn::kernels
