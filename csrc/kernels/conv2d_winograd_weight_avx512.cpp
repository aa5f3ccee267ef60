// AVX-512 transforms of conv2d's Winograd weight gradient (the method in
// conv2d_winograd.cpp), with vector lanes along the channels: the product that sums over
// the tiles then runs on the GEMM micro-kernel with both operands read where they lie,
// (tile, channel) matrices whose rows are tiles, and nothing is reduced across lanes.
// The planes are first copied channel-minor ("pixel-major": pixel p's channels at
// pixels[p * stride + c]) by 16 x 16 transposes; the transforms then read each 4x4 patch
// (2x2 gradient block) as 16 (4) whole vectors of 16 channels. Compiled with AVX-512
// flags only here; internal linkage only.
#include <immintrin.h>

#include <cstdint>

#include "kernels/conv2d_winograd.h"

namespace cunn::kernels::avx512 {
namespace {

// rows[0..15] become columns: row t of the result holds element t of every input.
void transpose16x16(__m512 rows[16]) {
  __m512 pairs[16];  // 32-bit pairs of rows 2i, 2i + 1
  for (int i = 0; i < 8; ++i) {
    pairs[2 * i] = _mm512_unpacklo_ps(rows[2 * i], rows[2 * i + 1]);
    pairs[2 * i + 1] = _mm512_unpackhi_ps(rows[2 * i], rows[2 * i + 1]);
  }
  // quads[4i + j], 128-bit lane k: rows 4i .. 4i + 3 of column 4k + j.
  __m512 quads[16];
  for (int i = 0; i < 4; ++i) {
    const __m512d lo0 = _mm512_castps_pd(pairs[4 * i]), hi0 = _mm512_castps_pd(pairs[4 * i + 1]);
    const __m512d lo1 = _mm512_castps_pd(pairs[4 * i + 2]);
    const __m512d hi1 = _mm512_castps_pd(pairs[4 * i + 3]);
    quads[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(lo0, lo1));
    quads[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(lo0, lo1));
    quads[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(hi0, hi1));
    quads[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(hi0, hi1));
  }
  // Column 4k + j: lane k of quads[j], quads[4 + j], quads[8 + j], quads[12 + j].
  for (int j = 0; j < 4; ++j) {
    const __m512 s0 = _mm512_shuffle_f32x4(quads[j], quads[4 + j], 0x44);
    const __m512 s1 = _mm512_shuffle_f32x4(quads[j], quads[4 + j], 0xEE);
    const __m512 s2 = _mm512_shuffle_f32x4(quads[8 + j], quads[12 + j], 0x44);
    const __m512 s3 = _mm512_shuffle_f32x4(quads[8 + j], quads[12 + j], 0xEE);
    rows[j] = _mm512_shuffle_f32x4(s0, s2, 0x88);
    rows[4 + j] = _mm512_shuffle_f32x4(s0, s2, 0xDD);
    rows[8 + j] = _mm512_shuffle_f32x4(s1, s3, 0x88);
    rows[12 + j] = _mm512_shuffle_f32x4(s1, s3, 0xDD);
  }
}

__mmask16 first_lanes(int64_t count) {
  return count >= 16 ? __mmask16(0xFFFF) : count <= 0 ? __mmask16(0)
                                                      : __mmask16((1u << count) - 1u);
}

// Where the staged pixel (h, w) lies (rows from row_lo, `rows` of them), in bytes from
// the first pixel, and whether it does: one outside the staged rows or the width reads
// as 0 and is never touched (the address is only formed, as an integer).
struct PixelAt {
  uintptr_t offset;
  __mmask16 valid;
};

PixelAt pixel_at(int64_t stride, int64_t row_lo, int64_t rows, int64_t width, int64_t h,
                 int64_t w) {
  const bool inside = h >= row_lo && h < row_lo + rows && w >= 0 && w < width;
  return PixelAt{static_cast<uintptr_t>(((h - row_lo) * width + w) * stride * 4),
                 inside ? __mmask16(0xFFFF) : __mmask16(0)};
}

__m512 load(const float* pixels, const PixelAt& at) {
  return _mm512_maskz_loadu_ps(
      at.valid, reinterpret_cast<const float*>(reinterpret_cast<uintptr_t>(pixels) + at.offset));
}

}  // namespace

void transpose_planes(const float* first_plane, int64_t planes, int64_t plane_stride,
                      int64_t count, float* pixels, int64_t stride) {
  for (int64_t first = 0; first < count; first += 16) {
    const __mmask16 valid = first_lanes(count - first);
    for (int64_t c = 0; c < stride; c += 16) {
      __m512 rows[16];
      for (int k = 0; k < 16; ++k)
        rows[k] = c + k < planes
                      ? _mm512_maskz_loadu_ps(valid, first_plane + (c + k) * plane_stride + first)
                      : _mm512_setzero_ps();
      transpose16x16(rows);
      for (int64_t k = 0; k < 16 && first + k < count; ++k)
        _mm512_storeu_ps(pixels + (first + k) * stride + c, rows[k]);
    }
  }
}

void winograd_input_tiles(const float* pixels, int64_t stride, int64_t row_lo, int64_t rows,
                          int64_t width, int64_t pad_h, int64_t pad_w,
                          const conv2d_detail::TileRun& run, float* out, int64_t tile_stride,
                          int64_t xi_stride) {
  for (int64_t j = 0; j < run.count; ++j) {
    const int64_t h = 2 * run.a - pad_h, w = 2 * (run.b + j) - pad_w;
    float* tile = out + j * tile_stride;
    PixelAt patch[4][4];  // the same for every channel: worked out once
    for (int r = 0; r < 4; ++r)
      for (int s = 0; s < 4; ++s) patch[r][s] = pixel_at(stride, row_lo, rows, width, h + r, w + s);
    for (int64_t c = 0; c < stride; c += 16) {
      __m512 d[4][4];
      for (int r = 0; r < 4; ++r)
        for (int s = 0; s < 4; ++s) d[r][s] = load(pixels + c, patch[r][s]);
      for (int s = 0; s < 4; ++s) {  // B^T d, column by column
        const __m512 t0 = _mm512_sub_ps(d[0][s], d[2][s]), t1 = _mm512_add_ps(d[1][s], d[2][s]);
        const __m512 t2 = _mm512_sub_ps(d[2][s], d[1][s]), t3 = _mm512_sub_ps(d[1][s], d[3][s]);
        d[0][s] = t0, d[1][s] = t1, d[2][s] = t2, d[3][s] = t3;
      }
      for (int k = 0; k < 4; ++k) {  // (B^T d) B, row by row
        const __m512* t = d[k];
        _mm512_storeu_ps(tile + (4 * k) * xi_stride + c, _mm512_sub_ps(t[0], t[2]));
        _mm512_storeu_ps(tile + (4 * k + 1) * xi_stride + c, _mm512_add_ps(t[1], t[2]));
        _mm512_storeu_ps(tile + (4 * k + 2) * xi_stride + c, _mm512_sub_ps(t[2], t[1]));
        _mm512_storeu_ps(tile + (4 * k + 3) * xi_stride + c, _mm512_sub_ps(t[1], t[3]));
      }
    }
  }
}

void winograd_gradient_tiles(const float* pixels, int64_t stride, int64_t row_lo, int64_t rows,
                             int64_t width, const conv2d_detail::TileRun& run, float* out,
                             int64_t tile_stride, int64_t xi_stride) {
  const __m512 zero = _mm512_setzero_ps();
  for (int64_t j = 0; j < run.count; ++j) {
    const int64_t h = 2 * run.a, w = 2 * (run.b + j);
    float* tile = out + j * tile_stride;
    // Positions past the output's edge (a clipped tile) count as zero gradient.
    PixelAt block[2][2];
    for (int r = 0; r < 2; ++r)
      for (int s = 0; s < 2; ++s) block[r][s] = pixel_at(stride, row_lo, rows, width, h + r, w + s);
    for (int64_t c = 0; c < stride; c += 16) {
      __m512 g[2][2];
      for (int r = 0; r < 2; ++r)
        for (int s = 0; s < 2; ++s) g[r][s] = load(pixels + c, block[r][s]);
      // A g: rows g0, g0 + g1, g0 - g1, -g1 (for each of the block's two columns), then
      // (A g) A^T: the same on each row's two columns.
      __m512 t[4][2];
      for (int s = 0; s < 2; ++s) {
        t[0][s] = g[0][s];
        t[1][s] = _mm512_add_ps(g[0][s], g[1][s]);
        t[2][s] = _mm512_sub_ps(g[0][s], g[1][s]);
        t[3][s] = _mm512_sub_ps(zero, g[1][s]);
      }
      for (int k = 0; k < 4; ++k) {
        _mm512_storeu_ps(tile + (4 * k) * xi_stride + c, t[k][0]);
        _mm512_storeu_ps(tile + (4 * k + 1) * xi_stride + c, _mm512_add_ps(t[k][0], t[k][1]));
        _mm512_storeu_ps(tile + (4 * k + 2) * xi_stride + c, _mm512_sub_ps(t[k][0], t[k][1]));
        _mm512_storeu_ps(tile + (4 * k + 3) * xi_stride + c, _mm512_sub_ps(zero, t[k][1]));
      }
    }
  }
}

}  // namespace cunn::kernels::avx512
