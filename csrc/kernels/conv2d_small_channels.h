// 3x3 convolutions at stride 1 with few input channels (MNIST's first layer: C = 1), computed
// directly, vectorised along the output row (math, layout and contract as conv2d.h). im2col
// would make a GEMM with K = C * 9, too short to keep a micro-kernel's accumulators busy.
//
// Each image is first copied into a zero-padded buffer (layout below) whose rows are long
// enough that every 16-wide strip of output columns reads its 3x3 neighbourhood with plain
// unaligned loads: no bounds to test in the inner loops.
//   forward: out[o, i, j0:j0+16] = sum over (c, p, q) in that order, by fused multiply-adds
//            from 0, of w[o, c, p, q] * padded[c, i + p, j0 + q : j0 + q + 16], then + bias[o].
//            16 output channels at once share each loaded strip: their 16 accumulators, each
//            a chain of 9 C dependent multiply-adds, keep both FMA units busy where 8 left
//            them idle a third of the time (1316 -> 1152 cycles per row pair of MNIST's first
//            layer, 32 channels).
//   weight gradient: 16 lanes per (o, c, p, q), lane l summing grad_out[n, o, i, j0 + l] *
//            padded[n, c, i + p, j0 + l + q] over (n, i, j0) in that order (lanes past the
//            row's end are left alone), then the 16 lanes added in lane order. Output channels
//            go in blocks of kSmallChannelsGradBlock, each block summed by one thread.
// Every output is summed in an order fixed by the shape, so the results do not depend on the
// thread count, and the fused conv2d_relu_pool paths, which call the same per-image pieces,
// give the bits of conv2d_forward / conv2d_backward_weight.
// The inner loops exist for AVX-512 only (conv2d_small_channels_avx512.cpp); the rule that
// picks this path is conv2d_small_channels_applies (threshold in tuning.cpp).
#pragma once

#include <cstdint>

#include "kernels/conv2d.h"

