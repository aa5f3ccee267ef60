// conv2d's Winograd F(2x2, 3x3) path (the math in conv2d_winograd.cpp): 3x3 kernels at
// stride 1 with enough channels, on AVX-512 only (tuning.cpp says why).
#pragma once

#include <cstdint>

#include "kernels/conv2d.h"

namespace cunn::kernels::conv2d_detail {

struct Winograd {
  int64_t batch, in_channels, out_channels;
  int64_t height, width, pad_h, pad_w;  // input and its padding
  int64_t out_h, out_w, tiles_h, tiles_w;
  int64_t block;  // tiles per block of the weight gradient
};

// A run of `count` consecutive tiles of one tile row: image n, tile row a, first tile
// column b; `lane` is the first tile's place in its group of 16 tiles.
struct TileRun {
  int64_t n, a, b, count, lane;
};

// Tiles are handled in groups of 16 consecutive ones (one vector lane each): at most 16
// runs, written to runs[]; returns their number.
constexpr int64_t kGroupTiles = 16;
int64_t group_runs(const Winograd& g, int64_t first, int64_t count, TileRun* runs);

bool winograd_applies(const Conv2dShape& s);
// The input gradient as the transposed convolution, which needs padding 2 - p >= 0.
bool winograd_backward_input_applies(const Conv2dShape& s);

Winograd make_winograd(int64_t batch, int64_t in_channels, int64_t out_channels, int64_t height,
                       int64_t width, int64_t pad_h, int64_t pad_w);
// out (N, O, OH, OW) = the stride-1 3x3 convolution of x (N, C, H, W) with the kernels of
// `weight` (flipped, with channels swapped, when `transposed`), plus bias (or null). With
// `pooled` (and `codes`) instead of `out`, and OH, OW even, each 2x2 tile is relu'd and
// max-pooled as relu_pool_windows (conv2d_relu_pool.h) does, and nothing else is written.
void winograd_conv(const Winograd& g, const float* x, const float* weight, bool transposed,
                   const float* bias, float* out, float* pooled = nullptr,
                   uint8_t* codes = nullptr);
// grad_weight (O, C, 3, 3) of the stride-1 3x3 convolution of x whose output gradient is
// grad_output.
void winograd_weight_grad(const Winograd& g, const float* x, const float* grad_output,
                          float* grad_weight);

}  // namespace cunn::kernels::conv2d_detail

// The AVX-512 transforms of one group of tiles (conv2d_avx512.cpp says what they compute).
// Each writes or reads 16 floats per channel and position xi, lane j being the group's
// tile j (lanes of no run are 0 on output, ignored on input).
namespace cunn::kernels::avx512 {
// V of x (N, C, H, W) for channels [0, C): at v + c * v_channel_stride + xi * v_xi_stride.
void winograd_input_group(const conv2d_detail::Winograd& g, const float* x,
                          const conv2d_detail::TileRun* runs, int64_t run_count, float* v,
                          int64_t v_channel_stride, int64_t v_xi_stride);
// Output channels [first_o, first_o + channels) of out (N, O, OH, OW) from M[xi] of channel
// first_o + i at m + i * m_channel_stride + xi * m_xi_stride, plus bias (or null); or, with
// `pooled` non-null (OH, OW even), pooled (N, O, OH / 2, OW / 2) and codes.
void winograd_output_group(const conv2d_detail::Winograd& g, const float* m,
                           int64_t m_xi_stride, int64_t m_channel_stride,
                           const conv2d_detail::TileRun* runs, int64_t run_count,
                           int64_t first_o, int64_t channels, const float* bias, float* out,
                           float* pooled, uint8_t* codes);

// The weight gradient's transforms, lanes along the channels
// (conv2d_winograd_weight_avx512.cpp). transpose_planes: pixels[p * stride + c] =
// first_plane[c * plane_stride + p] for p < count and c < planes, and 0 for planes <= c <
// stride (a multiple of 16).
void transpose_planes(const float* first_plane, int64_t planes, int64_t plane_stride,
                      int64_t count, float* pixels, int64_t stride);
// From `pixels` so laid out, holding rows [row_lo, row_lo + rows) of one image's planes
// (`width` pixels a row): for tile j of the run and every channel c < stride, V (of the
// input, padded by pad_h, pad_w) or GT (of the output gradient, 0 past its edges) at
// out + j * tile_stride + xi * xi_stride + c.
void winograd_input_tiles(const float* pixels, int64_t stride, int64_t row_lo, int64_t rows,
                          int64_t width, int64_t pad_h, int64_t pad_w,
                          const conv2d_detail::TileRun& run, float* out, int64_t tile_stride,
                          int64_t xi_stride);
void winograd_gradient_tiles(const float* pixels, int64_t stride, int64_t row_lo, int64_t rows,
                             int64_t width, const conv2d_detail::TileRun& run, float* out,
                             int64_t tile_stride, int64_t xi_stride);
}  // namespace cunn::kernels::avx512
