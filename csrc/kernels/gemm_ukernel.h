// The pieces a GEMM instruction set provides to the blocking loops in gemm.cpp:
// a register-blocked micro-kernel MR x NR, the two packing routines, and the
// cache block sizes it was tuned with. Only plain declarations live here (no
// inline code), so nothing compiled with AVX flags can leak into portable code.
//
// Micro-panel layouts, read by the micro-kernel with a step along K:
//   A micro-panel: element (i, p) of an MR x kc block at a[p * a_step + i]
//   B micro-panel: element (p, j) of a kc x NR block at b[p * b_step + j]
// Packed panels (a_step = MR, b_step = NR) are zero-padded to the full width; a
// transposed A (a_step = lda) or an untransposed B (b_step = ldb) is already laid out
// this way and can be read in place.
#pragma once

#include <cstdint>

namespace cunn::kernels {

struct GemmKernel {
  int mr;
  int nr;
  int64_t mc;  // rows of A packed at once (a multiple of mr)
  int64_t kc;  // depth of one packed block
  int64_t nc;  // columns of B packed at once (a multiple of nr)
  // c[i * ldc + j] = alpha * sum_p a[p*a_step + i] * b[p*b_step + j] + beta * c[...]
  // for i < m <= mr, j < n <= nr; beta == 0 writes c without reading it. Reads all mr
  // rows and nr columns of both panels whatever m and n are.
  void (*micro_kernel)(int64_t k, const float* a, int64_t a_step, const float* b,
                       int64_t b_step, float* c, int64_t ldc, float alpha, float beta, int64_t m,
                       int64_t n);
  // dest[p * width + q] = src[p * ld + q] for q < count, 0 for count <= q < width.
  void (*pack_rows)(const float* src, int64_t ld, int64_t count, int64_t k, int width,
                    float* dest);
  // dest[p * width + q] = src[q * ld + p] for q < count, 0 for count <= q < width.
  void (*pack_columns)(const float* src, int64_t ld, int64_t count, int64_t k, int width,
                       float* dest);
  // Optional (null if absent): rows [row_begin, row_end) of C = alpha * A * B^T + beta * C
  // for A (m x k) and B (n x k) both contiguous along K, computed as dot products straight
  // from the operands, without packing. Used for narrow outputs (n <= 16), where a packed
  // tile would leave most vector lanes idle and the packing would cost as much as the math.
  void (*dot_nt)(int64_t row_begin, int64_t row_end, int64_t n, int64_t k, float alpha,
                 const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                 int64_t ldc);
  // Optional (null if absent): micro_kernel with A read in place from mr rows of a
  // row-major matrix, element (i, p) at a[i * lda + p], instead of a micro-panel. The
  // same products summed in the same order, so the result is the packed kernel's to the
  // bit; what it saves is the packing copy of A (see read_rows_in_place in gemm.cpp).
  void (*micro_kernel_rows)(int64_t k, const float* a, int64_t lda, const float* b_panel,
                            int64_t b_step, float* c, int64_t ldc, float alpha, float beta,
                            int64_t m, int64_t n) = nullptr;
};

// Portable C++ (always built; what CUNN_CPU_ISA=generic runs).
const GemmKernel& gemm_kernel_reference();
#if defined(CUNN_X86)
// AVX2 + FMA, 6 x 16.
const GemmKernel& gemm_kernel_avx2();
// AVX-512: `narrow` picks the tile for products with at most 16 columns.
const GemmKernel& gemm_kernel_avx512(bool narrow);
#endif

}  // namespace cunn::kernels
