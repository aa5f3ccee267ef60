// AVX2 + FMA GEMM micro-kernel (6 x 16, 12 accumulators of the 16 registers),
// packing, and unpacked dot products for narrow A.B^T. Compiled with -mavx2 -mfma and called only when
// cunn::active_isa() allows it; self-contained (no helpers shared with portable
// code). Must match gemm_ukernel_ref.cpp up to float rounding. Layouts: see
// gemm_ukernel.h.
#include <immintrin.h>

#include "kernels/gemm_ukernel.h"

namespace cunn::kernels {
namespace {

constexpr int kMr = 6;
constexpr int kNr = 16;

// All-ones in the first `count` 32-bit lanes (clamped to [0, 8]).
__m256i first_lanes(int64_t count) {
  const int lanes = count >= 8 ? 8 : count <= 0 ? 0 : static_cast<int>(count);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(lanes), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

void micro_kernel_avx2(int64_t k, const float* a_panel, int64_t a_step, const float* b_panel,
                       int64_t b_step, float* c, int64_t ldc, float alpha, float beta, int64_t m,
                       int64_t n) {
  // Start fetching the C tile now: its rows are far apart and usually not cached,
  // and the K loop below is long enough to hide the misses.
  for (int64_t i = 0; i < m; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + n - 1), _MM_HINT_T0);
  }
  // alpha and beta wait in memory: kept in registers through the K loop they would take
  // 2 of the 16 ymm registers, and GCC would spill an accumulator instead (half speed).
  volatile float scale[2] = {alpha, beta};
  __m256 acc[kMr][2];
#pragma GCC unroll 16
  for (int i = 0; i < kMr; ++i) {
    acc[i][0] = _mm256_setzero_ps();
    acc[i][1] = _mm256_setzero_ps();
  }
  const float* a = a_panel;
  const float* b = b_panel;
  for (int64_t p = 0; p < k; ++p) {
    const __m256 b0 = _mm256_loadu_ps(b);
    const __m256 b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 16
    for (int i = 0; i < kMr; ++i) {
      const __m256 a_vec = _mm256_broadcast_ss(a + i);
      acc[i][0] = _mm256_fmadd_ps(a_vec, b0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(a_vec, b1, acc[i][1]);
    }
    a += a_step;
    b += b_step;
  }

  alpha = scale[0];
  beta = scale[1];
  const __m256 alpha_vec = _mm256_set1_ps(alpha);
  const __m256 beta_vec = _mm256_set1_ps(beta);
  const bool full_width = n == kNr;
  const __m256i mask0 = first_lanes(n);
  const __m256i mask1 = first_lanes(n - 8);
#pragma GCC unroll 16
  for (int i = 0; i < kMr; ++i) {
    if (i >= m) break;
    float* row = c + i * ldc;
    __m256 r0 = _mm256_mul_ps(acc[i][0], alpha_vec);
    __m256 r1 = _mm256_mul_ps(acc[i][1], alpha_vec);
    if (full_width) {
      if (beta != 0.f) {
        r0 = _mm256_fmadd_ps(beta_vec, _mm256_loadu_ps(row), r0);
        r1 = _mm256_fmadd_ps(beta_vec, _mm256_loadu_ps(row + 8), r1);
      }
      _mm256_storeu_ps(row, r0);
      _mm256_storeu_ps(row + 8, r1);
    } else {
      if (beta != 0.f) {
        r0 = _mm256_fmadd_ps(beta_vec, _mm256_maskload_ps(row, mask0), r0);
        r1 = _mm256_fmadd_ps(beta_vec, _mm256_maskload_ps(row + 8, mask1), r1);
      }
      _mm256_maskstore_ps(row, mask0, r0);
      _mm256_maskstore_ps(row + 8, mask1, r1);
    }
  }
}

void pack_rows_avx2(const float* src, int64_t ld, int64_t count, int64_t k, int width,
                    float* dest) {
  for (int64_t p = 0; p < k; ++p) {
    const float* from = src + p * ld;
    float* to = dest + p * width;
    for (int q = 0; q < width; q += 8) {
      const __m256 values = _mm256_maskload_ps(from + q, first_lanes(count - q));
      if (width - q >= 8)
        _mm256_storeu_ps(to + q, values);
      else  // kMr = 6: the panel ends inside this vector
        _mm256_maskstore_ps(to + q, first_lanes(width - q), values);
    }
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

// Transposes 8 x 8 tiles in registers; missing rows (q >= count) and the k
// tail are handled with masked loads. Panel widths here are multiples of 8
// except kMr = 6, whose last two rows of each tile are simply not stored.
void pack_columns_avx2(const float* src, int64_t ld, int64_t count, int64_t k, int width,
                       float* dest) {
  for (int q = 0; q < width; q += 8) {
    const int64_t rows_here = count - q;
    const int stored = width - q < 8 ? width - q : 8;
    const __m256i store_mask = first_lanes(stored);
    for (int64_t p = 0; p < k; p += 8) {
      const __m256i depth_mask = first_lanes(k - p);
      __m256 tile[8];
#pragma GCC unroll 8
      for (int t = 0; t < 8; ++t)
        tile[t] = t < rows_here ? _mm256_maskload_ps(src + (q + t) * ld + p, depth_mask)
                                : _mm256_setzero_ps();
      transpose8x8(tile);
      const int64_t depth = k - p < 8 ? k - p : 8;
      if (stored == 8) {
        for (int64_t t = 0; t < depth; ++t) _mm256_storeu_ps(dest + (p + t) * width + q, tile[t]);
      } else {
        for (int64_t t = 0; t < depth; ++t)
          _mm256_maskstore_ps(dest + (p + t) * width + q, store_mask, tile[t]);
      }
    }
  }
}

// Lane q of the result is the sum of the 8 lanes of v[q].
__m256 sum_each_of_8(const __m256 v[8]) {
  const __m256 pairs01 = _mm256_hadd_ps(v[0], v[1]);
  const __m256 pairs23 = _mm256_hadd_ps(v[2], v[3]);
  const __m256 pairs45 = _mm256_hadd_ps(v[4], v[5]);
  const __m256 pairs67 = _mm256_hadd_ps(v[6], v[7]);
  // Each 128-bit half now holds that half's sums of v[0..3] (resp. v[4..7]).
  const __m256 quad0123 = _mm256_hadd_ps(pairs01, pairs23);
  const __m256 quad4567 = _mm256_hadd_ps(pairs45, pairs67);
  return _mm256_add_ps(_mm256_permute2f128_ps(quad0123, quad4567, 0x20),
                       _mm256_permute2f128_ps(quad0123, quad4567, 0x31));
}

// 4 x 2 tiles of C, each element a dot product along K of an A row and a B row
// (8 accumulators, 6 loads per 8 FMAs, K tail by masked loads); used for narrow
// A.B^T, where a packed 16-wide tile would leave most lanes idle. Rows and columns
// past the edge re-read the last valid one and are not stored.
void dot_nt_avx2(int64_t row_begin, int64_t row_end, int64_t n, int64_t k, float alpha,
                 const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                 int64_t ldc) {
  const int64_t k_full = k / 8 * 8;
  const __m256i k_tail = first_lanes(k - k_full);
  // The next 4 rows of A are fetched into L2 while this row tile runs (as in the AVX-512
  // dot_nt): A is usually a fresh batch of inputs, still in memory.
  const int64_t a_lines = (k * 4 + 63) / 64;
  const int64_t column_tiles = (n + 1) / 2;
  const int64_t lines_per_tile = (4 * a_lines + column_tiles - 1) / column_tiles;
  for (int64_t i = row_begin; i < row_end; i += 4) {
    const int64_t rows = row_end - i < 4 ? row_end - i : 4;
    const float* a_row[4];
    for (int r = 0; r < 4; ++r) a_row[r] = a + (r < rows ? i + r : i + rows - 1) * lda;
    const int64_t next_rows = row_end - (i + 4) < 4 ? row_end - (i + 4) : 4;
    int64_t next_line = 0;  // of the next row tile's next_rows * a_lines lines
    for (int64_t j = 0; j < n; j += 2) {
      for (int64_t q = 0; q < lines_per_tile && next_line < next_rows * a_lines; ++q, ++next_line)
        _mm_prefetch(reinterpret_cast<const char*>(a + (i + 4 + next_line / a_lines) * lda) +
                         (next_line % a_lines) * 64,
                     _MM_HINT_T1);
      const int64_t cols = n - j < 2 ? n - j : 2;
      const float* b_row[2] = {b + j * ldb, b + (j + cols - 1) * ldb};
      __m256 acc[8];
#pragma GCC unroll 8
      for (int q = 0; q < 8; ++q) acc[q] = _mm256_setzero_ps();
      for (int64_t p = 0; p < k_full; p += 8) {
        const __m256 b0 = _mm256_loadu_ps(b_row[0] + p);
        const __m256 b1 = _mm256_loadu_ps(b_row[1] + p);
#pragma GCC unroll 4
        for (int r = 0; r < 4; ++r) {
          const __m256 a_vec = _mm256_loadu_ps(a_row[r] + p);
          acc[2 * r] = _mm256_fmadd_ps(a_vec, b0, acc[2 * r]);
          acc[2 * r + 1] = _mm256_fmadd_ps(a_vec, b1, acc[2 * r + 1]);
        }
      }
      if (k_full < k) {
        const __m256 b0 = _mm256_maskload_ps(b_row[0] + k_full, k_tail);
        const __m256 b1 = _mm256_maskload_ps(b_row[1] + k_full, k_tail);
#pragma GCC unroll 4
        for (int r = 0; r < 4; ++r) {
          const __m256 a_vec = _mm256_maskload_ps(a_row[r] + k_full, k_tail);
          acc[2 * r] = _mm256_fmadd_ps(a_vec, b0, acc[2 * r]);
          acc[2 * r + 1] = _mm256_fmadd_ps(a_vec, b1, acc[2 * r + 1]);
        }
      }
      alignas(32) float tile[8];
      _mm256_store_ps(tile, sum_each_of_8(acc));
      for (int64_t r = 0; r < rows; ++r) {
        float* out = c + (i + r) * ldc + j;
        for (int64_t col = 0; col < cols; ++col) {
          const float value = alpha * tile[2 * r + col];
          out[col] = beta == 0.f ? value : value + beta * out[col];
        }
      }
    }
  }
}

}  // namespace

const GemmKernel& gemm_kernel_avx2() {
  static const GemmKernel kernel{kMr,    kNr,   120, 256, 512, &micro_kernel_avx2,
                                 &pack_rows_avx2, &pack_columns_avx2, &dot_nt_avx2};
  return kernel;
}

}  // namespace cunn::kernels
