// Portable GEMM micro-kernel (4 x 16) and packing, plain C++ that the compiler
// may vectorise with the baseline ISA. It is the reference the AVX2 / AVX-512
// kernels must agree with and what CUNN_CPU_ISA=generic runs. Layouts: see
// gemm_ukernel.h.
#include "kernels/gemm_ukernel.h"

namespace cunn::kernels {
namespace {

constexpr int kMr = 4;
constexpr int kNr = 16;

void micro_kernel_reference(int64_t k, const float* a_packed, const float* b_packed, float* c,
                            int64_t ldc, float alpha, float beta, int64_t m, int64_t n) {
  float acc[kMr][kNr] = {};
  for (int64_t p = 0; p < k; ++p) {
    const float* a = a_packed + p * kMr;
    const float* b = b_packed + p * kNr;
    for (int i = 0; i < kMr; ++i)
      for (int j = 0; j < kNr; ++j) acc[i][j] += a[i] * b[j];
  }
  for (int64_t i = 0; i < m; ++i) {
    float* row = c + i * ldc;
    if (beta == 0.f) {
      for (int64_t j = 0; j < n; ++j) row[j] = alpha * acc[i][j];
    } else {
      for (int64_t j = 0; j < n; ++j) row[j] = alpha * acc[i][j] + beta * row[j];
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
  static const GemmKernel kernel{kMr,    kNr,   128, 256, 1024, &micro_kernel_reference,
                                 &pack_rows_reference, &pack_columns_reference, nullptr};
  return kernel;
}

}  // namespace cunn::kernels
