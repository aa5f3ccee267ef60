// AVX-512 row of the fused gather + normalize (see image_batch.h): 16 bytes
// zero-extended to int32, converted, then / 255, - mean, / std with
// _mm512_div_ps / _mm512_sub_ps: the same IEEE operations as the portable
// loop, so results are bit-identical. Masked tail (AVX512BW byte loads).
// Compiled with AVX-512 flags only here; everything has internal linkage.
#include <immintrin.h>

#include <cstdint>

#include "kernels/image_batch.h"

namespace cunn::kernels::avx512 {
namespace {

__m512 normalize16(__m128i bytes, __m512 scale, __m512 mean, __m512 std) {
  const __m512 x = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(bytes));
  return _mm512_div_ps(_mm512_sub_ps(_mm512_div_ps(x, scale), mean), std);
}

}  // namespace

void normalize_row(const uint8_t* x, float* out, int64_t n, float mean, float std) {
  const __m512 scale = _mm512_set1_ps(255.0f);
  const __m512 m = _mm512_set1_ps(mean);
  const __m512 s = _mm512_set1_ps(std);
  int64_t i = 0;
  // Two independent vectors per step keep both divider pipes busy.
  for (; i + 32 <= n; i += 32) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i + 16));
    _mm512_storeu_ps(out + i, normalize16(a, scale, m, s));
    _mm512_storeu_ps(out + i + 16, normalize16(b, scale, m, s));
  }
  for (; i + 16 <= n; i += 16) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i));
    _mm512_storeu_ps(out + i, normalize16(a, scale, m, s));
  }
  if (i < n) {
    const __mmask16 mask = static_cast<__mmask16>((1u << (n - i)) - 1u);
    const __m128i a = _mm_maskz_loadu_epi8(mask, x + i);
    _mm512_mask_storeu_ps(out + i, mask, normalize16(a, scale, m, s));
  }
}

}  // namespace cunn::kernels::avx512
