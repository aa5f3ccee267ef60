// AVX-512 Winograd F(2x2, 3x3) transforms for conv2d_winograd.cpp (the method, matrices and the
// V / M layouts are described there). For a run of tiles of one tile row of one plane:
//   input:  V[xi][j] = (B^T d_j B)[xi], d_j the 4x4 patch of the zero-padded plane whose
//           corner is (2a - pad_h, 2(b + j) - pad_w);
//   output: out[2a + r][2(b + j) + s] = (A^T m_j A)[r][s] + bias, clipped to the plane,
//           m_j[xi] = M[xi][j];
//   gradient (for the weight gradient): GT[xi][j] = (A g_j A^T)[xi], g_j the 2x2 block of
//           the output gradient plane at (2a, 2(b + j)), zero past its edges.
// The input and gradient transforms take `planes` planes (channels) at once, plane_stride
// apart, writing each plane's values v_plane_stride (gt_plane_stride) apart: one call per
// tile run rather than per channel, so the constants stay in registers.
// Tiles go in chunks: 7 for the input (their 16 input columns fill one vector), 8 for the
// output (16 output columns). Masked loads and stores never touch memory outside the
// plane. Compiled with AVX-512 flags only here; internal linkage only.
#include <immintrin.h>

#include <cstdint>

#include "kernels/conv2d.h"
#include "kernels/conv2d_relu_pool.h"

namespace cunn::kernels::avx512 {
namespace {

__mmask16 lanes_between(int64_t lo, int64_t hi) {  // lanes [lo, hi) of 16, clamped
  lo = lo < 0 ? 0 : lo > 16 ? 16 : lo;
  hi = hi < lo ? lo : hi > 16 ? 16 : hi;
  const uint32_t below_hi = hi >= 16 ? 0xFFFFu : (1u << hi) - 1u;
  const uint32_t below_lo = (1u << lo) - 1u;
  return static_cast<__mmask16>(below_hi & ~below_lo);
}

// 16 floats of row[column + l] (0 where the column is outside [0, width)). The address
// is formed as an integer: `column` may be negative, and those lanes are never read.
__m512 load_row(const float* row, int64_t column, int64_t width) {
  const __mmask16 valid = lanes_between(-column, width - column);
  const float* start = reinterpret_cast<const float*>(
      reinterpret_cast<uintptr_t>(row) + static_cast<uintptr_t>(column * 4));
  return _mm512_maskz_loadu_ps(valid, start);
}

}  // namespace

void winograd_input_run(const float* first_plane, int64_t planes, int64_t plane_stride,
                        int64_t height, int64_t width, int64_t pad_h, int64_t pad_w, int64_t a,
                        int64_t b, int64_t count, float* first_v, int64_t v_plane_stride,
                        int64_t v_xi_stride) {
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  // Lane j < 8 of p[s] is column 2j + s of the chunk.
  const __m512i two_j = _mm512_slli_epi32(_mm512_and_si512(lane, _mm512_set1_epi32(7)), 1);
  __m512i pick[4];
  for (int s = 0; s < 4; ++s) pick[s] = _mm512_add_epi32(two_j, _mm512_set1_epi32(s));
  for (int64_t index = 0; index < planes; ++index) {
  const float* plane = first_plane + index * plane_stride;
  float* v = first_v + index * v_plane_stride;
  for (int64_t done = 0; done < count; done += 7) {
    const int64_t n = count - done < 7 ? count - done : 7;
    const int64_t column = 2 * (b + done) - pad_w;
    __m512 d[4];  // the 4 patch rows; lanes past the chunk's 2n + 2 columns are unused
    for (int r = 0; r < 4; ++r) {
      const int64_t h = 2 * a - pad_h + r;
      d[r] = h < 0 || h >= height ? _mm512_setzero_ps()
                                  : load_row(plane + h * width, column, width);
    }
    const __m512 t[4] = {_mm512_sub_ps(d[0], d[2]), _mm512_add_ps(d[1], d[2]),
                         _mm512_sub_ps(d[2], d[1]), _mm512_sub_ps(d[1], d[3])};
    const __mmask16 tiles = lanes_between(0, n);
    for (int k = 0; k < 4; ++k) {
      const __m512 p0 = _mm512_permutexvar_ps(pick[0], t[k]);
      const __m512 p1 = _mm512_permutexvar_ps(pick[1], t[k]);
      const __m512 p2 = _mm512_permutexvar_ps(pick[2], t[k]);
      const __m512 p3 = _mm512_permutexvar_ps(pick[3], t[k]);
      float* out = v + (4 * k) * v_xi_stride + done;
      _mm512_mask_storeu_ps(out, tiles, _mm512_sub_ps(p0, p2));
      _mm512_mask_storeu_ps(out + v_xi_stride, tiles, _mm512_add_ps(p1, p2));
      _mm512_mask_storeu_ps(out + 2 * v_xi_stride, tiles, _mm512_sub_ps(p2, p1));
      _mm512_mask_storeu_ps(out + 3 * v_xi_stride, tiles, _mm512_sub_ps(p1, p3));
    }
  }
  }
}

void winograd_output_run(const float* m, int64_t m_xi_stride, int64_t count, float bias,
                         float* out_plane, int64_t out_h, int64_t out_w, int64_t a, int64_t b) {
  // Lane 2j + s of a row is tile j's column s: interleave y[.][0] (lanes 0..7 of the
  // first source) with y[.][1] (the second).
  const __m512i interleave = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22,
                                               7, 23);
  const __m256 bias8 = _mm256_set1_ps(bias);
  const int64_t row = 2 * a;
  for (int64_t done = 0; done < count; done += 8) {
    const int64_t n = count - done < 8 ? count - done : 8;
    const __mmask8 tiles = static_cast<__mmask8>(lanes_between(0, n));
    __m256 x[16];
    for (int xi = 0; xi < 16; ++xi)
      x[xi] = _mm256_maskz_loadu_ps(tiles, m + xi * m_xi_stride + done);
    __m256 s0[4], s1[4];
    for (int k = 0; k < 4; ++k) {
      s0[k] = _mm256_add_ps(_mm256_add_ps(x[4 * k], x[4 * k + 1]), x[4 * k + 2]);
      s1[k] = _mm256_sub_ps(_mm256_sub_ps(x[4 * k + 1], x[4 * k + 2]), x[4 * k + 3]);
    }
    const __m256 y00 = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(s0[0], s0[1]), s0[2]), bias8);
    const __m256 y01 = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(s1[0], s1[1]), s1[2]), bias8);
    const __m256 y10 = _mm256_add_ps(_mm256_sub_ps(_mm256_sub_ps(s0[1], s0[2]), s0[3]), bias8);
    const __m256 y11 = _mm256_add_ps(_mm256_sub_ps(_mm256_sub_ps(s1[1], s1[2]), s1[3]), bias8);
    const int64_t column = 2 * (b + done);
    const __mmask16 columns = lanes_between(0, out_w - column < 2 * n ? out_w - column : 2 * n);
    const __m512 top = _mm512_permutex2var_ps(_mm512_castps256_ps512(y00), interleave,
                                              _mm512_castps256_ps512(y01));
    _mm512_mask_storeu_ps(out_plane + row * out_w + column, columns, top);
    if (row + 1 < out_h) {
      const __m512 bottom = _mm512_permutex2var_ps(_mm512_castps256_ps512(y10), interleave,
                                                   _mm512_castps256_ps512(y11));
      _mm512_mask_storeu_ps(out_plane + (row + 1) * out_w + column, columns, bottom);
    }
  }
}

