// AVX2 versions of relu_pool_windows and unpool_windows (conv2d_relu_pool.cpp holds the
// portable ones and the rules): 8 windows at a time, the last few through masked loads and
// stores. Pooling: even and odd columns of each row separated, relu as `x < 0 ? 0 : x` (an
// ordered comparison: a NaN stays, -0 stays), the maximum by order_key on the bits.
// Compiled with AVX2 flags only here; internal linkage only.
#include <immintrin.h>

#include <cstdint>

#include "kernels/conv2d_relu_pool.h"

namespace cunn::kernels::avx2 {
namespace {

// Columns 0, 2, ..., 14 (even) or 1, 3, ..., 15 (odd) of the 16 floats lo:hi.
__m256 columns(__m256 lo, __m256 hi, bool odd) {
  const __m256 mixed = odd ? _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 3, 1))
                           : _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));
  // mixed holds lo[0..3], hi[0..3], lo[4..7], hi[4..7] picks: put the 64-bit pairs in order.
  return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(mixed), _MM_SHUFFLE(3, 1, 2, 0)));
}

__m256 relu(__m256 v) {
  const __m256 zero = _mm256_setzero_ps();
  return _mm256_blendv_ps(v, zero, _mm256_cmp_ps(v, zero, _CMP_LT_OQ));
}

__m256i key(__m256 v) {
  const __m256i bits = _mm256_castps_si256(v);
  const __m256i magnitude = _mm256_and_si256(bits, _mm256_set1_epi32(0x7fffffff));
  const __m256i sign = _mm256_srai_epi32(bits, 31);
  const __m256i k = _mm256_sub_epi32(_mm256_xor_si256(magnitude, sign), sign);
  const __m256i nan = _mm256_cmpgt_epi32(magnitude, _mm256_set1_epi32(0x7f800000));
  return _mm256_blendv_epi8(k, _mm256_set1_epi32(0x7fffffff), nan);
}

// Lanes [0, count) of 8 as a maskload / maskstore mask (count clamped to [0, 8]).
__m256i first_lanes(int64_t count) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const int32_t n = static_cast<int32_t>(count < 0 ? 0 : count > 8 ? 8 : count);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), lane);
}

}  // namespace

void relu_pool_windows(const float* top, const float* bottom, int64_t count, float* pooled,
                       uint8_t* codes) {
  const __m256 zero = _mm256_setzero_ps();
  for (int64_t done = 0; done < count; done += 8) {
    const int64_t n = count - done < 8 ? count - done : 8;
    const __m256i low = first_lanes(2 * n), high = first_lanes(2 * n - 8);
    const float* t = top + 2 * done;
    const float* b = bottom + 2 * done;
    const __m256 t0 = _mm256_maskload_ps(t, low), t1 = _mm256_maskload_ps(t + 8, high);
    const __m256 b0 = _mm256_maskload_ps(b, low), b1 = _mm256_maskload_ps(b + 8, high);
    const __m256 c[4] = {columns(t0, t1, false), columns(t0, t1, true), columns(b0, b1, false),
                         columns(b0, b1, true)};
    __m256 value = relu(c[0]), source = c[0];
    __m256i best = key(value), where = _mm256_setzero_si256();
    for (int k = 1; k < 4; ++k) {
      const __m256 r = relu(c[k]);
      const __m256i candidate = key(r);
      const __m256i take = _mm256_cmpgt_epi32(candidate, best);
      best = _mm256_blendv_epi8(best, candidate, take);
      value = _mm256_blendv_ps(value, r, _mm256_castsi256_ps(take));
      source = _mm256_blendv_ps(source, c[k], _mm256_castsi256_ps(take));
      where = _mm256_blendv_epi8(where, _mm256_set1_epi32(k), take);
    }
    _mm256_maskstore_ps(pooled + done, first_lanes(n), value);
    const __m256 passes = _mm256_cmp_ps(source, zero, _CMP_GT_OQ);
    const __m256i code = _mm256_blendv_epi8(_mm256_set1_epi32(kNoGradient), where,
                                            _mm256_castps_si256(passes));
    alignas(32) int32_t lanes[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), code);
    for (int64_t j = 0; j < n; ++j) codes[done + j] = static_cast<uint8_t>(lanes[j]);
  }
}

void unpool_windows(const float* grad, const uint8_t* codes, int64_t count, float* top,
                    float* bottom) {
  const __m256 zero = _mm256_setzero_ps();
  for (int64_t done = 0; done < count; done += 8) {
    const int64_t n = count - done < 8 ? count - done : 8;
    const __m256i windows = first_lanes(n);
    const __m256 g = _mm256_add_ps(zero, _mm256_maskload_ps(grad + done, windows));
    alignas(32) int32_t lanes[8] = {};
    for (int64_t j = 0; j < n; ++j) lanes[j] = codes[done + j];
    const __m256i code = _mm256_load_si256(reinterpret_cast<const __m256i*>(lanes));
    __m256 at[4];
    for (int k = 0; k < 4; ++k)
      at[k] = _mm256_and_ps(g, _mm256_castsi256_ps(_mm256_cmpeq_epi32(code, _mm256_set1_epi32(k))));
    // Interleave at[2r] and at[2r + 1] into row r: lanes 2j, 2j + 1 of window j.
    float* rows[2] = {top + 2 * done, bottom + 2 * done};
    const __m256i low = first_lanes(2 * n), high = first_lanes(2 * n - 8);
    for (int r = 0; r < 2; ++r) {
      const __m256 lo = _mm256_unpacklo_ps(at[2 * r], at[2 * r + 1]);  // windows 0,1 | 4,5
      const __m256 hi = _mm256_unpackhi_ps(at[2 * r], at[2 * r + 1]);  // windows 2,3 | 6,7
      _mm256_maskstore_ps(rows[r], low, _mm256_permute2f128_ps(lo, hi, 0x20));
      _mm256_maskstore_ps(rows[r] + 8, high, _mm256_permute2f128_ps(lo, hi, 0x31));
    }
  }
}

}  // namespace cunn::kernels::avx2
