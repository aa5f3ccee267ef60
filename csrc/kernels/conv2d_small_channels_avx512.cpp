// AVX-512 inner loops of the few-channel 3x3 convolution (conv2d_small_channels.h describes
// the padded layout and the order of every sum). Compiled with AVX-512 flags only here;
// internal linkage only.
#include <immintrin.h>

#include <cstdint>

#include "kernels/conv2d_relu_pool.h"
#include "kernels/conv2d_small_channels.h"
#include "kernels/relu_pool_lanes_avx512.h"

namespace cunn::kernels::avx512 {
namespace {

constexpr int kTaps = 9;

// Lanes [0, remaining) of a strip (all 16 when remaining >= 16).
__mmask16 strip_lanes(int64_t remaining) {
  return remaining >= 16 ? static_cast<__mmask16>(0xFFFF)
                         : static_cast<__mmask16>((1u << remaining) - 1u);
}

// Output channels o_begin .. o_begin + kBlock - 1 of rows [row_begin, row_end). The taps go
// outermost inside a strip so that kBlock independent accumulators hide the FMA latency.
template <int kBlock>
void forward_block(const Conv2dShape& s, const SmallChannelsLayout& layout, const float* padded,
                   const float* packed, const float* bias, int64_t o_begin, int64_t row_begin,
                   int64_t row_end, float* out, int64_t plane_stride, int64_t out_row_stride) {
  const bool whole = out_row_stride >= (s.out_w + 15) / 16 * 16;
  const int64_t channels = s.channels, row_stride = layout.row_stride;
  const float* block_weights = packed + (o_begin / 16) * channels * kTaps * 16 + o_begin % 16;
  for (int64_t i = row_begin; i < row_end; ++i) {
    for (int64_t column = 0; column < s.out_w; column += 16) {
      __m512 sum[kBlock];
      for (int b = 0; b < kBlock; ++b) sum[b] = _mm512_setzero_ps();
      for (int64_t c = 0; c < channels; ++c) {
        const float* corner = padded + c * layout.channel_stride + i * row_stride + column;
        __m512 strip[kTaps];
        for (int p = 0; p < 3; ++p)
          for (int q = 0; q < 3; ++q)
            strip[3 * p + q] = _mm512_loadu_ps(corner + p * row_stride + q);
        const float* w = block_weights + c * kTaps * 16;
#pragma GCC unroll 9
        for (int t = 0; t < kTaps; ++t)
          for (int b = 0; b < kBlock; ++b)
            sum[b] = _mm512_fmadd_ps(_mm512_set1_ps(w[t * 16 + b]), strip[t], sum[b]);
      }
      const __mmask16 lanes = whole ? static_cast<__mmask16>(0xFFFF)
                                    : strip_lanes(s.out_w - column);
      for (int b = 0; b < kBlock; ++b) {
        const __m512 value = bias ? _mm512_add_ps(sum[b], _mm512_set1_ps(bias[o_begin + b]))
                                  : sum[b];
        _mm512_mask_storeu_ps(
            out + (o_begin + b) * plane_stride + (i - row_begin) * out_row_stride + column, lanes,
            value);
      }
    }
  }
}

template <int kCount>
void weight_grad_block(const Conv2dShape& s, const SmallChannelsLayout& layout,
                       const float* padded, const float* grad_planes, const float* readable_end,
                       float* lanes) {
  const int64_t plane = s.out_h * s.out_w, row_stride = layout.row_stride;
  for (int64_t c = 0; c < s.channels; ++c) {
    float* channel_lanes[kCount];
    __m512 sum[kCount][kTaps];
    for (int b = 0; b < kCount; ++b) {
      channel_lanes[b] = lanes + (b * s.channels + c) * kTaps * 16;
      for (int t = 0; t < kTaps; ++t) sum[b][t] = _mm512_loadu_ps(channel_lanes[b] + t * 16);
    }
    const float* image = padded + c * layout.channel_stride;
    for (int64_t i = 0; i < s.out_h; ++i) {
      for (int64_t column = 0; column < s.out_w; column += 16) {
        // Lanes past the row's end keep their sums: their inputs may be real (even infinite)
        // values of the next columns, which no gradient multiplies.
        const __mmask16 valid = strip_lanes(s.out_w - column);
        __m512 grad[kCount];
        for (int b = 0; b < kCount; ++b) {
          const float* strip_start = grad_planes + b * plane + i * s.out_w + column;
          grad[b] = readable_end - strip_start >= 16 ? _mm512_loadu_ps(strip_start)
                                                     : _mm512_maskz_loadu_ps(valid, strip_start);
        }
        const float* corner = image + i * row_stride + column;
        for (int p = 0; p < 3; ++p) {
          // The row's aligned vectors at the strip and after it; the strips shifted by 1 and 2
          // columns are cut from them.
          const __m512i low = _mm512_castps_si512(_mm512_loadu_ps(corner + p * row_stride));
          const __m512i high = _mm512_castps_si512(_mm512_loadu_ps(corner + p * row_stride + 16));
          const __m512 strip[3] = {_mm512_castsi512_ps(low),
                                   _mm512_castsi512_ps(_mm512_alignr_epi32(high, low, 1)),
                                   _mm512_castsi512_ps(_mm512_alignr_epi32(high, low, 2))};
          for (int q = 0; q < 3; ++q)
            for (int b = 0; b < kCount; ++b)
              sum[b][3 * p + q] =
                  _mm512_mask3_fmadd_ps(grad[b], strip[q], sum[b][3 * p + q], valid);
        }
      }
    }
    for (int b = 0; b < kCount; ++b)
      for (int t = 0; t < kTaps; ++t) _mm512_storeu_ps(channel_lanes[b] + t * 16, sum[b][t]);
  }
}

}  // namespace

void small_channels_relu_pool(const float* rows, int64_t planes, int64_t row_stride,
                              int64_t pooled_w, float* pooled, uint8_t* codes,
                              int64_t pooled_plane) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28,
                                         30);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  const __m512 zero = _mm512_setzero_ps();
  const __m512i no_gradient = _mm512_set1_epi32(kNoGradient);
  auto relu = [&](__m512 v) {
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, zero, _CMP_LT_OQ), v, zero);
  };
  for (int64_t done = 0; done < pooled_w; done += 16) {
    const int64_t n = pooled_w - done < 16 ? pooled_w - done : 16;
    const __mmask16 windows = strip_lanes(n);
    for (int64_t plane = 0; plane < planes; ++plane) {
      const float* t = rows + plane * 2 * row_stride + 2 * done;
      const float* b = t + row_stride;
      const __m512 t0 = _mm512_loadu_ps(t), t1 = _mm512_loadu_ps(t + 16);
      const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
      const __m512 c[4] = {_mm512_permutex2var_ps(t0, even, t1),
                           _mm512_permutex2var_ps(t0, odd, t1),
                           _mm512_permutex2var_ps(b0, even, b1),
                           _mm512_permutex2var_ps(b0, odd, b1)};
      float* pooled_out = pooled + plane * pooled_plane + done;
      uint8_t* codes_out = codes + plane * pooled_plane + done;
      const __m512 total = _mm512_add_ps(_mm512_add_ps(t0, t1), _mm512_add_ps(b0, b1));
      if (_mm512_cmp_ps_mask(total, total, _CMP_UNORD_Q) == 0) {
        // No NaN among the candidates (an infinite sum of opposite signs only sends the chunk
        // the long way). Then order_key(relu(c)) is max(bits(c), 0) as a signed integer:
        // positive values keep their bits, negatives and -0 all become 0, as their relu (+0
        // or -0) has key 0. The first maximum of four in scan order is the first maximum of
        // the first pair unless the second pair's is strictly greater.
        __m512i key[4];
        for (int k = 0; k < 4; ++k)
          key[k] = _mm512_max_epi32(_mm512_castps_si512(c[k]), _mm512_setzero_si512());
        const __mmask16 take_1 = _mm512_cmpgt_epi32_mask(key[1], key[0]);
        const __mmask16 take_3 = _mm512_cmpgt_epi32_mask(key[3], key[2]);
        const __m512i best_01 = _mm512_max_epi32(key[0], key[1]);
        const __m512i best_23 = _mm512_max_epi32(key[2], key[3]);
        const __mmask16 take_23 = _mm512_cmpgt_epi32_mask(best_23, best_01);
        const __m512 source =
            _mm512_mask_blend_ps(take_23, _mm512_mask_blend_ps(take_1, c[0], c[1]),
                                 _mm512_mask_blend_ps(take_3, c[2], c[3]));
        const __m512i where = _mm512_mask_blend_epi32(
            take_23, _mm512_maskz_mov_epi32(take_1, _mm512_set1_epi32(1)),
            _mm512_mask_blend_epi32(take_3, _mm512_set1_epi32(2), _mm512_set1_epi32(3)));
        _mm512_mask_storeu_ps(pooled_out, windows, relu(source));
        const __mmask16 passes = _mm512_cmp_ps_mask(source, zero, _CMP_GT_OQ);
        _mm_mask_storeu_epi8(codes_out, windows,
                             _mm512_cvtepi32_epi8(_mm512_mask_blend_epi32(passes, no_gradient,
                                                                          where)));
        continue;
      }
      __m512 value;
      __m512i code;
      relu_pool_lanes(c, &value, &code);
      _mm512_mask_storeu_ps(pooled_out, windows, value);
      _mm_mask_storeu_epi8(codes_out, windows, _mm512_cvtepi32_epi8(code));
    }
  }
}

