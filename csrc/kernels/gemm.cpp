// Placeholder GEMM (triple loop) so the other kernels can link against sgemm;
// the blocked, packed, SIMD version replaces this file.
#include "kernels/gemm.h"

namespace cunn::kernels {

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
           const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
           int64_t ldc) {
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      float acc = 0.f;
      for (int64_t p = 0; p < k; ++p) {
        const float av = trans_a ? a[p * lda + i] : a[i * lda + p];
        const float bv = trans_b ? b[j * ldb + p] : b[p * ldb + j];
        acc += av * bv;
      }
      float& out = c[i * ldc + j];
      out = beta == 0.f ? alpha * acc : alpha * acc + beta * out;
    }
  }
}

}  // namespace cunn::kernels
