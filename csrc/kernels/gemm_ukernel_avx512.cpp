// AVX-512 GEMM micro-kernels and packing. Compiled with AVX-512 flags and
// called only when cunn::active_isa() says the CPU has them; self-contained (no
// helpers shared with portable code). Must match gemm_ukernel_ref.cpp up to
// float rounding. Layouts: see gemm_ukernel.h.
//
// Tiles, measured on AMD EPYC Zen 4 (one 512-bit FMA per cycle, 32 registers):
// 8 x 32 (16 accumulators) for general shapes; 16 x 16 when the product has at
// most 16 columns (the MNIST output layer, N = 10), where a 32-wide tile would
// waste two thirds of every FMA; and for A.B^T with at most 16 columns (the MNIST
// output layer's forward) unpacked 4 x 4 dot products along K, which use every lane
// (1 x 16 for a single row: Linear(784, 128) at batch 1 ran 7.7 -> 3.9 us, 2026-12-06,
// Intel Xeon 8488C-class, 1 thread).
// Wide blocks: KC = 512 (an 8 x 512 A micro-panel is 16 KiB of the 32 KiB L1),
// NC = 256 (a 512 x 256 B block is half the 1 MiB L2); they measured as well as or
// better than 256/512 and 384/384 at 512^3 and the MNIST shapes.
#include <immintrin.h>

#include "kernels/gemm_ukernel.h"

namespace cunn::kernels {
namespace {

// kRowsOfA: A is mr rows of a row-major matrix (element (i, p) at a_panel[i * a_step + p])
// rather than a micro-panel (at a_panel[p * a_step + i]); everything else is the same.
template <int MR, int NV, bool kRowsOfA = false>
void micro_kernel_avx512(int64_t k, const float* a_panel, int64_t a_step, const float* b_panel,
                         int64_t b_step, float* c, int64_t ldc, float alpha, float beta,
                         int64_t m, int64_t n) {
  constexpr int NR = 16 * NV;
  // Start fetching the C tile now: its rows are far apart and usually not cached,
  // and the K loop below is long enough to hide the misses.
  for (int64_t i = 0; i < m; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + n - 1), _MM_HINT_T0);
  }
  __m512 acc[MR][NV];
#pragma GCC unroll 64
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_setzero_ps();

  const float* a = a_panel;
  const float* b = b_panel;
  for (int64_t p = 0; p < k; ++p) {
    __m512 b_vec[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) b_vec[v] = _mm512_loadu_ps(b + 16 * v);
#pragma GCC unroll 64
    for (int i = 0; i < MR; ++i) {
      const __m512 a_vec = _mm512_set1_ps(kRowsOfA ? a[i * a_step] : a[i]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_fmadd_ps(a_vec, b_vec[v], acc[i][v]);
    }
    a += kRowsOfA ? 1 : a_step;
    b += b_step;
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

// Lane q of the result is the sum of the 16 lanes of v[q]: pairwise adds inside 128-bit
// lanes, then across them, 15 adds in all instead of 16 separate reductions.
__m512 sum_each_of_16(const __m512 v[16]) {
  __m512 pairs[8];
#pragma GCC unroll 8
  for (int q = 0; q < 8; ++q)  // lane positions 0, 2 hold v[2q], positions 1, 3 v[2q + 1]
    pairs[q] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * q], v[2 * q + 1]),
                             _mm512_unpackhi_ps(v[2 * q], v[2 * q + 1]));
  __m512 quads[4];
#pragma GCC unroll 4
  for (int t = 0; t < 4; ++t) {  // position e of each 128-bit lane holds v[4t + e]
    const __m512d x = _mm512_castps_pd(pairs[2 * t]);
    const __m512d y = _mm512_castps_pd(pairs[2 * t + 1]);
    quads[t] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(x, y)),
                             _mm512_castpd_ps(_mm512_unpackhi_pd(x, y)));
  }
  constexpr int even = _MM_SHUFFLE(2, 0, 2, 0), odd = _MM_SHUFFLE(3, 1, 3, 1);
  const __m512 half0 = _mm512_add_ps(_mm512_shuffle_f32x4(quads[0], quads[1], even),
                                     _mm512_shuffle_f32x4(quads[0], quads[1], odd));
  const __m512 half1 = _mm512_add_ps(_mm512_shuffle_f32x4(quads[2], quads[3], even),
                                     _mm512_shuffle_f32x4(quads[2], quads[3], odd));
  return _mm512_add_ps(_mm512_shuffle_f32x4(half0, half1, even),
                       _mm512_shuffle_f32x4(half0, half1, odd));
}

