// AVX-512 versions of exp, sigmoid and tanh (16 floats per step, masked tail),
// compiled with AVX-512 flags only here and chosen at run time by
// activation.cpp. Same method and constants as activation_avx2.cpp (see its
// header): Cody-Waite reduction + degree-7 Taylor polynomial for exp;
// sigmoid from exp(-|x|); tanh from t = exp(-2|x|), or its odd Taylor series
// to x^13 for |x| < 0.4. Everything here has internal linkage.
#include <immintrin.h>

#include <cmath>  // HUGE_VALF: a macro, so no inline function is instantiated here
#include <cstdint>

#include "kernels/activation.h"

namespace cunn::kernels::avx512 {
namespace {

__m512 exp_vector(__m512 x) {
  const __m512 low = _mm512_set1_ps(-87.33654475f);   // ln(FLT_MIN)
  const __m512 high = _mm512_set1_ps(88.72283905f);   // ln(FLT_MAX)
  const __m512 clamped = _mm512_min_ps(_mm512_max_ps(x, low), high);
  __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(clamped, _mm512_set1_ps(1.44269504088896341f)),
                                  _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  n = _mm512_min_ps(n, _mm512_set1_ps(127.0f));
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), clamped);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187e-06f), r);
  __m512 p = _mm512_set1_ps(1.0f / 5040.0f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  const __m512i bits = _mm512_slli_epi32(
      _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
  __m512 result = _mm512_mul_ps(p, _mm512_castsi512_ps(bits));
  result = _mm512_mask_mov_ps(result, _mm512_cmp_ps_mask(x, low, _CMP_LT_OQ),
                              _mm512_setzero_ps());
  result = _mm512_mask_mov_ps(result, _mm512_cmp_ps_mask(x, high, _CMP_GT_OQ),
                              _mm512_set1_ps(HUGE_VALF));
  return _mm512_mask_mov_ps(result, _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), x);
}

__m512 sigmoid_vector(__m512 x) {
  const __m512 e = exp_vector(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_abs_ps(x)));
  const __m512 s = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_add_ps(_mm512_set1_ps(1.0f), e));
  return _mm512_mask_mov_ps(_mm512_mul_ps(e, s),
                            _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GE_OQ), s);
}

__m512 tanh_vector(__m512 x) {
  const __m512 a = _mm512_abs_ps(x);
  const __m512 one = _mm512_set1_ps(1.0f);
  const __m512 t = exp_vector(_mm512_mul_ps(a, _mm512_set1_ps(-2.0f)));
  const __m512 large = _mm512_div_ps(_mm512_sub_ps(one, t), _mm512_add_ps(one, t));
  const __m512 a2 = _mm512_mul_ps(a, a);
  __m512 p = _mm512_set1_ps(21844.0f / 6081075.0f);
  p = _mm512_fmadd_ps(p, a2, _mm512_set1_ps(-1382.0f / 155925.0f));
  p = _mm512_fmadd_ps(p, a2, _mm512_set1_ps(62.0f / 2835.0f));
  p = _mm512_fmadd_ps(p, a2, _mm512_set1_ps(-17.0f / 315.0f));
  p = _mm512_fmadd_ps(p, a2, _mm512_set1_ps(2.0f / 15.0f));
  p = _mm512_fmadd_ps(p, a2, _mm512_set1_ps(-1.0f / 3.0f));
  const __m512 small = _mm512_fmadd_ps(_mm512_mul_ps(p, a2), a, a);
  const __m512 magnitude =
      _mm512_mask_mov_ps(large, _mm512_cmp_ps_mask(a, _mm512_set1_ps(0.4f), _CMP_LT_OQ), small);
  const __m512i sign =
      _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(static_cast<int>(0x80000000u)));
  return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(magnitude), sign));
}

template <class Function>
void map(const float* x, float* out, int64_t n, Function function) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(out + i, function(_mm512_loadu_ps(x + i)));
  if (i < n) {
    const __mmask16 mask = static_cast<__mmask16>((1u << (n - i)) - 1u);
    _mm512_mask_storeu_ps(out + i, mask, function(_mm512_maskz_loadu_ps(mask, x + i)));
  }
}

}  // namespace

void sigmoid(const float* x, float* out, int64_t n) { map(x, out, n, sigmoid_vector); }
void tanh(const float* x, float* out, int64_t n) { map(x, out, n, tanh_vector); }
void exp_inplace(float* data, int64_t n) { map(data, data, n, exp_vector); }

}  // namespace cunn::kernels::avx512
