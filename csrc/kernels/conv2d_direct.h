// Direct 2-D convolution over the kernel taps that read the input (conv2d_direct.cpp):
// what conv2d.cpp runs instead of im2col when most of im2col's work would be padding.
// Same math, layout and contract as conv2d.h.
#pragma once

#include "kernels/conv2d.h"

namespace cunn::kernels {

// True when the direct loops do far less work than im2col for this geometry (costs
// O(kernel_h + kernel_w) to decide; false when there are no input channels).
bool conv2d_direct_pays(const Conv2dShape& shape);

void conv2d_direct_forward(const Conv2dShape& shape, const float* x, const float* weight,
                           const float* bias, float* out);
void conv2d_direct_backward_input(const Conv2dShape& shape, const float* grad_output,
                                  const float* weight, float* grad_input);
void conv2d_direct_backward_weight(const Conv2dShape& shape, const float* grad_output,
                                   const float* x, float* grad_weight);

}  // namespace cunn::kernels
