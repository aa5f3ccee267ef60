// AVX2 + FMA versions of exp, sigmoid and tanh (8 floats per step), compiled
// with -mavx2 -mfma only here and chosen at run time by activation.cpp.
// exp: x = n ln2 + r with |r| <= ln2/2 (ln2 split in two for an exact n ln2),
// exp(r) by its degree-7 Taylor polynomial (truncation < 1 ulp on that
// interval), times 2^n built in the exponent bits. Inputs below ln(FLT_MIN)
// give 0 (no subnormals), above ln(FLT_MAX) +inf, NaN stays NaN.
// sigmoid uses exp(-|x|); tanh uses (1 - t) / (1 + t) with t = exp(-2|x|),
// except for |x| < 0.4 where that cancels and its odd Taylor series to x^13
// (error < 0.1 ulp there) is used instead. Must match the portable loops in
// activation.cpp within a few ulp. Everything here has internal linkage.
#include <immintrin.h>

#include <cmath>  // HUGE_VALF: a macro, so no inline function is instantiated here
#include <cstdint>

#include "kernels/activation.h"

namespace cunn::kernels::avx2 {
namespace {

__m256 exp_vector(__m256 x) {
  const __m256 low = _mm256_set1_ps(-87.33654475f);   // ln(FLT_MIN)
  const __m256 high = _mm256_set1_ps(88.72283905f);   // ln(FLT_MAX)
  const __m256 clamped = _mm256_min_ps(_mm256_max_ps(x, low), high);
  __m256 n = _mm256_round_ps(_mm256_mul_ps(clamped, _mm256_set1_ps(1.44269504088896341f)),
                             _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  n = _mm256_min_ps(n, _mm256_set1_ps(127.0f));
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145751953125f), clamped);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.428606765330187e-06f), r);
  __m256 p = _mm256_set1_ps(1.0f / 5040.0f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  const __m256i bits = _mm256_slli_epi32(
      _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  __m256 result = _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
  result = _mm256_blendv_ps(result, _mm256_setzero_ps(), _mm256_cmp_ps(x, low, _CMP_LT_OQ));
  result = _mm256_blendv_ps(result, _mm256_set1_ps(HUGE_VALF),
                            _mm256_cmp_ps(x, high, _CMP_GT_OQ));
  return _mm256_blendv_ps(result, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

__m256 abs_vector(__m256 x) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x); }

__m256 sigmoid_vector(__m256 x) {
  const __m256 e = exp_vector(_mm256_sub_ps(_mm256_setzero_ps(), abs_vector(x)));
  const __m256 s = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_add_ps(_mm256_set1_ps(1.0f), e));
  return _mm256_blendv_ps(_mm256_mul_ps(e, s), s,
                          _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GE_OQ));
}

__m256 tanh_vector(__m256 x) {
  const __m256 a = abs_vector(x);
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 t = exp_vector(_mm256_mul_ps(a, _mm256_set1_ps(-2.0f)));
  const __m256 large = _mm256_div_ps(_mm256_sub_ps(one, t), _mm256_add_ps(one, t));
  const __m256 a2 = _mm256_mul_ps(a, a);
  __m256 p = _mm256_set1_ps(21844.0f / 6081075.0f);
  p = _mm256_fmadd_ps(p, a2, _mm256_set1_ps(-1382.0f / 155925.0f));
  p = _mm256_fmadd_ps(p, a2, _mm256_set1_ps(62.0f / 2835.0f));
  p = _mm256_fmadd_ps(p, a2, _mm256_set1_ps(-17.0f / 315.0f));
  p = _mm256_fmadd_ps(p, a2, _mm256_set1_ps(2.0f / 15.0f));
  p = _mm256_fmadd_ps(p, a2, _mm256_set1_ps(-1.0f / 3.0f));
  const __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(p, a2), a, a);
  const __m256 magnitude =
      _mm256_blendv_ps(large, small, _mm256_cmp_ps(a, _mm256_set1_ps(0.4f), _CMP_LT_OQ));
  const __m256 sign = _mm256_and_ps(x, _mm256_set1_ps(-0.0f));
  return _mm256_or_ps(magnitude, sign);
}

template <class Function>
void map(const float* x, float* out, int64_t n, Function function) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, function(_mm256_loadu_ps(x + i)));
  if (i < n) {
    alignas(32) float tail[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int64_t j = i; j < n; ++j) tail[j - i] = x[j];
    _mm256_store_ps(tail, function(_mm256_load_ps(tail)));
    for (int64_t j = i; j < n; ++j) out[j] = tail[j - i];
  }
}

}  // namespace

void sigmoid(const float* x, float* out, int64_t n) { map(x, out, n, sigmoid_vector); }
void tanh(const float* x, float* out, int64_t n) { map(x, out, n, tanh_vector); }
void exp_inplace(float* data, int64_t n) { map(data, data, n, exp_vector); }

}  // namespace cunn::kernels::avx2