void small_channels_bias_lanes(const float* values, int64_t count, double* lanes) {
  __m512d sums = _mm512_loadu_pd(lanes);
  int64_t i = 0;
  while (count - i >= 8) {
    const int64_t left = count - i;
    const int64_t block_end = i + (left - left % 8 < 128 ? left - left % 8 : 128);
    __m256 partial = _mm256_setzero_ps();
    for (; i < block_end; i += 8) partial = _mm256_add_ps(partial, _mm256_loadu_ps(values + i));
    sums = _mm512_add_pd(sums, _mm512_cvtps_pd(partial));
  }
  _mm512_storeu_pd(lanes, sums);
  for (int lane = 0; i < count; ++i, ++lane) lanes[lane] += values[i];
}

void small_channels_unpool_plane(const float* grad, const uint8_t* codes, int64_t out_h,
                                 int64_t out_w, float* out) {
  const __m512i interleave_lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6,
                                                  22, 7, 23);
  const __m512i interleave_hi = _mm512_add_epi32(interleave_lo, _mm512_set1_epi32(8));
  const __m512 zero = _mm512_setzero_ps();
  const int64_t pooled_h = out_h / 2, pooled_w = out_w / 2;
  for (int64_t done = 0; done < pooled_w; done += 16) {
    const int64_t n = pooled_w - done < 16 ? pooled_w - done : 16;
    const __mmask16 windows = strip_lanes(n);
    const __mmask16 first_half = strip_lanes(2 * n);
    const __mmask16 second_half = 2 * n > 16 ? strip_lanes(2 * n - 16) : 0;
    for (int64_t i = 0; i < pooled_h; ++i) {
      const __m512 g =
          _mm512_add_ps(zero, _mm512_maskz_loadu_ps(windows, grad + i * pooled_w + done));
      const __m512i code =
          _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(windows, codes + i * pooled_w + done));
      __m512 at[4];
      for (int k = 0; k < 4; ++k)
        at[k] = _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(code, _mm512_set1_epi32(k)), g);
      for (int r = 0; r < 2; ++r) {
        float* row = out + (2 * i + r) * out_w + 2 * done;
        _mm512_mask_storeu_ps(row, first_half,
                              _mm512_permutex2var_ps(at[2 * r], interleave_lo, at[2 * r + 1]));
        _mm512_mask_storeu_ps(row + 16, second_half,
                              _mm512_permutex2var_ps(at[2 * r], interleave_hi, at[2 * r + 1]));
      }
    }
  }
  // An odd width's last column and an odd height's last row are in no window.
  if (out_w % 2)
    for (int64_t i = 0; i < 2 * pooled_h; ++i) out[i * out_w + out_w - 1] = 0.f;
  if (out_h % 2)
    for (int64_t j = 0; j < out_w; ++j) out[(out_h - 1) * out_w + j] = 0.f;
}