void winograd_gradient_run(const float* first_plane, int64_t planes, int64_t plane_stride,
                           int64_t out_h, int64_t out_w, int64_t a, int64_t b, int64_t count,
                           float* first_gt, int64_t gt_plane_stride, int64_t gt_xi_stride) {
  // Even and odd lanes of a 16-float row: tile j's columns 0 and 1.
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 0, 2, 4, 6, 8, 10, 12, 14);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  const int64_t row = 2 * a;
  for (int64_t index = 0; index < planes; ++index) {
  const float* plane = first_plane + index * plane_stride;
  float* gt = first_gt + index * gt_plane_stride;
  for (int64_t done = 0; done < count; done += 8) {
    const int64_t n = count - done < 8 ? count - done : 8;
    const int64_t column = 2 * (b + done);
    // Positions past the output's edge (a clipped tile) count as zero gradient.
    const __mmask16 columns = lanes_between(0, out_w - column < 2 * n ? out_w - column : 2 * n);
    const __m512 top = _mm512_maskz_loadu_ps(columns, plane + row * out_w + column);
    const __m512 bottom = row + 1 < out_h
                              ? _mm512_maskz_loadu_ps(columns, plane + (row + 1) * out_w + column)
                              : _mm512_setzero_ps();
    const __m256 g[2][2] = {
        {_mm512_castps512_ps256(_mm512_permutexvar_ps(even, top)),
         _mm512_castps512_ps256(_mm512_permutexvar_ps(odd, top))},
        {_mm512_castps512_ps256(_mm512_permutexvar_ps(even, bottom)),
         _mm512_castps512_ps256(_mm512_permutexvar_ps(odd, bottom))}};
    const __m256 zero = _mm256_setzero_ps();
    const __mmask8 tiles = static_cast<__mmask8>(lanes_between(0, n));
    // A g: rows g0, g0 + g1, g0 - g1, -g1 (for each of the tile's two columns).
    __m256 r[4][2];
    for (int s = 0; s < 2; ++s) {
      r[0][s] = g[0][s];
      r[1][s] = _mm256_add_ps(g[0][s], g[1][s]);
      r[2][s] = _mm256_sub_ps(g[0][s], g[1][s]);
      r[3][s] = _mm256_sub_ps(zero, g[1][s]);
    }
    // (A g) A^T: the same on each row's two columns.
    for (int k = 0; k < 4; ++k) {
      float* out = gt + (4 * k) * gt_xi_stride + done;
      _mm256_mask_storeu_ps(out, tiles, r[k][0]);
      _mm256_mask_storeu_ps(out + gt_xi_stride, tiles, _mm256_add_ps(r[k][0], r[k][1]));
      _mm256_mask_storeu_ps(out + 2 * gt_xi_stride, tiles, _mm256_sub_ps(r[k][0], r[k][1]));
      _mm256_mask_storeu_ps(out + 3 * gt_xi_stride, tiles, _mm256_sub_ps(zero, r[k][1]));
    }
  }
  }
}

