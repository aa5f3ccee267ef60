// Dropout with a mask drawn in cunn/random.py (so every backend applies the same one):
//   out[i] = (x[i] * float(mask[i])) * scale, rounded to float32 after each product
// (the mask is 0/1, bool or uint8). The backward is the same map applied to
// grad_output. Contiguous arrays of n elements. Matches
// cunn/_backends/numpy_ref/dropout.py bit for bit (x * mask.astype(float32) * scale).
#pragma once

#include <cstdint>

namespace cunn::kernels {

void dropout_apply(const float* x, const uint8_t* mask, float scale, float* out, int64_t n);

// Channel dropout (Dropout2d): x is `planes` = N * C planes of `inner` elements and mask has
// one entry per plane: out[p, l] = (x[p, l] * float(mask[p])) * scale.
void dropout_channels_apply(const float* x, const uint8_t* mask, float scale, float* out,
                            int64_t planes, int64_t inner);

}  // namespace cunn::kernels
