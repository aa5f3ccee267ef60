// AVX2 max pooling over 2x2 windows at stride 2 without padding (MaxPool2d(2)), chosen at
// run time by pool.cpp, whose portable pool_plane_2x2 it must match bit for bit (same
// candidates in the same order, same rule: strictly greater, or the first NaN). 8 outputs
// per step: 16 floats of each input row, split into even and odd columns. Masked loads and
// stores never touch memory past the row's 2 * out_w columns. Internal linkage only.
#include <immintrin.h>

#include <cstdint>

#include "kernels/pool.h"

namespace cunn::kernels::avx2 {
namespace {

// All-ones lanes where v beats best: larger, or NaN against a number (the first NaN stays).
// The comparisons are quiet, so NaNs raise no flags.
__m256 wins(__m256 v, __m256 best) {
  return _mm256_or_ps(_mm256_cmp_ps(v, best, _CMP_GT_OQ),
                      _mm256_and_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q),
                                    _mm256_cmp_ps(best, best, _CMP_ORD_Q)));
}

// Lanes [0, count) of 8 set (count clamped to [0, 8]).
__m256i first_lanes(int64_t count) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const int32_t n = static_cast<int32_t>(count < 0 ? 0 : count > 8 ? 8 : count);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), lane);
}

// Even and odd elements of the 16 floats lo:hi, in order.
void split(__m256 lo, __m256 hi, __m256* even, __m256* odd) {
  // shuffle_ps works within 128-bit halves: lo0 lo2 hi0 hi2 | lo4 lo6 hi4 hi6; the 64-bit
  // permute then puts the pairs in order.
  const __m256 e = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));
  const __m256 o = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 3, 1));
  *even = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), _MM_SHUFFLE(3, 1, 2, 0)));
  *odd = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(o), _MM_SHUFFLE(3, 1, 2, 0)));
}

}  // namespace

void max_pool2x2_plane(const float* x, int64_t out_h, int64_t out_w, int64_t width, float* out,
                       int64_t* indices) {
  const __m256i right = _mm256_set1_epi32(1);
  const __m256i below = _mm256_set1_epi32(static_cast<int32_t>(width));
  const __m256i below_right = _mm256_set1_epi32(static_cast<int32_t>(width) + 1);
  const __m256i corner = _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14);
  for (int64_t i = 0; i < out_h; ++i) {
    const float* top = x + 2 * i * width;
    const float* bottom = top + width;
    for (int64_t j = 0; j < out_w; j += 8) {
      const int64_t count = out_w - j < 8 ? out_w - j : 8;
      const __m256i first_half = first_lanes(2 * count), second_half = first_lanes(2 * count - 8);
      __m256 a, b, c, d;
      split(_mm256_maskload_ps(top + 2 * j, first_half),
            _mm256_maskload_ps(top + 2 * j + 8, second_half), &a, &b);
      split(_mm256_maskload_ps(bottom + 2 * j, first_half),
            _mm256_maskload_ps(bottom + 2 * j + 8, second_half), &c, &d);
      __m256 best = a;
      __m256i where = _mm256_setzero_si256();
      __m256 take = wins(b, best);
      best = _mm256_blendv_ps(best, b, take);
      where = _mm256_blendv_epi8(where, right, _mm256_castps_si256(take));
      take = wins(c, best);
      best = _mm256_blendv_ps(best, c, take);
      where = _mm256_blendv_epi8(where, below, _mm256_castps_si256(take));
      take = wins(d, best);
      best = _mm256_blendv_ps(best, d, take);
      where = _mm256_blendv_epi8(where, below_right, _mm256_castps_si256(take));
      const __m256i lanes = first_lanes(count);
      _mm256_maskstore_ps(out + i * out_w + j, lanes, best);
      // Plane index: corner row 2i, column 2j + 2 * lane, plus the winner's offset.
      const __m256i offset = _mm256_add_epi32(where, corner);
      const __m256i origin = _mm256_set1_epi64x(2 * i * width + 2 * j);
      const __m256i low = _mm256_add_epi64(origin,
                                           _mm256_cvtepi32_epi64(_mm256_castsi256_si128(offset)));
      const __m256i high = _mm256_add_epi64(
          origin, _mm256_cvtepi32_epi64(_mm256_extracti128_si256(offset, 1)));
      _mm256_maskstore_epi64(reinterpret_cast<long long*>(indices + i * out_w + j),
                             _mm256_cvtepi32_epi64(_mm256_castsi256_si128(lanes)), low);
      _mm256_maskstore_epi64(reinterpret_cast<long long*>(indices + i * out_w + j + 4),
                             _mm256_cvtepi32_epi64(_mm256_extracti128_si256(lanes, 1)), high);
    }
  }
}

}  // namespace cunn::kernels::avx2
