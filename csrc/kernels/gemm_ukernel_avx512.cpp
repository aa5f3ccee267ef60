// AVX-512 GEMM micro-kernels and packing. Compiled with AVX-512 flags and
// called only when cunn::active_isa() says the CPU has them; self-contained (no
// helpers shared with portable code). Must match gemm_ukernel_ref.cpp up to
// float rounding. Layouts: see gemm_ukernel.h.
//
// Tiles, measured on AMD EPYC Zen 4 (one 512-bit FMA per cycle, 32 registers):
// 8 x 32 (16 accumulators) for general shapes; 16 x 16 when the product has at
// most 16 columns (the MNIST output layer, N = 10), where a 32-wide tile would
// waste two thirds of every FMA.
#include <immintrin.h>

#include "kernels/gemm_ukernel.h"

namespace cunn::kernels {
namespace {

template <int MR, int NV>
void micro_kernel_avx512(int64_t k, const float* a_packed, const float* b_packed, float* c,
                         int64_t ldc, float alpha, float beta, int64_t m, int64_t n) {
  constexpr int NR = 16 * NV;
  __m512 acc[MR][NV];
#pragma GCC unroll 64
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_setzero_ps();

  const float* a = a_packed;
  const float* b = b_packed;
  for (int64_t p = 0; p < k; ++p) {
    __m512 b_vec[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) b_vec[v] = _mm512_loadu_ps(b + 16 * v);
#pragma GCC unroll 64
    for (int i = 0; i < MR; ++i) {
      const __m512 a_vec = _mm512_set1_ps(a[i]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_fmadd_ps(a_vec, b_vec[v], acc[i][v]);
    }
    a += MR;
    b += NR;
  }

  const __m512 alpha_vec = _mm512_set1_ps(alpha);
  const __m512 beta_vec = _mm512_set1_ps(beta);
  __mmask16 mask[NV];
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) {
    const int64_t left = n - 16 * v;
    mask[v] = left >= 16 ? __mmask16(0xFFFF) : left <= 0 ? __mmask16(0)
                                                         : __mmask16((1u << left) - 1u);
  }
  const bool full_width = n == NR;
#pragma GCC unroll 64
  for (int i = 0; i < MR; ++i) {
    if (i >= m) break;
    float* row = c + i * ldc;
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      __m512 result = _mm512_mul_ps(acc[i][v], alpha_vec);
      if (full_width) {
        if (beta != 0.f) result = _mm512_fmadd_ps(beta_vec, _mm512_loadu_ps(row + 16 * v), result);
        _mm512_storeu_ps(row + 16 * v, result);
      } else {
        if (beta != 0.f)
          result = _mm512_fmadd_ps(beta_vec, _mm512_maskz_loadu_ps(mask[v], row + 16 * v), result);
        _mm512_mask_storeu_ps(row + 16 * v, mask[v], result);
      }
    }
  }
}

__mmask8 first_lanes8(int64_t count) {
  return count >= 8 ? __mmask8(0xFF) : count <= 0 ? __mmask8(0) : __mmask8((1u << count) - 1u);
}

void pack_rows_avx512(const float* src, int64_t ld, int64_t count, int64_t k, int width,
                      float* dest) {
  for (int64_t p = 0; p < k; ++p) {
    const float* from = src + p * ld;
    float* to = dest + p * width;
    for (int q = 0; q < width; q += 8)
      _mm256_storeu_ps(to + q, _mm256_maskz_loadu_ps(first_lanes8(count - q), from + q));
  }
}

// rows[0..7] become columns: row t of the result holds element t of every input.
void transpose8x8(__m256 rows[8]) {
  const __m256 t0 = _mm256_unpacklo_ps(rows[0], rows[1]);
  const __m256 t1 = _mm256_unpackhi_ps(rows[0], rows[1]);
  const __m256 t2 = _mm256_unpacklo_ps(rows[2], rows[3]);
  const __m256 t3 = _mm256_unpackhi_ps(rows[2], rows[3]);
  const __m256 t4 = _mm256_unpacklo_ps(rows[4], rows[5]);
  const __m256 t5 = _mm256_unpackhi_ps(rows[4], rows[5]);
  const __m256 t6 = _mm256_unpacklo_ps(rows[6], rows[7]);
  const __m256 t7 = _mm256_unpackhi_ps(rows[6], rows[7]);
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44);
  const __m256 s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44);
  const __m256 s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44);
  const __m256 s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44);
  const __m256 s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  rows[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
  rows[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
  rows[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
  rows[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
  rows[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
  rows[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
  rows[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
  rows[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

// Transposes 8 x 8 tiles in registers; missing rows (q >= count) and the
// k tail are handled with masked loads, so no scalar loop is needed.
void pack_columns_avx512(const float* src, int64_t ld, int64_t count, int64_t k, int width,
                         float* dest) {
  for (int q = 0; q < width; q += 8) {
    const int64_t rows_here = count - q;
    for (int64_t p = 0; p < k; p += 8) {
      const __mmask8 depth_mask = first_lanes8(k - p);
      __m256 tile[8];
#pragma GCC unroll 8
      for (int t = 0; t < 8; ++t)
        tile[t] = t < rows_here ? _mm256_maskz_loadu_ps(depth_mask, src + (q + t) * ld + p)
                                : _mm256_setzero_ps();
      transpose8x8(tile);
      const int64_t depth = k - p < 8 ? k - p : 8;
      for (int64_t t = 0; t < depth; ++t) _mm256_storeu_ps(dest + (p + t) * width + q, tile[t]);
    }
  }
}

}  // namespace

const GemmKernel& gemm_kernel_avx512(bool narrow) {
  static const GemmKernel wide{8,   32,   128, 256, 512, &micro_kernel_avx512<8, 2>,
                               &pack_rows_avx512, &pack_columns_avx512};
  static const GemmKernel thin{16,  16,   128, 256, 512, &micro_kernel_avx512<16, 1>,
                               &pack_rows_avx512, &pack_columns_avx512};
  return narrow ? thin : wide;
}

}  // namespace cunn::kernels
