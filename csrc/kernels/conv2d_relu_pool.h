// Conv2d -> ReLU -> MaxPool2d(2) (2x2 windows, stride 2, no padding) as one kernel pair, for
// nn.Sequential's runs of those three modules (cunn/nn/modules/_fusion.py). NCHW float32,
// C-contiguous; the convolution's shape and rules are conv2d.h's, with out_h, out_w >= 2.
//   pooled[n, o, i, j] = the max_pool2d (pool.h) of relu(conv) (activation.h) over the
//                        window rows 2i, 2i + 1 and columns 2j, 2j + 1 of output plane (n, o)
//   codes[n, o, i, j]  = the window position (0 top left, 1 top right, 2 bottom left,
//                        3 bottom right) of that maximum when the convolution's value there is
//                        > 0, else kNoGradient: where relu_backward lets a gradient through
// The backward rebuilds the convolution's output gradient from grad_pooled and the codes
// exactly as max_pool2d_backward and relu_backward would (0 + g at the code's position, +0
// elsewhere) and hands it to the conv2d and bias_grad kernels, so every value and gradient is
// bit for bit the one the three modules give one by one (tests/kernels/test_conv2d_relu_pool.py).
// The forward never writes the convolution's output to memory: the Winograd path pools in its
// output transform, the few-channel path (conv2d_small_channels.h) pools each pair of rows as
// it computes them, and the other paths convolve a few images at a time into a per-thread
// buffer that stays in cache. Without the input gradient, the few-channel path's backward
// rebuilds the gradient one image and two channels at a time instead of all at once.
// NumPy twin: cunn/_backends/numpy_ref/conv2d.py.
#pragma once

#include <cstdint>

#include "kernels/conv2d.h"

namespace cunn::kernels {

constexpr uint8_t kNoGradient = 4;

void conv2d_relu_pool_forward(const Conv2dShape& shape, const float* x, const float* weight,
                              const float* bias, float* pooled, uint8_t* codes);

// Each output may be null (that gradient is not computed); grad_bias is (out_channels,).
void conv2d_relu_pool_backward(const Conv2dShape& shape, const float* grad_pooled,
                               const uint8_t* codes, const float* x, const float* weight,
                               float* grad_x, float* grad_weight, float* grad_bias);

// One row of windows: the convolution output rows `top` and `bottom` (2 * count values
// each, from the first window's left column) pooled into pooled[0:count], codes[0:count].
// The portable version and the ones for AVX2 (conv2d_avx2.cpp) and AVX-512
// (conv2d_avx512.cpp); relu_pool_windows picks one for active_isa().
void relu_pool_windows(const float* top, const float* bottom, int64_t count, float* pooled,
                       uint8_t* codes);
namespace avx2 {
void relu_pool_windows(const float* top, const float* bottom, int64_t count, float* pooled,
                       uint8_t* codes);
void unpool_windows(const float* grad, const uint8_t* codes, int64_t count, float* top,
                    float* bottom);
}  // namespace avx2
namespace avx512 {
void relu_pool_windows(const float* top, const float* bottom, int64_t count, float* pooled,
                       uint8_t* codes);
// The backward's rebuilding of one pair of gradient rows (conv2d_relu_pool.cpp holds the
// portable version; AVX2's is above).
void unpool_windows(const float* grad, const uint8_t* codes, int64_t count, float* top,
                    float* bottom);
}  // namespace avx512

}  // namespace cunn::kernels