// One R x C tile of C (R * C <= 16 accumulators), each element a dot product along K of
// an A row and a B row, K tail by masked loads. Columns past the edge (j + C > n)
// re-read the last valid one and are not stored. Every element is summed the same way
// whatever the tile's shape (the same lanes along K, the same tree across them), so
// the shape changes no bit of the result.
template <int R, int C>
void dot_tile(const float* const a_row[R], int64_t j, int64_t n, int64_t k, float alpha,
              const float* b, int64_t ldb, float beta, float* c_row, int64_t ldc) {
  const int64_t k_full = k / 16 * 16;
  const __mmask16 k_tail = static_cast<__mmask16>((1u << (k - k_full)) - 1u);
  const int64_t cols = n - j < C ? n - j : C;
  const float* b_row[C];
  for (int col = 0; col < C; ++col) b_row[col] = b + (col < cols ? j + col : j + cols - 1) * ldb;
  __m512 acc[16];
#pragma GCC unroll 16
  for (int q = 0; q < 16; ++q) acc[q] = _mm512_setzero_ps();
  // All loads of a step first, then its FMAs (as the 4 x 4 tile always did: loading B
  // inside the column loop ran the MNIST layer-1 forward 6% slower).
  for (int64_t p = 0; p < k_full; p += 16) {
    __m512 a_vec[R], b_vec[C];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) a_vec[r] = _mm512_loadu_ps(a_row[r] + p);
#pragma GCC unroll 16
    for (int col = 0; col < C; ++col) b_vec[col] = _mm512_loadu_ps(b_row[col] + p);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
      for (int col = 0; col < C; ++col)
        acc[r * C + col] = _mm512_fmadd_ps(a_vec[r], b_vec[col], acc[r * C + col]);
  }
  if (k_tail) {
    __m512 a_vec[R], b_vec[C];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) a_vec[r] = _mm512_maskz_loadu_ps(k_tail, a_row[r] + k_full);
#pragma GCC unroll 16
    for (int col = 0; col < C; ++col) b_vec[col] = _mm512_maskz_loadu_ps(k_tail, b_row[col] + k_full);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
      for (int col = 0; col < C; ++col)
        acc[r * C + col] = _mm512_fmadd_ps(a_vec[r], b_vec[col], acc[r * C + col]);
  }
  // Row r of the tile is lanes [r * C, r * C + C) of the sums, taken from the register
  // (a reload through memory stalled store forwarding and cost 6% at 64x128x784).
  const __m512 sums = sum_each_of_16(acc);
  const unsigned col_bits = (1u << cols) - 1u;
  for (int r = 0; r < R; ++r) {
    float* out = c_row + r * ldc + j;
    if constexpr (C == 16) {
      const __mmask16 mask = static_cast<__mmask16>(col_bits);
      __m512 result = _mm512_mul_ps(sums, _mm512_set1_ps(alpha));
      if (beta != 0.f)
        result = _mm512_fmadd_ps(_mm512_set1_ps(beta), _mm512_maskz_loadu_ps(mask, out), result);
      _mm512_mask_storeu_ps(out, mask, result);
    } else if constexpr (C == 8) {
      const __mmask8 mask = static_cast<__mmask8>(col_bits);
      const __m256 row = r == 0 ? _mm512_castps512_ps256(sums) : _mm512_extractf32x8_ps(sums, 1);
      __m256 result = _mm256_mul_ps(row, _mm256_set1_ps(alpha));
      if (beta != 0.f)
        result = _mm256_fmadd_ps(_mm256_set1_ps(beta), _mm256_maskz_loadu_ps(mask, out), result);
      _mm256_mask_storeu_ps(out, mask, result);
    } else {
      static_assert(C == 4, "dot_tile: C is 4, 8 or 16");
      const __mmask8 mask = static_cast<__mmask8>(col_bits);
      __m128 row;
      switch (r) {
        case 0: row = _mm512_castps512_ps128(sums); break;
        case 1: row = _mm512_extractf32x4_ps(sums, 1); break;
        case 2: row = _mm512_extractf32x4_ps(sums, 2); break;
        default: row = _mm512_extractf32x4_ps(sums, 3); break;
      }
      __m128 result = _mm_mul_ps(row, _mm_set1_ps(alpha));
      if (beta != 0.f)
        result = _mm_fmadd_ps(_mm_set1_ps(beta), _mm_maskz_loadu_ps(mask, out), result);
      _mm_mask_storeu_ps(out, mask, result);
    }
  }
}

