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
  int64_t block;  // tiles per block (the GEMMs' N)
};

bool winograd_applies(const Conv2dShape& s);
// The input gradient as the transposed convolution, which needs padding 2 - p >= 0.
bool winograd_backward_input_applies(const Conv2dShape& s);

Winograd make_winograd(int64_t batch, int64_t in_channels, int64_t out_channels, int64_t height,
                       int64_t width, int64_t pad_h, int64_t pad_w);
// out (N, O, OH, OW) = the stride-1 3x3 convolution of x (N, C, H, W) with the kernels of
// `weight` (flipped, with channels swapped, when `transposed`), plus bias (or null). With
// `pooled` (and `codes`) instead of `out`, and OH, OW even, each 2x2 tile goes through
// relu_pool_windows (conv2d_relu_pool.h) and nothing else is written.
void winograd_conv(const Winograd& g, const float* x, const float* weight, bool transposed,
                   const float* bias, float* out, float* pooled = nullptr,
                   uint8_t* codes = nullptr);
// grad_weight (O, C, 3, 3) of the stride-1 3x3 convolution of x whose output gradient is
// grad_output.
void winograd_weight_grad(const Winograd& g, const float* x, const float* grad_output,
                          float* grad_weight);

}  // namespace cunn::kernels::conv2d_detail
