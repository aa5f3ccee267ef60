// Portable GEMM micro-kernel (8 x 8) and packing, plain C++ that the compiler
// may vectorise with the baseline ISA. It is the reference the AVX2 / AVX-512
// kernels must agree with and what CUNN_CPU_ISA=generic runs. Layouts: see
// gemm_ukernel.h.
#include "kernels/gemm_ukernel.h"

namespace cunn::kernels {
namespace {

constexpr int kMr = 8;
constexpr int kNr = 8;

void micro_kernel_reference(int64_t k, const float* a_panel, int64_t a_step,
                            const float* b_panel, int64_t b_step, float* c, int64_t ldc,
                            float alpha, float beta, int64_t m, int64_t n) {
  // acc is only ever indexed by constants (the loops below unroll fully), so the
  // compiler keeps it in vector registers; the edge handling reads the copy in tile.
  float acc[kMr][kNr] = {};
  for (int64_t p = 0; p < k; ++p) {
    const float* a = a_panel + p * a_step;
    const float* b = b_panel + p * b_step;
#pragma GCC unroll 8
    for (int i = 0; i < kMr; ++i)
#pragma GCC unroll 16
      for (int j = 0; j < kNr; ++j) acc[i][j] += a[i] * b[j];
  }
  float tile[kMr][kNr];
#pragma GCC unroll 8
  for (int i = 0; i < kMr; ++i)
#pragma GCC unroll 16
    for (int j = 0; j < kNr; ++j) tile[i][j] = alpha * acc[i][j];
  for (int64_t i = 0; i < m; ++i) {
    float* row = c + i * ldc;
    if (beta == 0.f) {
      for (int64_t j = 0; j < n; ++j) row[j] = tile[i][j];
    } else {
      for (int64_t j = 0; j < n; ++j) row[j] = tile[i][j] + beta * row[j];
    }
  }
}

void pack_rows_reference(const float* src, int64_t ld, int64_t count, int64_t k, int width,
                         float* dest) {
  for (int64_t p = 0; p < k; ++p) {
    const float* from = src + p * ld;
    float* to = dest + p * width;
    int64_t q = 0;
    for (; q < count; ++q) to[q] = from[q];
    for (; q < width; ++q) to[q] = 0.f;
  }
}

void pack_columns_reference(const float* src, int64_t ld, int64_t count, int64_t k, int width,
                            float* dest) {
  for (int64_t q = 0; q < count; ++q) {
    const float* from = src + q * ld;
    for (int64_t p = 0; p < k; ++p) dest[p * width + q] = from[p];
  }
  for (int64_t q = count; q < width; ++q)
    for (int64_t p = 0; p < k; ++p) dest[p * width + q] = 0.f;
}

}  // namespace

const GemmKernel& gemm_kernel_reference() {
  static const GemmKernel kernel{kMr,    kNr,   120, 256, 1024, &micro_kernel_reference,
                                 &pack_rows_reference, &pack_columns_reference, nullptr};
  return kernel;
}

}  // namespace cunn::kernels