// relu_pool_windows (conv2d_relu_pool.cpp holds the portable version and the rules), 16
// windows at a time: even and odd columns of each row separated, relu as `x < 0 ? 0 : x`
// (an ordered comparison: a NaN stays, -0 stays), the maximum by order_key on the bits.
void relu_pool_windows(const float* top, const float* bottom, int64_t count, float* pooled,
                       uint8_t* codes) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28,
                                         30);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
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
  for (int64_t done = 0; done < count; done += 16) {
    const int64_t n = count - done < 16 ? count - done : 16;
    const __mmask16 windows = lanes_between(0, n);
    const __mmask16 first_half = lanes_between(0, 2 * n), second_half = lanes_between(0, 2 * n - 16);
    const float* t = top + 2 * done;
    const float* b = bottom + 2 * done;
    const __m512 t0 = _mm512_maskz_loadu_ps(first_half, t);
    const __m512 t1 = _mm512_maskz_loadu_ps(second_half, t + 16);
    const __m512 b0 = _mm512_maskz_loadu_ps(first_half, b);
    const __m512 b1 = _mm512_maskz_loadu_ps(second_half, b + 16);
    const __m512 c[4] = {_mm512_permutex2var_ps(t0, even, t1), _mm512_permutex2var_ps(t0, odd, t1),
                         _mm512_permutex2var_ps(b0, even, b1), _mm512_permutex2var_ps(b0, odd, b1)};
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
    _mm512_mask_storeu_ps(pooled + done, windows, value);
    const __mmask16 passes = _mm512_cmp_ps_mask(source, zero, _CMP_GT_OQ);
    const __m512i code = _mm512_mask_blend_epi32(passes, _mm512_set1_epi32(kNoGradient), where);
    _mm_mask_storeu_epi8(codes + done, windows, _mm512_cvtepi32_epi8(code));
  }
}

// unpool_windows (conv2d_relu_pool.cpp holds the portable version): 16 windows at a time,
// 0 + g where the code names the position, +0 elsewhere, interleaved into the two rows.
void unpool_windows(const float* grad, const uint8_t* codes, int64_t count, float* top,
                    float* bottom) {
  const __m512i interleave_lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6,
                                                  22, 7, 23);
  const __m512i interleave_hi = _mm512_add_epi32(interleave_lo, _mm512_set1_epi32(8));
  const __m512 zero = _mm512_setzero_ps();
  for (int64_t done = 0; done < count; done += 16) {
    const int64_t n = count - done < 16 ? count - done : 16;
    const __mmask16 windows = lanes_between(0, n);
    const __mmask16 first_half = lanes_between(0, 2 * n), second_half = lanes_between(0, 2 * n - 16);
    const __m512 g = _mm512_add_ps(zero, _mm512_maskz_loadu_ps(windows, grad + done));
    const __m512i code = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(windows, codes + done));
    __m512 at[4];
    for (int k = 0; k < 4; ++k)
      at[k] = _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(code, _mm512_set1_epi32(k)), g);
    float* rows[2] = {top + 2 * done, bottom + 2 * done};
    for (int r = 0; r < 2; ++r) {
      _mm512_mask_storeu_ps(rows[r], first_half,
                            _mm512_permutex2var_ps(at[2 * r], interleave_lo, at[2 * r + 1]));
      _mm512_mask_storeu_ps(rows[r] + 16, second_half,
                            _mm512_permutex2var_ps(at[2 * r], interleave_hi, at[2 * r + 1]));
    }
  }
}

}  // namespace cunn::kernels::avx512
