// 2-D convolution (cross-correlation, zero padding), NCHW, float32, C-contiguous:
//   out[n, o, i, j] = bias[o] + sum_{c, p, q} w[o, c, p, q] * xpad[n, c, i*sh + p, j*sw + q]
//   grad_x[n, c, h, w] = sum over (o, p, q, i, j) with i*sh + p - ph = h and
//                        j*sw + q - pw = w of w[o, c, p, q] * grad_out[n, o, i, j]
//   grad_w[o, c, p, q] = sum_{n, i, j} grad_out[n, o, i, j] * xpad[n, c, i*sh + p, j*sw + q]
// Shapes: x (N, C, H, W), w (O, C, kh, kw), bias (O,) or null, out (N, O, OH, OW) with
// OH = (H + 2 ph - kh) / sh + 1. Must match cunn/_backends/numpy_ref/conv2d.py up to float
// rounding. The binding has checked every size (OH, OW >= 1, kh, kw, sh, sw >= 1).
// With AVX-512, 3x3 kernels at stride 1 use Winograd F(2x2, 3x3) (see conv2d_winograd.cpp).
#pragma once

#include <cstdint>

namespace cunn::kernels {

struct Conv2dShape {
  int64_t batch, channels, height, width;
  int64_t out_channels, kernel_h, kernel_w;
  int64_t stride_h, stride_w, pad_h, pad_w;
  int64_t out_h, out_w;
};

void conv2d_forward(const Conv2dShape& shape, const float* x, const float* weight,
                    const float* bias, float* out);
void conv2d_backward_input(const Conv2dShape& shape, const float* grad_output,
                           const float* weight, float* grad_input);
void conv2d_backward_weight(const Conv2dShape& shape, const float* grad_output, const float* x,
                            float* grad_weight);

}  // namespace cunn::kernels