void small_channels_forward_rows(const Conv2dShape& s, const SmallChannelsLayout& layout,
                                 const float* padded, const float* packed, const float* bias,
                                 int64_t row_begin, int64_t row_end, float* out,
                                 int64_t plane_stride, int64_t row_stride) {
  int64_t o = 0;
  for (; o + 16 <= s.out_channels; o += 16)
    forward_block<16>(s, layout, padded, packed, bias, o, row_begin, row_end, out, plane_stride,
                      row_stride);
  if (o + 8 <= s.out_channels) {
    forward_block<8>(s, layout, padded, packed, bias, o, row_begin, row_end, out, plane_stride,
                     row_stride);
    o += 8;
  }
  if (o + 4 <= s.out_channels) {
    forward_block<4>(s, layout, padded, packed, bias, o, row_begin, row_end, out, plane_stride,
                     row_stride);
    o += 4;
  }
  if (o + 2 <= s.out_channels) {
    forward_block<2>(s, layout, padded, packed, bias, o, row_begin, row_end, out, plane_stride,
                     row_stride);
    o += 2;
  }
  if (o < s.out_channels)
    forward_block<1>(s, layout, padded, packed, bias, o, row_begin, row_end, out, plane_stride,
                     row_stride);
}

void small_channels_weight_grad_image(const Conv2dShape& s, const SmallChannelsLayout& layout,
                                      const float* padded, const float* grad_planes,
                                      int64_t count, const float* readable_end, float* lanes) {
  static_assert(kSmallChannelsGradBlock == 2, "weight_grad_block is instantiated for 1 and 2");
  if (count == 2)
    weight_grad_block<2>(s, layout, padded, grad_planes, readable_end, lanes);
  else
    weight_grad_block<1>(s, layout, padded, grad_planes, readable_end, lanes);
}

}  // namespace cunn::kernels::avx512
