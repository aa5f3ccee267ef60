// 2-D convolution (cross-correlation, NCHW, zero padding) on the device, forward and the two
// backward kernels; the twin is cunn/_backends/numpy_ref/conv2d.py. Plain C++ so the binding
// needs no CUDA headers. All pointers are device pointers; launches use the default stream.
#pragma once

#include <cstdint>

namespace cunn::cuda {

struct Conv2dShape {
  std::int64_t batch, channels, height, width;  // x (N, C, H, W)
  std::int64_t out_channels, kernel_h, kernel_w;  // weight (O, C, kh, kw)
  std::int64_t stride_h, stride_w, pad_h, pad_w;
  std::int64_t out_h, out_w;  // (H + 2 pad_h - kh) / stride_h + 1, likewise
};

// out (N, O, OH, OW) = x * weight (+ bias (O,) when bias is not null).
void conv2d_forward(const Conv2dShape& s, float* out, const float* x, const float* weight,
                    const float* bias);
// grad_input (N, C, H, W) from grad_output (N, O, OH, OW) and weight.
void conv2d_backward_input(const Conv2dShape& s, float* grad_input, const float* grad_output,
                           const float* weight);
// grad_weight (O, C, kh, kw) from grad_output and x.
void conv2d_backward_weight(const Conv2dShape& s, float* grad_weight, const float* grad_output,
                            const float* x);

}  // namespace cunn::cuda