namespace cunn::kernels {

// Output channels one weight-gradient unit sums: 2 channels x 9 taps = 18 accumulators, plus
// the loaded gradient and input strips, fill the 32 vector registers without spilling.
constexpr int64_t kSmallChannelsGradBlock = 2;
constexpr int64_t kSmallChannelsLanes = 16;

// The padded copy of one image: channel c, padded row r (input row r - pad_h), padded column
// t (input column t - pad_w) at c * channel_stride + r * row_stride + t; zero outside the
// input. row_stride = (out_w rounded up to 16) + 16: each strip's two aligned vectors of a
// row, which its shifted copies are cut from, stay inside the row. Copies start on 64-byte
// boundaries (small_channels_aligned): a 64-byte load that straddles two cache lines costs
// two, and the weight gradient, which loads 9 strips per 18 multiply-adds, cuts them from
// two aligned vectors a row instead (1240 -> 1110 cycles per image and channel block of
// MNIST's first layer).
struct SmallChannelsLayout {
  int64_t rows, row_stride, channel_stride, image_stride;
};

// Buffers of padded copies are allocated kSmallChannelsAlignment floats longer and used from
// small_channels_aligned(buffer).
constexpr int64_t kSmallChannelsAlignment = 16;
inline float* small_channels_aligned(float* buffer) {
  const auto address = reinterpret_cast<uintptr_t>(buffer);
  return reinterpret_cast<float*>((address + 63) & ~uintptr_t{63});
}

// True when this path runs the shape: the active ISA has the loops, a 3x3 kernel at stride
// 1, at most tuning().small_channels_max_channels input channels, and not a geometry that
// conv2d_direct_pays takes.
bool conv2d_small_channels_applies(const Conv2dShape& shape);

SmallChannelsLayout small_channels_layout(const Conv2dShape& shape);
// padded (image_stride floats) = the padded copy of image x_n.
void small_channels_pad(const Conv2dShape& shape, const SmallChannelsLayout& layout,
                        const float* x_n, float* padded);

// The weights as the forward reads them: output channels in groups of 16 (the last one
// zero-filled), w[o, c, p, q] at ((o / 16 * C + c) * 9 + 3 p + q) * 16 + o % 16, so that
// every multiply-add of a block finds its weight at a constant offset from one pointer.
int64_t small_channels_packed_size(const Conv2dShape& shape);
void small_channels_pack_weights(const Conv2dShape& shape, const float* weight, float* packed);

// Output rows [row_begin, row_end) of one image, all output channels, from its padded copy:
// row i of channel o at out[o * plane_stride + (i - row_begin) * row_stride + j]. With
// row_stride >= out_w rounded up to 16 the strips are stored whole (the columns past out_w
// get values no one reads): AVX-512 loads and stores under a mask that straddle cache lines
// cost several times a plain one on the Intel machine we measure on.
void small_channels_forward_rows(const Conv2dShape& shape, const SmallChannelsLayout& layout,
                                 const float* padded, const float* packed, const float* bias,
                                 int64_t row_begin, int64_t row_end, float* out,
                                 int64_t plane_stride, int64_t row_stride);

// One image's share of the weight gradient of `count` <= kSmallChannelsGradBlock output
// channels from their gradient planes (out_h * out_w floats each, one after the other):
// lanes[((b * C + c) * 9 + tap) * 16 + l] += ... (the sums described above). Memory up to
// readable_end may be read: strips of the gradient are loaded whole where they end before
// it (the lanes past a row's end are left out of the sums either way), under a mask past it
// (1150 -> 900 cycles per image and channel block with MNIST's planes).
void small_channels_weight_grad_image(const Conv2dShape& shape,
                                      const SmallChannelsLayout& layout, const float* padded,
                                      const float* grad_planes, int64_t count,
                                      const float* readable_end, float* lanes);
// grad_weight rows o_begin .. o_begin + count - 1 from their lanes.
void small_channels_weight_grad_finish(const Conv2dShape& shape, int64_t o_begin, int64_t count,
                                       const float* lanes, float* grad_weight);

void conv2d_small_channels_forward(const Conv2dShape& shape, const float* x, const float* weight,
                                   const float* bias, float* out);
void conv2d_small_channels_backward_weight(const Conv2dShape& shape, const float* grad_output,
                                           const float* x, float* grad_weight);

namespace avx512 {
// relu_pool_windows (conv2d_relu_pool.h) of `planes` pairs of rows at once, the same rule
// and bits as avx512::relu_pool_windows: the pair of plane o at rows + o * 2 * row_stride
// (the bottom row row_stride after the top), its windows written to pooled and
// codes + o * pooled_plane. One call per row pair of all output channels keeps the
// constants and masks in registers (per-plane calls cost ~30 cycles for 14 windows). Rows
// are read in whole 16-float vectors: up to 2 * pooled_w rounded up to 32 floats from each
// row's start must be readable (their values past the windows are not used).
void small_channels_relu_pool(const float* rows, int64_t planes, int64_t row_stride,
                              int64_t pooled_w, float* pooled, uint8_t* codes,
                              int64_t pooled_plane);
// bias_grad's sum (linear.cpp, add_into_lanes) of one plane of `count` floats into its 8
// double lanes, the same additions in the same order, 8 lanes to a vector: kFloatBlock (16)
// rows of 8 summed in float from +0, each such partial added to the lanes in double, the last
// count % 8 values added to lanes 0, 1, ... one by one. The total is the lanes added in lane
// order, rounded to float. bias_grad's own loop, compiled without vector flags, cost about
// 350 cycles a 784-float plane, a fifth of the fused backward.
void small_channels_bias_lanes(const float* values, int64_t count, double* lanes);
// unpool_plane (conv2d_relu_pool.cpp) of one plane, the same bits as its avx512
// unpool_windows row by row, with the constants and masks kept across the rows.
void small_channels_unpool_plane(const float* grad, const uint8_t* codes, int64_t out_h,
                                 int64_t out_w, float* out);
void small_channels_forward_rows(const Conv2dShape& shape, const SmallChannelsLayout& layout,
                                 const float* padded, const float* packed, const float* bias,
                                 int64_t row_begin, int64_t row_end, float* out,
                                 int64_t plane_stride, int64_t row_stride);
void small_channels_weight_grad_image(const Conv2dShape& shape,
                                      const SmallChannelsLayout& layout, const float* padded,
                                      const float* grad_planes, int64_t count,
                                      const float* readable_end, float* lanes);
}  // namespace avx512

}  // namespace cunn::kernels
