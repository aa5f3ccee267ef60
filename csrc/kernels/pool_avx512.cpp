// AVX-512 max pooling over 2x2 windows at stride 2 without padding (MaxPool2d(2)), chosen at
// run time by pool.cpp, whose portable pool_plane_2x2 it must match bit for bit (same
// candidates in the same order, same rule: strictly greater, or the first NaN). 16 outputs
// per step: 32 floats of each input row, split into even and odd columns. Masked loads and
// stores never touch memory past the row's 2 * out_w columns. Internal linkage only.
#include <immintrin.h>

#include <cstdint>

#include "kernels/pool.h"

namespace cunn::kernels::avx512 {
namespace {

// v beats best: larger, or NaN against a number (the first NaN stays: NaN beats nothing
// once best is NaN). The comparisons are quiet, so NaNs raise no flags.
__mmask16 wins(__m512 v, __m512 best) {
  return _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ) |
         (_mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q) & _mm512_cmp_ps_mask(best, best, _CMP_ORD_Q));
}

__mmask16 low_bits(int64_t count) {
  return count >= 16 ? __mmask16(0xFFFF)
                     : count <= 0 ? __mmask16(0) : __mmask16((1u << count) - 1u);
}

}  // namespace

void max_pool2x2_plane(const float* x, int64_t out_h, int64_t out_w, int64_t width, float* out,
                       int64_t* indices) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28,
                                         30);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  // Offsets of the four candidates from the window's top-left corner.
  const __m512i right = _mm512_set1_epi32(1);
  const __m512i below = _mm512_set1_epi32(static_cast<int32_t>(width));
  const __m512i below_right = _mm512_set1_epi32(static_cast<int32_t>(width) + 1);
  // 2 * lane: the corner's column within a step of 16 outputs.
  const __m512i corner = _mm512_slli_epi32(
      _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), 1);
  for (int64_t i = 0; i < out_h; ++i) {
    const float* top = x + 2 * i * width;
    const float* bottom = top + width;
    for (int64_t j = 0; j < out_w; j += 16) {
      const int64_t count = out_w - j < 16 ? out_w - j : 16;
      const __mmask16 first_half = low_bits(2 * count), second_half = low_bits(2 * count - 16);
      const __m512 t0 = _mm512_maskz_loadu_ps(first_half, top + 2 * j);
      const __m512 t1 = _mm512_maskz_loadu_ps(second_half, top + 2 * j + 16);
      const __m512 b0 = _mm512_maskz_loadu_ps(first_half, bottom + 2 * j);
      const __m512 b1 = _mm512_maskz_loadu_ps(second_half, bottom + 2 * j + 16);
      __m512 best = _mm512_permutex2var_ps(t0, even, t1);
      __m512i where = _mm512_setzero_si512();
      __m512 v = _mm512_permutex2var_ps(t0, odd, t1);
      __mmask16 take = wins(v, best);
      best = _mm512_mask_mov_ps(best, take, v);
      where = _mm512_mask_mov_epi32(where, take, right);
      v = _mm512_permutex2var_ps(b0, even, b1);
      take = wins(v, best);
      best = _mm512_mask_mov_ps(best, take, v);
      where = _mm512_mask_mov_epi32(where, take, below);
      v = _mm512_permutex2var_ps(b0, odd, b1);
      take = wins(v, best);
      best = _mm512_mask_mov_ps(best, take, v);
      where = _mm512_mask_mov_epi32(where, take, below_right);
      const __mmask16 lanes = low_bits(count);
      _mm512_mask_storeu_ps(out + i * out_w + j, lanes, best);
      // Plane index: corner row 2i, column 2j + 2 * lane, plus the winner's offset.
      const __m512i offset = _mm512_add_epi32(where, corner);
      const __m512i origin = _mm512_set1_epi64(2 * i * width + 2 * j);
      const __m512i low = _mm512_add_epi64(origin,
                                           _mm512_cvtepi32_epi64(_mm512_castsi512_si256(offset)));
      const __m512i high = _mm512_add_epi64(
          origin, _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(offset, 1)));
      _mm512_mask_storeu_epi64(indices + i * out_w + j, static_cast<__mmask8>(lanes), low);
      _mm512_mask_storeu_epi64(indices + i * out_w + j + 8, static_cast<__mmask8>(lanes >> 8),
                               high);
    }
  }
}

}  // namespace cunn::kernels::avx512
