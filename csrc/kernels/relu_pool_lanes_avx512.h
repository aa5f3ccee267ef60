// The 2x2 relu + max-pool of 16 windows at once, as relu_pool_windows defines it, for the
// AVX-512 files that pool in registers (the Winograd output transform, the few-channel
// forward). Include only from a file compiled with AVX-512 flags.
#pragma once

#include <immintrin.h>

#include "kernels/conv2d_relu_pool.h"

namespace cunn::kernels::avx512 {
namespace {

// The relu'd maximum of each lane's 2x2 window c[0..3] (in row-major order) and its
// code, as relu_pool_windows defines them: relu as `x < 0 ? 0 : x` (an ordered
// comparison: a NaN stays, -0 stays), the maximum by order_key on the bits. Inlined: as
// a call it passed its vectors through memory and took 7% of the pooled forward.
[[gnu::always_inline]] inline void relu_pool_lanes(const __m512 c[4], __m512* pooled,
                                                   __m512i* code) {
  const __m512 zero = _mm512_setzero_ps();
  const __m512i magnitude_mask = _mm512_set1_epi32(0x7fffffff);
  const __m512i infinity = _mm512_set1_epi32(0x7f800000);
  const __m512i nan_key = _mm512_set1_epi32(0x7fffffff);
  auto relu = [&](__m512 v) {
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, zero, _CMP_LT_OQ), v, zero);
  };
  auto key = [&](__m512 v) {
    const __m512i bits = _mm512_castps_si512(v);
    const __m512i magnitude = _mm512_and_si512(bits, magnitude_mask);
    const __m512i sign = _mm512_srai_epi32(bits, 31);
    const __m512i k = _mm512_sub_epi32(_mm512_xor_si512(magnitude, sign), sign);
    return _mm512_mask_blend_epi32(_mm512_cmpgt_epi32_mask(magnitude, infinity), k, nan_key);
  };
  __m512 value = relu(c[0]), source = c[0];
  __m512i best = key(value), where = _mm512_setzero_si512();
  for (int k = 1; k < 4; ++k) {
    const __m512 r = relu(c[k]);
    const __m512i candidate = key(r);
    const __mmask16 take = _mm512_cmpgt_epi32_mask(candidate, best);
    best = _mm512_mask_blend_epi32(take, best, candidate);
    value = _mm512_mask_blend_ps(take, value, r);
    source = _mm512_mask_blend_ps(take, source, c[k]);
    where = _mm512_mask_blend_epi32(take, where, _mm512_set1_epi32(k));
  }
  *pooled = value;
  const __mmask16 passes = _mm512_cmp_ps_mask(source, zero, _CMP_GT_OQ);
  *code = _mm512_mask_blend_epi32(passes, _mm512_set1_epi32(kNoGradient), where);
}

}  // namespace
}  // namespace cunn::kernels::avx512