// Rows [row_begin, row_end) of C = alpha * A.B^T + beta * C as dot products: 4 x 4 tiles
// (8 loads per 16 FMAs); the last 1 to 3 rows (a GEMV at batch 1) take 1 x 16, 2 x 8 or
// 3 x 4 tiles, so no FMA is spent on a repeated row.
void dot_nt_avx512(int64_t row_begin, int64_t row_end, int64_t n, int64_t k, float alpha,
                   const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
                   float* c, int64_t ldc) {
  // The next 4 rows of A are fetched into L2 while this row tile runs, a share at each
  // column tile: A is usually a fresh batch of inputs, in memory rather than in cache,
  // and each row tile reads its rows only once from memory.
  const int64_t a_lines = (k * 4 + 63) / 64;
  const int64_t column_tiles = (n + 3) / 4;
  const int64_t lines_per_tile = (4 * a_lines + column_tiles - 1) / column_tiles;
  const int64_t k_full = k / 16 * 16;
  const __mmask16 k_tail = static_cast<__mmask16>((1u << (k - k_full)) - 1u);
  const __m128 alpha_vec = _mm_set1_ps(alpha);
  const __m128 beta_vec = _mm_set1_ps(beta);
  int64_t i = row_begin;
  for (; row_end - i >= 4; i += 4) {
    const float* a_row[4] = {a + i * lda, a + (i + 1) * lda, a + (i + 2) * lda,
                             a + (i + 3) * lda};
    const int64_t next_rows = row_end - (i + 4) < 4 ? row_end - (i + 4) : 4;
    int64_t next_line = 0;  // of the next row tile's next_rows * a_lines lines
    for (int64_t j = 0; j < n; j += 4) {
      for (int64_t q = 0; q < lines_per_tile && next_line < next_rows * a_lines; ++q, ++next_line)
        _mm_prefetch(reinterpret_cast<const char*>(a + (i + 4 + next_line / a_lines) * lda) +
                         (next_line % a_lines) * 64,
                     _MM_HINT_T1);
      // Full 4-row tiles keep their original loop (dot_tile<4, 4> measured 5% slower).
      const int64_t rows = 4;
      const int64_t cols = n - j < 4 ? n - j : 4;
      const float* b_row[4];
      for (int col = 0; col < 4; ++col) b_row[col] = b + (col < cols ? j + col : j + cols - 1) * ldb;
      __m512 acc[16];
#pragma GCC unroll 16
      for (int q = 0; q < 16; ++q) acc[q] = _mm512_setzero_ps();
      for (int64_t p = 0; p < k_full; p += 16) {
        __m512 a_vec[4], b_vec[4];
#pragma GCC unroll 4
        for (int r = 0; r < 4; ++r) a_vec[r] = _mm512_loadu_ps(a_row[r] + p);
#pragma GCC unroll 4
        for (int col = 0; col < 4; ++col) b_vec[col] = _mm512_loadu_ps(b_row[col] + p);
#pragma GCC unroll 4
        for (int r = 0; r < 4; ++r)
#pragma GCC unroll 4
          for (int col = 0; col < 4; ++col)
            acc[r * 4 + col] = _mm512_fmadd_ps(a_vec[r], b_vec[col], acc[r * 4 + col]);
      }
      if (k_tail) {
        __m512 a_vec[4], b_vec[4];
#pragma GCC unroll 4
        for (int r = 0; r < 4; ++r) a_vec[r] = _mm512_maskz_loadu_ps(k_tail, a_row[r] + k_full);
#pragma GCC unroll 4
        for (int col = 0; col < 4; ++col)
          b_vec[col] = _mm512_maskz_loadu_ps(k_tail, b_row[col] + k_full);
#pragma GCC unroll 4
        for (int r = 0; r < 4; ++r)
#pragma GCC unroll 4
          for (int col = 0; col < 4; ++col)
            acc[r * 4 + col] = _mm512_fmadd_ps(a_vec[r], b_vec[col], acc[r * 4 + col]);
      }
      alignas(64) float tile[16];
      _mm512_store_ps(tile, sum_each_of_16(acc));
      const __mmask8 col_mask = static_cast<__mmask8>((1u << cols) - 1u);
      for (int64_t r = 0; r < rows; ++r) {
        float* out = c + (i + r) * ldc + j;
        __m128 result = _mm_mul_ps(_mm_load_ps(tile + 4 * r), alpha_vec);
        if (beta != 0.f) result = _mm_fmadd_ps(beta_vec, _mm_maskz_loadu_ps(col_mask, out), result);
        _mm_mask_storeu_ps(out, col_mask, result);
      }
    }
  }
  const int64_t rows = row_end - i;
  const float* a_row[3] = {a + i * lda, a + (rows > 1 ? i + 1 : i) * lda,
                           a + (rows > 2 ? i + 2 : i) * lda};
  if (rows == 1)
    for (int64_t j = 0; j < n; j += 16)
      dot_tile<1, 16>(a_row, j, n, k, alpha, b, ldb, beta, c + i * ldc, ldc);
  else if (rows == 2)
    for (int64_t j = 0; j < n; j += 8)
      dot_tile<2, 8>(a_row, j, n, k, alpha, b, ldb, beta, c + i * ldc, ldc);
  else if (rows == 3)
    for (int64_t j = 0; j < n; j += 4)
      dot_tile<3, 4>(a_row, j, n, k, alpha, b, ldb, beta, c + i * ldc, ldc);
}

}  // namespace

const GemmKernel& gemm_kernel_avx512(bool narrow) {
  static const GemmKernel wide{8,   32,   128, 512, 256, &micro_kernel_avx512<8, 2>,
                               &pack_rows_avx512, &pack_columns_avx512, &dot_nt_avx512,
                               &micro_kernel_avx512<8, 2, true>};
  static const GemmKernel thin{16,  16,   128, 256, 512, &micro_kernel_avx512<16, 1>,
                               &pack_rows_avx512, &pack_columns_avx512, &dot_nt_avx512};
  return narrow ? thin : wide;
}

}  // namespace cunn::kernels
