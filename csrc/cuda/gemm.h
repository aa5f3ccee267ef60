// Single-precision GEMM on the device, row-major like csrc/kernels/gemm.h:
// C (m x n) = alpha * op(A) * op(B) + beta * C, op(X) = X or X^T. With beta == 0, C is
// written without being read (NaN in C does not leak). Launches on the default stream.
#pragma once

#include <cstdint>

namespace cunn::cuda {

void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
          float alpha, const float* a, std::int64_t lda, const float* b, std::int64_t ldb,
          float beta, float* c, std::int64_t ldc);

// `batch` independent products; matrix i starts at a + i * stride_a (likewise b, c).
void gemm_strided_batched(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n,
                          std::int64_t k, float alpha, const float* a, std::int64_t lda,
                          std::int64_t stride_a, const float* b, std::int64_t ldb,
                          std::int64_t stride_b, float beta, float* c, std::int64_t ldc,
                          std::int64_t stride_c, std::int64_t batch);

}  // namespace cunn::cuda
