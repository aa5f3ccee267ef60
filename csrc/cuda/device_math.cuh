// Scalar device functions shared by several kernel families (CUDA only).
#pragma once

#include <cuda_runtime.h>

namespace cunn::cuda {

// NumPy's maximum and minimum: a NaN in either operand is the result (fmaxf would drop it).
__device__ inline float nan_maximum(float a, float b) { return (a != a || a > b) ? a : b; }
__device__ inline float nan_minimum(float a, float b) { return (a != a || a < b) ? a : b; }

// The twin's two-branch sigmoid: e^x / (1 + e^x) for x < 0, so expf never overflows.
__device__ inline float sigmoid(float x) {
  const float exp_neg_abs = expf(-fabsf(x));
  return x >= 0.0f ? 1.0f / (1.0f + exp_neg_abs) : exp_neg_abs / (1.0f + exp_neg_abs);
}

}  // namespace cunn::cuda
