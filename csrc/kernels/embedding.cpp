// Embedding lookup and its gradient (math, layout and reference in embedding.h).
#include "kernels/embedding.h"

#include <algorithm>
#include <atomic>
#include <cstring>

#include "dispatch/parallel.h"

namespace cunn::kernels {
namespace {

// Row copies are memory-bound: threads pay off from ~64k elements (elementwise.cpp).
constexpr int64_t kGrain = 32768;

int64_t row_grain(int64_t dim) { return std::max<int64_t>(1, kGrain / std::max<int64_t>(1, dim)); }

// Lowers `first_bad` to k (the smallest bad position wins whatever the thread order).
void note_bad(std::atomic<int64_t>& first_bad, int64_t k) {
  int64_t seen = first_bad.load();
  while ((seen < 0 || k < seen) && !first_bad.compare_exchange_weak(seen, k)) {
  }
}

}  // namespace

int64_t embedding_forward(const float* weight, int64_t num_embeddings, int64_t dim,
                          const int64_t* indices, int64_t count, float* out) {
  std::atomic<int64_t> first_bad{-1};
  parallel_for(0, count, row_grain(dim), [&](int64_t lo, int64_t hi) {
    for (int64_t k = lo; k < hi; ++k) {
      const int64_t v = indices[k];
      if (v < 0 || v >= num_embeddings) {
        note_bad(first_bad, k);
        continue;
      }
      std::memcpy(out + k * dim, weight + v * dim, sizeof(float) * dim);
    }
  });
  return first_bad.load();
}

int64_t embedding_backward(const float* grad_output, const int64_t* indices, int64_t count,
                           int64_t num_embeddings, int64_t dim, int64_t padding_idx,
                           float* grad_weight) {
  std::memset(grad_weight, 0, sizeof(float) * num_embeddings * dim);
  for (int64_t k = 0; k < count; ++k)
    if (indices[k] < 0 || indices[k] >= num_embeddings) return k;
  // Each thread owns a range of weight rows and scans every index; worth it only when the
  // rows added outweigh the repeated scan.
  const int64_t grain = count * dim < kGrain ? num_embeddings : 1;
  parallel_for(0, num_embeddings, grain, [&](int64_t lo, int64_t hi) {
    for (int64_t k = 0; k < count; ++k) {
      const int64_t v = indices[k];
      if (v < lo || v >= hi || v == padding_idx) continue;
      float* row = grad_weight + v * dim;
      const float* g = grad_output + k * dim;
      for (int64_t d = 0; d < dim; ++d) row[d] += g[d];
    }
  });
  return -1;
}

}  // namespace cunn::kernels
