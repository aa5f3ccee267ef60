// AVX2 row of the fused gather + normalize (see image_batch.h): 8 bytes
// zero-extended to int32, converted, then / 255, - mean, / std with
// _mm256_div_ps / _mm256_sub_ps, the tail by the same scalar operations: the
// same IEEE results as the portable loop. Compiled with -mavx2 only here;
// everything has internal linkage.
#include <immintrin.h>

#include <cstdint>

#include "kernels/image_batch.h"

namespace cunn::kernels::avx2 {
namespace {

__m256 normalize8(const uint8_t* x, __m256 scale, __m256 mean, __m256 std) {
  const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(x));
  const __m256 v = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes));
  return _mm256_div_ps(_mm256_sub_ps(_mm256_div_ps(v, scale), mean), std);
}

}  // namespace

void normalize_row(const uint8_t* x, float* out, int64_t n, float mean, float std) {
  const __m256 scale = _mm256_set1_ps(255.0f);
  const __m256 m = _mm256_set1_ps(mean);
  const __m256 s = _mm256_set1_ps(std);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm256_storeu_ps(out + i, normalize8(x + i, scale, m, s));
    _mm256_storeu_ps(out + i + 8, normalize8(x + i + 8, scale, m, s));
  }
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, normalize8(x + i, scale, m, s));
  for (; i < n; ++i) out[i] = (static_cast<float>(x[i]) / 255.0f - mean) / std;
}

}  // namespace cunn::kernels::avx2
