// Single-precision GEMM: C = alpha * op(A) * op(B) + beta * C, row-major.
// op(A) is M x K (A stored M x K, or K x M when trans_a), op(B) is K x N
// (B stored K x N, or N x K when trans_b). lda/ldb/ldc are row strides in
// elements. beta == 0 overwrites C without reading it (NaNs in C do not leak),
// as BLAS does. Must match numpy: alpha * (op(A) @ op(B)) + beta * C.
// With bias (n floats), every row of C is first set to bias, and beta then applies to that;
// with relu, C finally becomes relu(C) (c < 0 ? 0 : c, as relu_forward). Each thread does
// both to the block it computes: seeded by one thread for all, C's lines would then move
// to the others (the MNIST MLP step ran 0.4 to 1.8% faster once the threads seeded their own).
#pragma once

#include <cstdint>

namespace cunn::kernels {

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
           const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
           int64_t ldc, bool relu = false, const float* bias = nullptr);

}  // namespace cunn::kernels
